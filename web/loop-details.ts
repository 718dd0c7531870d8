/**
 * Beside the loop page's terminal: the loop's stories with pass marks, its iterations with outcome and cost
 * (from GET /api/loops/<id>, read again every few seconds while the page is open), and the controls a server
 * that is not read-only offers: stop, pause / resume, add iterations, inject text for the next prompt.
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

interface Detail {
  row: { task: string; status: string; paused: boolean; link: { state: string } };
  detail: {
    stories: Story[] | null;
    currentStory: string | null;
    iterations: Iteration[] | null;
    problems: string[];
  };
}

const REFRESH_MS = 3000;

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
  root.replaceChildren(
    controls,
    notice,
    el('h2', 'Stories'),
    stories,
    el('h2', 'Iterations'),
    iterations,
    total,
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
  };

  let lastControls = '';
  const refresh = async (): Promise<void> => {
    const res = await fetch(`/api/loops/${id}`);
    if (!res.ok) return;
    const data = (await res.json()) as Detail;
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
