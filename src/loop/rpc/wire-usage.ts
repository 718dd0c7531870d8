/** Usage and transcript entries in the protocol's snake_case shapes. */
import type { WireTranscriptEntry, WireUsage } from '../../protocol/usage-schema.js';
import type { TranscriptEntry } from '../stream/index.js';
import type { Usage } from '../usage.js';

export function toWireUsage(u: Usage): WireUsage {
  return {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cached_input_tokens: u.cachedInputTokens,
    cache_write_tokens: u.cacheWriteTokens,
    cost_usd: u.costUsd,
    model: u.model,
  };
}

export function toWireEntry(e: TranscriptEntry): WireTranscriptEntry {
  switch (e.kind) {
    case 'tool_result':
      return { kind: e.kind, id: e.id, output: e.output, is_error: e.isError };
    case 'result':
      return {
        kind: e.kind,
        text: e.text,
        is_error: e.isError,
        usage: e.usage ? toWireUsage(e.usage) : null,
      };
    case 'rate_limit':
      return { kind: e.kind, status: e.status, resets_at: e.resetsAt, limit_type: e.limitType };
    default:
      return e;
  }
}
