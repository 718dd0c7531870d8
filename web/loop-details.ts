/**
 * Beside the loop page's terminal: the loop's stories with pass marks, its iterations with outcome and cost
 * (from GET /api/loops/<id>, read again every few seconds while the page is open), the last iteration's
 * transcript when the agent ran with a stream format (asked for when the iterations change, and now and then),
 * and the controls a server that is not read-only offers: stop, pause / resume, add iterations, inject text
 * for the next prompt.
 */

interface Story {
  id: string;
  title: string;
  passes: boolean;
}

interface Iteration {
  number: number;
  outcome: string;
  story_before: string | null;
  usage?: { cost_usd: number | null; input_tokens: number; output_tokens: number } | null;
}

type Entry =
  | { kind: 'system' | 'reasoning' | 'error'; text: string }
  | { kind: 'message'; role: string; text: string }
  | { kind: 'tool_call'; name: string; input: string }
  | { kind: 'tool_result'; output: string; is_error: boolean }
  | { kind: 'result'; text: string; is_error: boolean }
  | { kind: 'rate_limit'; status: string; resets_at: string | null };

interface Transcript {
  iteration: number;
  format: string;
  entries: Entry[];
  omitted: number;
}

interface Detail {
  row: { task: string; status: string; paused: boolean; link: { state: string } };
  detail: {
    stories: Story[] | null;
    currentStory: string | null;
    iterations: Iteration[] | null;
    transcript?: Transcript | null;
    problems: string[];
  };
}

const REFRESH_MS = 3000;
/** The transcript is read again at least every this many refreshes, and whenever the iterations change. */
const TRANSCRIPT_EVERY = 4;
/** Long texts in the transcript are cut to this many characters. */
const ENTRY_CHARS = 2000;

