/**
 * What the fleet view shows of one loop: its registry entry, overlaid with what the loop itself says while a
 * connection to it is open. Local and remote rows have the same shape.
 */
import type { IterationRecord, StatusSnapshot, StorySummary } from '../../protocol/index.js';
import type { WireTranscriptEntry } from '../../protocol/usage-schema.js';
import type { SessionRecord, SessionStatus } from '../../registry/index.js';

/** How the fleet reaches a loop (or, for a remote row, the remote that runs it). */
export type LinkHealth =
  /** The loop has ended; nothing to connect to. */
  | { state: 'ended' }
  | { state: 'connecting' }
  | { state: 'live' }
  /** The connection failed or dropped; another try comes at `retryAt` (epoch ms). */
  | { state: 'lost'; reason: string; retryAt: number }
  /** Cannot be reached by this client at all (for example a transport it does not speak). */
  | { state: 'unreachable'; reason: string };

export interface FleetRow {
  /** Stable across registry rows of the same task: `<location>/<task>`. */
  key: string;
  task: string;
  /** `local`, or the remote's name. */
  location: string;
  session: SessionRecord;
  status: SessionStatus;
  iteration: number;
  maxIterations: number;
  currentStory: string | null;
  agent: string;
  startedAt: string | null;
  endedAt: string | null;
  exitReason: string | null;
  interactive: boolean;
  paused: boolean;
  /** Who holds the keyboard, when someone does. */
  writer: string | null;
  stories: { total: number; passing: number } | null;
  lastLine: string | null;
  /** Tokens and cost its iterations reported so far: local loops only; null when none were reported. */
  usage: { tokens: number; costUsd: number | null } | null;
  link: LinkHealth;
}

/** What the loop has said over its connection, kept apart from the registry row it overlays. */
export interface LiveInfo {
  status?: Partial<StatusSnapshot>;
  lastLine?: string | null;
  /** Counts iteration events, so a detail view knows its history is stale. */
  iterationSeq: number;
}

export interface ScreenText {
  cols: number;
  rows: number;
  lines: string[];
  history: string[];
}

/** The detail pane's data. Each part is null when it could not be had, with the reason in `problems`. */
export interface LoopDetail {
  source: 'live' | 'files' | 'none';
  screen: ScreenText | null;
  iterations: IterationRecord[] | null;
  stories: StorySummary[] | null;
  currentStory: string | null;
  /** The transcript of the last iteration that has one (an agent stream format), its last entries only. */
  transcript: DetailTranscript | null;
  problems: string[];
}

export interface DetailTranscript {
  iteration: number;
  format: string;
  entries: WireTranscriptEntry[];
  /** Entries left out before these. */
  omitted: number;
}
