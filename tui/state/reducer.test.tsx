import { describe, expect, it } from 'vitest';
import { endedRow, makeRow } from '../test-fixtures.js';
import { initialState, reducer, selectedRow, visibleRows } from './reducer.js';
import { DETAIL_TABS, type TuiAction, type TuiState } from './types.js';

const rows = [
  makeRow({ task: 'alpha', agent: 'claude', currentStory: 'US-001' }),
  makeRow({ task: 'beta', location: 'vps1', agent: 'codex', status: 'paused', paused: true }),
  endedRow({ task: 'gamma', status: 'failed', agent: 'claude', currentStory: 'US-007' }),
  endedRow({ task: 'delta-api', status: 'completed', agent: 'aider' }),
];

function withRows(patch: Partial<TuiState> = {}): TuiState {
  return { ...reducer(initialState(), { type: 'rows', rows }), ready: true, ...patch };
}

function apply(state: TuiState, ...actions: TuiAction[]): TuiState {
  return actions.reduce(reducer, state);
}

const tasks = (state: TuiState): string[] => visibleRows(state).map((r) => r.task);

describe('initialState', () => {
  it('starts empty, not ready, on the screen view, in the list', () => {
    const state = initialState();
    expect(state).toMatchObject({
      rows: [],
      ready: false,
      selectedKey: null,
      filter: '',
      tab: 'screen',
      scroll: 0,
      mode: { kind: 'list' },
      notice: null,
      color: true,
    });
  });

  it('takes the remembered selection, filter and view, and the colour setting', () => {
    const state = initialState({ selectedKey: 'local/beta', filter: 'vps', tab: 'stories' }, false);
    expect(state).toMatchObject({ selectedKey: 'local/beta', filter: 'vps', tab: 'stories', color: false });
  });
});

describe('move', () => {
  it('moves the selection down and up', () => {
    const state = withRows();
    expect(selectedRow(apply(state, { type: 'move', by: 1 }))?.task).toBe('beta');
    expect(selectedRow(apply(state, { type: 'move', by: 2 }, { type: 'move', by: -1 }))?.task).toBe('beta');
  });

  it('stops at the first and the last row', () => {
    const state = withRows();
    expect(apply(state, { type: 'move', by: -1 }).selectedKey).toBe('local/alpha');
    expect(apply(state, { type: 'move', by: -5 }).selectedKey).toBe('local/alpha');
    expect(apply(state, { type: 'move', by: 99 }).selectedKey).toBe('local/delta-api');
    const last = apply(state, { type: 'move', by: 3 });
    expect(apply(last, { type: 'move', by: 1 }).selectedKey).toBe('local/delta-api');
  });

  it('moves among the rows the filter shows only', () => {
    const state = withRows({ filter: 'claude' });
    expect(tasks(state)).toEqual(['alpha', 'gamma']);
    expect(apply(state, { type: 'move', by: 1 }).selectedKey).toBe('local/gamma');
    expect(apply(state, { type: 'move', by: 5 }).selectedKey).toBe('local/gamma');
  });

  it('starts from the first visible row when the selection is hidden or gone', () => {
    const hidden = withRows({ selectedKey: 'vps1/beta', filter: 'claude' });
    expect(apply(hidden, { type: 'move', by: 1 }).selectedKey).toBe('local/gamma');
    const gone = withRows({ selectedKey: 'local/nope' });
    expect(apply(gone, { type: 'move', by: 1 }).selectedKey).toBe('vps1/beta');
  });

  it('does nothing without rows', () => {
    const state = initialState();
    expect(apply(state, { type: 'move', by: 1 })).toBe(state);
  });

  it('goes back to the bottom of the output', () => {
    const state = withRows({ scroll: 30 });
    expect(apply(state, { type: 'move', by: 1 }).scroll).toBe(0);
  });
});

describe('filter', () => {
  it('lets every row through when empty or blank', () => {
    expect(tasks(withRows())).toEqual(['alpha', 'beta', 'gamma', 'delta-api']);
    expect(tasks(withRows({ filter: '   ' }))).toEqual(['alpha', 'beta', 'gamma', 'delta-api']);
  });

  it('matches the task, location, status, agent and story, ignoring case', () => {
    expect(tasks(withRows({ filter: 'DELTA' }))).toEqual(['delta-api']);
    expect(tasks(withRows({ filter: 'vps1' }))).toEqual(['beta']);
    expect(tasks(withRows({ filter: 'local' }))).toEqual(['alpha', 'gamma', 'delta-api']);
    expect(tasks(withRows({ filter: 'paused' }))).toEqual(['beta']);
    expect(tasks(withRows({ filter: 'codex' }))).toEqual(['beta']);
    expect(tasks(withRows({ filter: 'us-007' }))).toEqual(['gamma']);
  });

  it('needs every word to match, each anywhere in the row', () => {
    expect(tasks(withRows({ filter: 'claude failed' }))).toEqual(['gamma']);
    expect(tasks(withRows({ filter: '  local   aider ' }))).toEqual(['delta-api']);
    expect(tasks(withRows({ filter: 'claude codex' }))).toEqual([]);
  });

  it('is set by the filter action without moving the selection key', () => {
    const state = apply(withRows({ selectedKey: 'vps1/beta' }), { type: 'filter', filter: 'gamma' });
    expect(state.filter).toBe('gamma');
    expect(state.selectedKey).toBe('vps1/beta');
  });
});