export interface LoopDetails {
  close(): void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

function clip(text: string): string {
  return text.length > ENTRY_CHARS ? `${text.slice(0, ENTRY_CHARS)}…` : text;
}

/** One transcript entry as a line: who or what, then its text (set as text, never parsed as HTML). */
function entryItem(entry: Entry): HTMLLIElement {
  let label: string;
  let text: string;
  switch (entry.kind) {
    case 'message':
      label = entry.role;
      text = entry.text;
      break;
    case 'tool_call':
      label = `▸ ${entry.name}`;
      text = entry.input;
      break;
    case 'tool_result':
      label = entry.is_error ? 'tool error' : 'tool output';
      text = entry.output;
      break;
    case 'result':
      label = entry.is_error ? 'result (error)' : 'result';
      text = entry.text;
      break;
    case 'rate_limit':
      label = 'rate limit';
      text = `${entry.status}${entry.resets_at ? `, resets ${entry.resets_at}` : ''}`;
      break;
    default:
      label = entry.kind;
      text = entry.text;
  }
  const li = el('li', undefined, `entry ${entry.kind}`);
  li.append(el('span', label, 'who'), el('span', clip(text), 'what'));
  return li;
}

function cost(iterations: Iteration[]): string {
  const costs = iterations.flatMap((it) => (it.usage?.cost_usd == null ? [] : [it.usage.cost_usd]));
  return costs.length === 0 ? '' : `total $${costs.reduce((a, b) => a + b, 0).toFixed(4)}`;
}

export function openLoopDetails(root: HTMLElement, id: number, readOnly: () => boolean): LoopDetails {
  const controls = el('div', undefined, 'loop-controls');
  const notice = el('p', '', 'notice');
  notice.id = 'loop-notice';
  notice.hidden = true;
  const stories = el('ul', undefined, 'stories');
  stories.id = 'stories';
  const iterations = el('table', undefined, 'iterations');
  iterations.id = 'iterations';
  const total = el('p', '', 'cost');
  const transcriptHead = el('h2', 'Transcript');
  transcriptHead.hidden = true;
  const transcript = el('ol', undefined, 'transcript');
  transcript.id = 'transcript';
  root.replaceChildren(
    controls,
    notice,
    el('h2', 'Stories'),
    stories,
    el('h2', 'Iterations'),
    iterations,
    total,
    transcriptHead,
    transcript,
  );

  const say = (text: string | null): void => {
    notice.hidden = text === null;
    notice.textContent = text ?? '';
  };
  const post = async (action: string, body: object = {}): Promise<void> => {
    try {
      const res = await fetch(`/api/loops/${id}/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      say(res.ok ? `${action}: done` : `${action}: ${answer?.error?.message ?? res.statusText}`);
      await refresh();
    } catch (err) {
      say(`${action}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const drawControls = (data: Detail): void => {
    controls.replaceChildren();
    if (readOnly() || data.row.link.state !== 'live') return;
    const button = (label: string, action: () => void): HTMLButtonElement => {
      const b = el('button', label);
      b.type = 'button';
      b.dataset.action = label;
      b.addEventListener('click', action);
      return b;
    };
    const count = el('input');
    count.type = 'number';
    count.min = '1';
    count.max = '10000';
    count.value = '5';
    count.id = 'add-count';
    const text = el('input');
    text.type = 'text';
    text.placeholder = 'text for the next prompt';
    text.id = 'inject-text';
    controls.append(
      button('stop', () => {
        if (window.confirm(`Stop ${data.row.task}?`)) void post('stop');
      }),
      data.row.paused
        ? button('resume', () => void post('resume'))
        : button('pause', () => void post('pause')),
      count,
      button('add iterations', () => void post('add-iterations', { count: Number(count.value) })),
      text,
      button('inject', () => {
        if (text.value.trim() !== '') void post('inject', { text: text.value }).then(() => (text.value = ''));
      }),
    );
  };

  const draw = (data: Detail): void => {
    const { detail } = data;
    stories.replaceChildren(
      ...(detail.stories ?? []).map((s) => {
        const mark = s.passes ? '✓' : s.id === detail.currentStory ? '▸' : '·';
        const li = el('li', `${mark} ${s.id}  ${s.title}`);
        li.dataset.passes = String(s.passes);
        return li;
      }),
    );
    const head = el('tr');
    head.append(el('th', '#'), el('th', 'story'), el('th', 'outcome'), el('th', 'tokens'), el('th', 'cost'));
    const rows = (detail.iterations ?? []).map((it) => {
      const tr = el('tr');
      const tokens = it.usage ? String(it.usage.input_tokens + it.usage.output_tokens) : '-';
      const price = it.usage?.cost_usd == null ? '-' : `$${it.usage.cost_usd.toFixed(4)}`;
      tr.append(
        el('td', String(it.number)),
        el('td', it.story_before ?? '-'),
        el('td', it.outcome),
        el('td', tokens),
        el('td', price),
      );
      return tr;
    });
    iterations.replaceChildren(head, ...rows);
    total.textContent = cost(detail.iterations ?? []);
    const t = detail.transcript;
    if (t === undefined) return;
    transcriptHead.hidden = t === null;
    if (t === null) {
      transcript.replaceChildren();
      return;
    }
    transcriptHead.textContent =
      `Transcript of iteration ${t.iteration} (${t.format})` +
      (t.omitted > 0 ? `, last ${t.entries.length} entries` : '');
    transcript.replaceChildren(...t.entries.map(entryItem));
  };

  let lastControls = '';
  let lastIterations = '';
  let sinceTranscript = TRANSCRIPT_EVERY;
  const refresh = async (): Promise<void> => {
    const wantTranscript = sinceTranscript >= TRANSCRIPT_EVERY;
    const res = await fetch(`/api/loops/${id}${wantTranscript ? '?transcript=1' : ''}`);
    if (!res.ok) return;
    const data = (await res.json()) as Detail;
    if (wantTranscript) sinceTranscript = 0;
    else {
      sinceTranscript += 1;
      delete data.detail.transcript;
    }
    // A new iteration, or one that ended: its transcript is asked for on the next refresh.
    const its = (data.detail.iterations ?? []).map((it) => `${it.number}:${it.outcome}`).join(',');
    if (its !== lastIterations) {
      if (lastIterations !== '') sinceTranscript = TRANSCRIPT_EVERY;
      lastIterations = its;
    }
    draw(data);
    const key = `${readOnly()} ${data.row.link.state} ${data.row.paused}`;
    if (key !== lastControls) {
      lastControls = key;
      drawControls(data);
    }
  };
  const timer = setInterval(() => void refresh().catch(() => undefined), REFRESH_MS);
  void refresh().catch(() => undefined);
  return { close: () => clearInterval(timer) };
}
