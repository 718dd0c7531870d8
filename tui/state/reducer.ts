/** Pure state transitions; everything that talks to loops lives in the actions. */
import type { FleetRow } from '../../src/client/fleet/index.js';
import { DETAIL_TABS, type TuiAction, type TuiState, type UiMemory } from './types.js';

export function initialState(memory: Partial<UiMemory> = {}, color = true): TuiState {
  return {
    color,
    rows: [],
    ready: false,
    selectedKey: memory.selectedKey ?? null,
    filter: memory.filter ?? '',
    tab: memory.tab ?? 'screen',
    scroll: 0,
    mode: { kind: 'list' },
    notice: null,
  };
}

/** The rows the filter lets through: every word must appear in the task, location, status, agent or story. */
export function visibleRows(state: Pick<TuiState, 'rows' | 'filter'>): FleetRow[] {
  const words = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return state.rows;
  return state.rows.filter((row) => {
    const text = [row.task, row.location, row.status, row.agent, row.currentStory ?? '']
      .join(' ')
      .toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/** The selected row among those shown; the first one when the selection is filtered out or gone. */
export function selectedRow(state: TuiState): FleetRow | null {
  const rows = visibleRows(state);
  return rows.find((r) => r.key === state.selectedKey) ?? rows[0] ?? null;
}

export function reducer(state: TuiState, action: TuiAction): TuiState {
  switch (action.type) {
    case 'rows':
      return { ...state, rows: action.rows };
    case 'ready':
      return { ...state, ready: true };
    case 'move': {
      const rows = visibleRows(state);
      if (rows.length === 0) return state;
      const at = Math.max(
        0,
        rows.findIndex((r) => r.key === selectedRow(state)?.key),
      );
      const next = Math.min(rows.length - 1, Math.max(0, at + action.by));
      return { ...state, selectedKey: rows[next]!.key, scroll: 0 };
    }
    case 'select':
      return { ...state, selectedKey: action.key, scroll: 0 };
    case 'tab':
      return { ...state, tab: action.tab, scroll: 0 };
    case 'next-tab': {
      const i = DETAIL_TABS.indexOf(state.tab);
      return { ...state, tab: DETAIL_TABS[(i + 1) % DETAIL_TABS.length]!, scroll: 0 };
    }
    case 'scroll':
      return { ...state, scroll: Math.max(0, state.scroll + action.by) };
    case 'scroll-to-end':
      return { ...state, scroll: 0 };
    case 'mode':
      return { ...state, mode: action.mode };
    case 'input':
      return state.mode.kind === 'input' ? { ...state, mode: { ...state.mode, value: action.value } } : state;
    case 'filter':
      return { ...state, filter: action.filter };
    case 'notice':
      return { ...state, notice: action.notice };
  }
}
