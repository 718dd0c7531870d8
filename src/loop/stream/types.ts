/** What a parsed agent stream yields: transcript entries and usage updates, whatever the agent's format. */
import type { Usage } from '../usage.js';

export type TranscriptEntry =
  | { kind: 'system'; text: string }
  | { kind: 'message'; role: 'assistant' | 'user'; text: string }
  | { kind: 'reasoning'; text: string }
  | { kind: 'tool_call'; id: string | null; name: string; input: string }
  | { kind: 'tool_result'; id: string | null; output: string; isError: boolean }
  | { kind: 'result'; text: string; isError: boolean; usage: Usage | null }
  | { kind: 'rate_limit'; status: string; resetsAt: string | null; limitType: string | null }
  | { kind: 'error'; text: string };

/**
 * A usage update from one event. `key` names what the figures belong to (a message, a turn): a later update
 * with the same key replaces the earlier one; updates with different keys, or none, add up. `total` figures replace
 * everything counted so far (an agent's final account of the whole run).
 */
export type UsageUpdate = { key?: string; usage: Usage; total?: false } | { usage: Usage; total: true };

export interface ParsedEvent {
  entries: TranscriptEntry[];
  usage?: UsageUpdate;
}

/** Turns one JSON value of an agent's stream into transcript entries and usage; null for unknown shapes. */
export type StreamParser = (event: unknown) => ParsedEvent | null;

/** Agent stream formats ralph reads. */
export const STREAM_FORMATS = ['claude', 'codex'] as const;
export type StreamFormat = (typeof STREAM_FORMATS)[number];
