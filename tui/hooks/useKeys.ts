/** The keyboard: one handler, which reads the mode to decide what a key means. */
import { useInput, type Key } from 'ink';
import { useRef } from 'react';
import { reducer, selectedRow } from '../state/reducer.js';
import { useTuiActions, useTuiState } from '../state/context.js';
import { DETAIL_TABS, type Mode, type TuiState } from '../state/types.js';
import type { TuiActions } from '../state/actions.js';
import type { TuiAction } from '../state/types.js';

type Actions = TuiActions & { dispatch: (a: TuiAction) => void };

/** Page size for scrolling the output view. */
const PAGE = 10;

export function useKeys(locations: string[]): void {
  const rendered = useTuiState();
  const context = useTuiActions();
  // Keys that arrive before React renders again (a paste, a fast typist) must each see the state the keys
  // before them left, not the state of the last render.
  const latest = useRef(rendered);
  const last = useRef(rendered);
  if (last.current !== rendered) last.current = latest.current = rendered;
  useInput((input, key) => {
    const state = latest.current;
    const actions: Actions = {
      ...context,
      dispatch: (action) => {
        latest.current = reducer(latest.current, action);
        context.dispatch(action);
      },
    };
    if (key.ctrl && input === 'c') return actions.quit();
    switch (state.mode.kind) {
      case 'help':
        return actions.dispatch({ type: 'mode', mode: { kind: 'list' } });
      case 'confirm-stop':
        return confirmKey(state, actions, input);
      case 'input':
        return inputKey(state, state.mode, actions, input, key);
      case 'pick-location':
        return pickKey(state.mode, actions, locations, key);
      case 'list':
        return listKey(state, actions, input, key);
    }
  });
}

function listKey(state: TuiState, actions: Actions, input: string, key: Key): void {
  const { dispatch } = actions;
  const row = selectedRow(state);
  if (key.upArrow || input === 'k') return dispatch({ type: 'move', by: -1 });
  if (key.downArrow || input === 'j') return dispatch({ type: 'move', by: 1 });
  if (key.tab) return dispatch({ type: 'next-tab' });
  if (key.pageUp) return dispatch({ type: 'scroll', by: PAGE });
  if (key.pageDown) return dispatch({ type: 'scroll', by: -PAGE });
  if (key.end) return dispatch({ type: 'scroll-to-end' });
  if (key.escape) {
    dispatch({ type: 'notice', notice: null });
    return dispatch({ type: 'filter', filter: '' });
  }
  const tab = DETAIL_TABS[Number(input) - 1];
  if (tab) return dispatch({ type: 'tab', tab });
  switch (input) {
    case '?':
      return dispatch({ type: 'mode', mode: { kind: 'help' } });
    case 'q':
      return actions.quit();
    case '/':
      return dispatch({ type: 'mode', mode: { kind: 'input', purpose: 'filter', value: state.filter } });
    case 'n':
      return dispatch({ type: 'mode', mode: { kind: 'input', purpose: 'new-folder', value: '.' } });
  }
  if (!row) {
    if (input === '\r' || key.return || 'ispP+'.includes(input || '-')) {
      dispatch({ type: 'notice', notice: { kind: 'error', text: 'no loop selected' } });
    }
    return;
  }
  if (key.return) return actions.attach(row, false);
  if (input === 'i') return actions.attach(row, true);
  if ('sp+'.includes(input) && input !== '' && row.link.state === 'ended') {
    // Nothing left to steer: say so rather than fail to connect.
    return dispatch({ type: 'notice', notice: { kind: 'error', text: `${row.task} has already ended` } });
  }
  switch (input) {
    case 's':
      return dispatch({ type: 'mode', mode: { kind: 'confirm-stop', key: row.key, task: row.task } });
    case 'p':
      return void actions.togglePause(row);
    case '+':
      return dispatch({
        type: 'mode',
        mode: { kind: 'input', purpose: 'iterations', value: '5', key: row.key, task: row.task },
      });
  }
}

function confirmKey(state: TuiState, actions: Actions, input: string): void {
  const mode = state.mode;
  if (mode.kind !== 'confirm-stop') return;
  actions.dispatch({ type: 'mode', mode: { kind: 'list' } });
  if (input !== 'y' && input !== 'Y') {
    actions.dispatch({ type: 'notice', notice: { kind: 'info', text: `${mode.task} keeps running` } });
    return;
  }
  const row = state.rows.find((r) => r.key === mode.key);
  if (row) void actions.stop(row);
}

function inputKey(
  state: TuiState,
  mode: Mode & { kind: 'input' },
  actions: Actions,
  input: string,
  key: Key,
): void {
  const { dispatch } = actions;
  const setValue = (value: string): void => {
    dispatch({ type: 'input', value });
    if (mode.purpose === 'filter') dispatch({ type: 'filter', filter: value });
  };
  if (key.escape) {
    if (mode.purpose === 'filter') dispatch({ type: 'filter', filter: '' });
    return dispatch({ type: 'mode', mode: { kind: 'list' } });
  }
  // Several erase keys can arrive in one chunk (key repeat); each takes one character.
  const erases = /^[\b\x7f]+$/.test(input) ? input.length : key.backspace || key.delete ? 1 : 0;
  if (erases > 0) return setValue([...mode.value].slice(0, -erases).join(''));
  if (key.ctrl && input === 'u') return setValue('');
  if (key.return) return submit(state, mode, actions);
  if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow) return;
  // Pasted text arrives as one chunk; control characters in it are dropped.
  const printable = [...input].filter((ch) => ch >= ' ' && ch !== '\u007f').join('');
  if (printable) setValue(mode.value + printable);
}

function submit(state: TuiState, mode: Mode & { kind: 'input' }, actions: Actions): void {
  const { dispatch } = actions;
  const toList = (): void => dispatch({ type: 'mode', mode: { kind: 'list' } });
  switch (mode.purpose) {
    case 'filter':
      return toList();
    case 'iterations': {
      toList();
      const row = state.rows.find((r) => r.key === mode.key);
      if (row) void actions.addIterations(row, mode.value);
      return;
    }
    case 'new-folder':
      if (mode.value.trim() === '') return;
      return dispatch({
        type: 'mode',
        mode: { kind: 'input', purpose: 'new-agent', value: 'claude', folder: mode.value.trim() },
      });
    case 'new-agent':
      if (mode.value.trim() === '') return;
      return dispatch({
        type: 'mode',
        mode: { kind: 'pick-location', folder: mode.folder ?? '.', agent: mode.value.trim(), choice: 0 },
      });
  }
}

function pickKey(
  mode: Mode & { kind: 'pick-location' },
  actions: Actions,
  locations: string[],
  key: Key,
): void {
  const { dispatch } = actions;
  if (key.escape) return dispatch({ type: 'mode', mode: { kind: 'list' } });
  const count = locations.length;
  if (key.leftArrow || key.upArrow) {
    return dispatch({ type: 'mode', mode: { ...mode, choice: (mode.choice + count - 1) % count } });
  }
  if (key.rightArrow || key.downArrow || key.tab) {
    return dispatch({ type: 'mode', mode: { ...mode, choice: (mode.choice + 1) % count } });
  }
  if (key.return) {
    dispatch({ type: 'mode', mode: { kind: 'list' } });
    void actions.start({
      folder: mode.folder,
      agent: mode.agent,
      location: locations[mode.choice] ?? 'local',
    });
  }
}
