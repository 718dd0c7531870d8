/**
 * The daemon's side of the wire as this client reads it (docs/DAEMON contract, issue #10): the greeting, the
 * daemon methods' results, and the journal's events.
 */
import type { SessionStatus } from '../../registry/index.js';

export type DaemonRole = 'observe' | 'control';

/** The notification a daemon sends first on every connection. */
export interface DaemonHello {
  version: string;
  service: string;
  /** 32 random bytes, base64url: what `authenticate` signs. */
  nonce: string;
  auth: 'required' | 'none';
  identity: string | null;
  role: DaemonRole | null;
}

export interface DaemonHealth {
  hostname: string;
  version: string;
  started_at: string;
  uptime_seconds: number;
  active_loops: number;
  max_loops: number;
  workspace: string;
  service: string;
  bound: boolean;
  journal_seq: number;
}

/** One loop in the box's registry, newest row per task. */
export interface LoopSummary {
  task: string;
  /** The box's registry id, as a string. */
  loop_id: string;
  status: SessionStatus;
  iteration: number;
  max_iterations: number;
  agent: string;
  task_dir: string;
  branch: string | null;
  current_story: string | null;
  started_at: string | null;
  ended_at: string | null;
  exit_reason: string | null;
  updated_at: string;
}

export interface ListLoopsResult {
  loops: LoopSummary[];
  count: number;
  journal_seq: number;
}

export interface StartLoopParams {
  task_dir: string;
  agent?: string;
  max_iterations?: number;
  name?: string;
  agent_command?: string;
}

export interface StartLoopResult {
  loop_id: string;
  task: string;
  status: SessionStatus;
  task_dir: string;
}

export interface LoopEvent {
  seq: number;
  time: string;
  type: 'loop_started' | 'loop_completed' | 'loop_failed' | 'state_change' | 'loop_lost' | string;
  task: string | null;
  data: Record<string, unknown>;
}

export interface SubscribeEventsResult {
  seq: number;
  replayed: number;
}