describe('selectedRow', () => {
  it('is the selected row while it is visible', () => {
    expect(selectedRow(withRows({ selectedKey: 'local/gamma' }))?.task).toBe('gamma');
  });

  it('falls back to the first visible row when the selection is filtered out', () => {
    expect(selectedRow(withRows({ selectedKey: 'vps1/beta', filter: 'claude' }))?.task).toBe('alpha');
    expect(selectedRow(withRows({ selectedKey: 'vps1/beta', filter: 'failed' }))?.task).toBe('gamma');
  });

  it('falls back to the first row when the selected one is gone or none is', () => {
    expect(selectedRow(withRows({ selectedKey: 'local/gone' }))?.task).toBe('alpha');
    expect(selectedRow(withRows({ selectedKey: null }))?.task).toBe('alpha');
  });

  it('is null when nothing is visible', () => {
    expect(selectedRow(withRows({ filter: 'nothing-like-this' }))).toBeNull();
    expect(selectedRow(initialState())).toBeNull();
  });

  it('comes back once the filter lets the selection through again', () => {
    const state = apply(
      withRows({ selectedKey: 'vps1/beta' }),
      { type: 'filter', filter: 'claude' },
      { type: 'filter', filter: '' },
    );
    expect(selectedRow(state)?.task).toBe('beta');
  });
});

describe('select', () => {
  it('selects by key and returns to the bottom of the output', () => {
    const state = apply(withRows({ scroll: 12 }), { type: 'select', key: 'local/gamma' });
    expect(state.selectedKey).toBe('local/gamma');
    expect(state.scroll).toBe(0);
  });
});

describe('tabs', () => {
  it('cycles through every view and back to the first', () => {
    let state = withRows();
    const seen = [state.tab];
    for (let i = 0; i < DETAIL_TABS.length; i++) {
      state = apply(state, { type: 'next-tab' });
      seen.push(state.tab);
    }
    expect(seen).toEqual(['screen', 'output', 'iterations', 'stories', 'screen']);
  });

  it('jumps to a view and resets the scroll either way', () => {
    const state = withRows({ tab: 'output', scroll: 9 });
    expect(apply(state, { type: 'tab', tab: 'stories' })).toMatchObject({ tab: 'stories', scroll: 0 });
    expect(apply(state, { type: 'next-tab' })).toMatchObject({ tab: 'iterations', scroll: 0 });
  });
});

describe('scroll', () => {
  it('adds up and never goes below zero', () => {
    const state = withRows();
    expect(apply(state, { type: 'scroll', by: 10 }, { type: 'scroll', by: 10 }).scroll).toBe(20);
    expect(apply(state, { type: 'scroll', by: 10 }, { type: 'scroll', by: -4 }).scroll).toBe(6);
    expect(apply(state, { type: 'scroll', by: -10 }).scroll).toBe(0);
    expect(apply(state, { type: 'scroll', by: 5 }, { type: 'scroll', by: -10 }).scroll).toBe(0);
  });

  it('goes back to the end', () => {
    expect(apply(withRows({ scroll: 40 }), { type: 'scroll-to-end' }).scroll).toBe(0);
  });
});

describe('input', () => {
  it('changes the value being typed in input mode', () => {
    const state = apply(
      withRows(),
      {
        type: 'mode',
        mode: { kind: 'input', purpose: 'iterations', value: '5', key: 'local/alpha', task: 'alpha' },
      },
      { type: 'input', value: '15' },
    );
    expect(state.mode).toEqual({
      kind: 'input',
      purpose: 'iterations',
      value: '15',
      key: 'local/alpha',
      task: 'alpha',
    });
  });

  it('is ignored in every other mode', () => {
    const others = [
      { kind: 'list' },
      { kind: 'help' },
      { kind: 'confirm-stop', key: 'local/alpha', task: 'alpha' },
      { kind: 'pick-location', folder: '.', agent: 'claude', choice: 0 },
    ] as const;
    for (const mode of others) {
      const state = apply(withRows(), { type: 'mode', mode });
      expect(apply(state, { type: 'input', value: 'typed' })).toBe(state);
    }
  });

  it('does not touch the filter by itself', () => {
    const state = apply(
      withRows({ filter: 'old' }),
      { type: 'mode', mode: { kind: 'input', purpose: 'filter', value: 'old' } },
      { type: 'input', value: 'new' },
    );
    expect(state.filter).toBe('old');
  });
});

describe('rows, ready and notices', () => {
  it('replaces the rows and keeps the selection key', () => {
    const state = apply(withRows({ selectedKey: 'local/gamma' }), { type: 'rows', rows: rows.slice(0, 2) });
    expect(state.rows).toHaveLength(2);
    expect(state.selectedKey).toBe('local/gamma');
    expect(selectedRow(state)?.task).toBe('alpha');
  });

  it('becomes ready', () => {
    expect(apply(initialState(), { type: 'ready' }).ready).toBe(true);
  });

  it('sets and clears the notice', () => {
    const shown = apply(withRows(), { type: 'notice', notice: { kind: 'error', text: 'boom' } });
    expect(shown.notice).toEqual({ kind: 'error', text: 'boom' });
    expect(apply(shown, { type: 'notice', notice: null }).notice).toBeNull();
  });

  it('never changes the state it is given', () => {
    const state = withRows();
    const copy = structuredClone(state);
    apply(
      state,
      { type: 'move', by: 2 },
      { type: 'next-tab' },
      { type: 'scroll', by: 3 },
      { type: 'filter', filter: 'x' },
      { type: 'mode', mode: { kind: 'input', purpose: 'filter', value: '' } },
      { type: 'input', value: 'y' },
    );
    expect(state).toEqual(copy);
  });
});
