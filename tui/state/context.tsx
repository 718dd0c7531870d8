/** The state and actions contexts, and the provider that owns the reducer. */
import { useApp } from 'ink';
import { createContext, useContext, useEffect, useMemo, useReducer, useState, type ReactNode } from 'react';
import type { Fleet } from '../../src/client/fleet/index.js';
import { makeActions, type ActionDeps, type Handoff, type TuiActions } from './actions.js';
import { FramePacer } from './frame-pacer.js';
import { initialState, reducer, selectedRow } from './reducer.js';
import type { Notice, TuiAction, TuiState, UiMemory } from './types.js';

const StateContext = createContext<TuiState | null>(null);
const ActionsContext = createContext<(TuiActions & { dispatch: (a: TuiAction) => void }) | null>(null);
const FleetContext = createContext<Fleet | null>(null);
const PacerContext = createContext<FramePacer | null>(null);

export interface TuiProviderProps {
  fleet: Fleet;
  memory?: Partial<UiMemory>;
  onHandoff?: (request: Handoff) => void;
  /** Told the selection, filter and view as they change, so they survive a handoff. */
  onMemory?: (memory: UiMemory) => void;
  /** A message to show from the start (what came of the last attach). */
  notice?: Notice;
  startLocal?: ActionDeps['startLocal'];
  /** Colours on unless NO_COLOR says otherwise (the default reads the environment). */
  color?: boolean;
  /** Starting state, for tests that show one exact screen. */
  state?: TuiState;
  children: ReactNode;
}

export function TuiProvider(props: TuiProviderProps): ReactNode {
  const { exit } = useApp();
  const [state, dispatch] = useReducer(reducer, null, () => {
    let start = props.state ?? initialState(props.memory, props.color ?? colorWanted());
    // Back from an attach the fleet is already following the registry: no blank list in between.
    if (!props.state && props.fleet.started) start = { ...start, rows: props.fleet.rows(), ready: true };
    return props.notice ? { ...start, notice: props.notice } : start;
  });
  const [pacer] = useState(() => new FramePacer());
  useEffect(() => () => pacer.close(), [pacer]);
  const { onMemory } = props;
  const remembered = selectedRow(state)?.key ?? state.selectedKey;
  useEffect(() => {
    onMemory?.({ selectedKey: remembered, filter: state.filter, tab: state.tab });
  }, [onMemory, remembered, state.filter, state.tab]);
  const { fleet, onHandoff, startLocal } = props;
  const actions = useMemo(
    () => ({
      dispatch,
      ...makeActions({
        fleet,
        dispatch,
        exit: () => exit(),
        handoff: (request) => {
          onHandoff?.(request);
          exit();
        },
        ...(startLocal ? { startLocal } : {}),
      }),
    }),
    [fleet, exit, onHandoff, startLocal],
  );
  return (
    <FleetContext.Provider value={fleet}>
      <PacerContext.Provider value={pacer}>
        <ActionsContext.Provider value={actions}>
          <StateContext.Provider value={state}>{props.children}</StateContext.Provider>
        </ActionsContext.Provider>
      </PacerContext.Provider>
    </FleetContext.Provider>
  );
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off. */
export function colorWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.NO_COLOR;
}

export function useTuiState(): TuiState {
  const state = useContext(StateContext);
  if (!state) throw new Error('useTuiState needs a TuiProvider above it');
  return state;
}

export function useTuiActions(): TuiActions & { dispatch: (a: TuiAction) => void } {
  const actions = useContext(ActionsContext);
  if (!actions) throw new Error('useTuiActions needs a TuiProvider above it');
  return actions;
}

export function useFleet(): Fleet {
  const fleet = useContext(FleetContext);
  if (!fleet) throw new Error('useFleet needs a TuiProvider above it');
  return fleet;
}

/** The pacer that live data from the loops goes through on its way to the state (see frame-pacer.ts). */
export function useFramePacer(): FramePacer {
  const pacer = useContext(PacerContext);
  if (!pacer) throw new Error('useFramePacer needs a TuiProvider above it');
  return pacer;
}
