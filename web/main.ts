/**
 * The fleet page: the rows `ralph web` pushes over /ws/fleet, drawn as a table with a filter and a sort, and
 * stop / pause / resume buttons that call the JSON API (absent on a read-only server). A task's name opens
 * its loop page (`#/loop/<id>`, web/loop-view.ts). Text from loops is only ever set as text, never parsed as
 * HTML.
 */
import { openLoopView, type LoopView } from './loop-view.js';

/** The fields of a fleet row the page uses (src/web/api.ts, `WebRow`). */
interface Row {
  id: number;
  key: string;
  task: string;
  location: string;
  status: string;
  iteration: number;
  maxIterations: number;
  currentStory: string | null;
  agent: string;
  startedAt: string | null;
  endedAt: string | null;
  exitReason: string | null;
  paused: boolean;
  writer: string | null;
  stories: { total: number; passing: number } | null;
  lastLine: string | null;
  usage: { tokens: number; costUsd: number | null } | null;
  link: { state: string; reason?: string };
}

type Message = { type: 'fleet'; readOnly: boolean; rows: Row[] } | { type: 'problem'; text: string };

const state = { rows: [] as Row[], readOnly: true, filter: '', sort: 'default' };

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

/** `$0.0213` (as the fleet's other views print it), tokens only when the agent reports no cost, or `-`. */
function costText(usage: Row['usage']): string {
  if (!usage) return '-';
  if (usage.costUsd === null) return `${usage.tokens} tokens`;
  return `$${usage.costUsd.toFixed(usage.costUsd < 10 ? 4 : 2)}`;
}

const body = document.querySelector<HTMLTableSectionElement>('#fleet tbody')!;
const filterInput = byId<HTMLInputElement>('filter');
const sortSelect = byId<HTMLSelectElement>('sort');

function age(from: string | null, to: string | null): string {
  if (from === null) return '-';
  const seconds = Math.max(0, Math.round(((to ? Date.parse(to) : Date.now()) - Date.parse(from)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function matches(row: Row, filter: string): boolean {
  if (filter === '') return true;
  const words = [row.task, row.location, row.status, row.agent, row.currentStory ?? '', row.lastLine ?? ''];
  return words.some((w) => w.toLowerCase().includes(filter));
}

function sorted(rows: Row[]): Row[] {
  const copy = [...rows];
  if (state.sort === 'task')
    copy.sort((a, b) => a.task.localeCompare(b.task) || a.location.localeCompare(b.location));
  else if (state.sort === 'status')
    copy.sort((a, b) => a.status.localeCompare(b.status) || a.task.localeCompare(b.task));
  else if (state.sort === 'age') copy.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
  else if (state.sort === 'cost') copy.sort((a, b) => (b.usage?.costUsd ?? -1) - (a.usage?.costUsd ?? -1));
  return copy; // 'default': the server's order, running loops first
}

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function button(label: string, action: string, row: Row, confirmText?: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.action = action;
  b.addEventListener('click', () => {
    if (confirmText !== undefined && !window.confirm(confirmText)) return;
    void control(row, action);
  });
  return b;
}

function render(): void {
  const rows = sorted(state.rows.filter((r) => matches(r, state.filter)));
  const trs = rows.map((row) => {
    const tr = document.createElement('tr');
    tr.dataset.key = row.key;
    tr.dataset.status = row.status;
    const linkText = row.link.reason ? `${row.link.state}: ${row.link.reason}` : row.link.state;
    const taskCell = cell('', 'task');
    const link = document.createElement('a');
    link.href = `#/loop/${row.id}`;
    link.textContent = row.task;
    taskCell.append(link);
    tr.append(
      taskCell,
      cell(row.location, 'location'),
      cell(row.paused ? `${row.status} (paused)` : row.status, 'status'),
      cell(`${row.iteration}/${row.maxIterations}`, 'iteration'),
      cell(row.currentStory ?? '-', 'story'),
      cell(row.stories ? `${row.stories.passing}/${row.stories.total}` : '-', 'stories'),
      cell(row.agent, 'agent'),
      cell(costText(row.usage), 'cost'),
      cell(age(row.startedAt, row.endedAt), 'age'),
      cell(row.lastLine ?? '', 'last-line'),
      cell(linkText, 'link'),
    );
    const actions = document.createElement('td');
    actions.className = 'actions';
    if (!state.readOnly && row.link.state === 'live') {
      actions.append(
        row.paused ? button('resume', 'resume', row) : button('pause', 'pause', row),
        button('stop', 'stop', row, `Stop ${row.task}?`),
      );
    }
    tr.append(actions);
    return tr;
  });
  body.replaceChildren(...trs);
  byId('empty').hidden = state.rows.length > 0;
  byId('count').textContent = `${rows.length} of ${state.rows.length} loops`;
  byId('mode').textContent = state.readOnly ? 'read-only' : '';
}

function notice(text: string | null): void {
  const el = byId('notice');
  el.hidden = text === null;
  el.textContent = text ?? '';
}

async function control(row: Row, action: string): Promise<void> {
  try {
    const res = await fetch(`/api/loops/${row.id}/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    if (!res.ok) {
      const answer = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      notice(`${action} ${row.task}: ${answer?.error?.message ?? res.statusText}`);
    } else {
      notice(null);
    }
  } catch (err) {
    notice(`${action} ${row.task}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function setConnection(stateName: string, text: string): void {
  const el = byId('connection');
  el.dataset.state = stateName;
  el.textContent = text;
}

/** Follows the fleet; after a drop, connects again after 0.5 s, 1 s, 2 s ... up to 10 s between tries. */
function follow(attempt = 0): void {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/fleet`);
  ws.addEventListener('open', () => setConnection('live', 'live'));
  ws.addEventListener('message', (event: MessageEvent<string>) => {
    attempt = 0;
    const message = JSON.parse(event.data) as Message;
    if (message.type === 'fleet') {
      state.rows = message.rows;
      state.readOnly = message.readOnly;
      render();
    } else {
      notice(message.text);
    }
  });
  ws.addEventListener('close', () => {
    const wait = Math.min(10_000, 500 * 2 ** attempt);
    setConnection('lost', `disconnected; trying again in ${Math.round(wait / 1000)} s`);
    setTimeout(() => follow(attempt + 1), wait);
  });
}

let loopView: LoopView | null = null;

/** `#/loop/<id>` shows that loop's page; anything else the fleet. */
function route(): void {
  loopView?.close();
  loopView = null;
  const m = /^#\/loop\/(\d+)$/.exec(location.hash);
  const fleetPart = byId('fleet-view');
  const loopPart = byId('loop-view');
  fleetPart.hidden = m !== null;
  loopPart.hidden = m === null;
  if (m) {
    const id = Number(m[1]);
    const row = state.rows.find((r) => r.id === id);
    loopView = openLoopView(loopPart, id, row ? `${row.location}:${row.task}` : `loop ${id}`);
  }
}

window.addEventListener('hashchange', route);
filterInput.addEventListener('input', () => {
  state.filter = filterInput.value.trim().toLowerCase();
  render();
});
sortSelect.addEventListener('change', () => {
  state.sort = sortSelect.value;
  render();
});
// Ages move on without any change from the server.
setInterval(render, 5000);
follow();
route();
