/** The TUI's state: what the fleet says, what the user has selected and typed, and what is on its way. */
import type { FleetRow } from '../../src/client/fleet/index.js';

export type DetailTab = 'screen' | 'output' | 'iterations' | 'stories';
export const DETAIL_TABS: readonly DetailTab[] = ['screen', 'output', 'iterations', 'stories'];

/** A line of text the user is typing, and what it is for. */
export type InputPurpose = 'filter' | 'iterations' | 'new-folder' | 'new-agent';

export type Mode =
  | { kind: 'list' }
  | { kind: 'help' }
  | { kind: 'confirm-stop'; key: string; task: string }
  | { kind: 'input'; purpose: InputPurpose; value: string; key?: string; task?: string; folder?: string }
  | { kind: 'pick-location'; folder: string; agent: string; choice: number };

export interface Notice {
  kind: 'info' | 'pending' | 'error';
  text: string;
}

export interface TuiState {
  /** Every row the fleet knows, unfiltered, in the fleet's order. */
  rows: FleetRow[];
  /** False until the registry has been read (and reconciled) once. */
  ready: boolean;
  selectedKey: string | null;
  filter: string;
  tab: DetailTab;
  /** Lines scrolled up from the bottom in the output tab. */
  scroll: number;
  mode: Mode;
  notice: Notice | null;
  /** False when NO_COLOR is set: attributes such as inverse and bold stay, colours go. */
  color: boolean;
}

/** What survives handing the terminal to `attach` and coming back. */
export type UiMemory = Pick<TuiState, 'selectedKey' | 'filter' | 'tab'>;

export type TuiAction =
  | { type: 'rows'; rows: FleetRow[] }
  | { type: 'ready' }
  | { type: 'move'; by: number }
  | { type: 'select'; key: string }
  | { type: 'tab'; tab: DetailTab }
  | { type: 'next-tab' }
  | { type: 'scroll'; by: number }
  | { type: 'scroll-to-end' }
  | { type: 'mode'; mode: Mode }
  | { type: 'input'; value: string }
  | { type: 'filter'; filter: string }
  | { type: 'notice'; notice: Notice | null };
