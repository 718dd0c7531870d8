/**
 * Claude Code's `--output-format stream-json --verbose`: one JSON object per line. `system` (subtype `init`
 * first), `assistant` and `user` messages in the Messages API shape (text, thinking, tool_use, tool_result
 * blocks, with per-message `usage`), `rate_limit_event`, and a final `result` with the run's `usage` and
 * `total_cost_usd`. Amp's `--stream-json` uses the same shapes.
 */
import type { Usage } from '../usage.js';
import { arr, asText, num, obj, str, type Json } from './fields.js';
import type { ParsedEvent, StreamParser, TranscriptEntry } from './types.js';
import { isoTime } from '../../util/clock.js';

function claudeUsage(u: Json | null, model: string | null, costUsd: number | null): Usage {
  const cacheRead = num(u?.cache_read_input_tokens);
  const cacheWrite = num(u?.cache_creation_input_tokens);
  return {
    inputTokens: num(u?.input_tokens) + cacheRead + cacheWrite,
    outputTokens: num(u?.output_tokens),
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    costUsd,
    model,
  };
}

function contentEntries(role: 'assistant' | 'user', content: unknown): TranscriptEntry[] {
  if (typeof content === 'string') return [{ kind: 'message', role, text: content }];
  const entries: TranscriptEntry[] = [];
  for (const raw of arr(content)) {
    const block = obj(raw);
    if (!block) continue;
    if (block.type === 'text') entries.push({ kind: 'message', role, text: str(block.text) ?? '' });
    else if (block.type === 'thinking') entries.push({ kind: 'reasoning', text: str(block.thinking) ?? '' });
    else if (block.type === 'tool_use') {
      entries.push({
        kind: 'tool_call',
        id: str(block.id),
        name: str(block.name) ?? 'tool',
        input: asText(block.input),
      });
    } else if (block.type === 'tool_result') {
      entries.push({
        kind: 'tool_result',
        id: str(block.tool_use_id),
        output: asText(block.content),
        isError: block.is_error === true,
      });
    }
  }
  return entries;
}

/** The model a result names: the one with the most output in `modelUsage`, if any. */
function resultModel(e: Json): string | null {
  const models = Object.entries(obj(e.modelUsage) ?? {});
  models.sort((a, b) => num(obj(b[1])?.outputTokens) - num(obj(a[1])?.outputTokens));
  return models[0]?.[0] ?? null;
}

export const parseClaude: StreamParser = (event) => {
  const e = obj(event);
  if (!e) return null;
  switch (e.type) {
    case 'system': {
      const model = str(e.model);
      const text =
        e.subtype === 'init'
          ? `session started${model ? ` · ${model}` : ''}`
          : `${str(e.subtype) ?? 'system'}${typeof e.message === 'string' ? `: ${e.message}` : ''}`;
      return { entries: [{ kind: 'system', text }] };
    }
    case 'assistant':
    case 'user': {
      const message = obj(e.message);
      const parsed: ParsedEvent = { entries: contentEntries(e.type, message?.content) };
      const id = str(message?.id);
      if (e.type === 'assistant' && message && obj(message.usage) && id) {
        parsed.usage = { key: id, usage: claudeUsage(obj(message.usage), str(message.model), null) };
      }
      return parsed;
    }
    case 'result': {
      const cost = typeof e.total_cost_usd === 'number' ? e.total_cost_usd : null;
      const usage = obj(e.usage) ? claudeUsage(obj(e.usage), resultModel(e), cost) : null;
      const isError = e.is_error === true || (typeof e.subtype === 'string' && e.subtype !== 'success');
      const text = str(e.result) ?? (isError ? (str(e.subtype) ?? 'error') : '');
      return {
        entries: [{ kind: 'result', text, isError, usage }],
        ...(usage ? { usage: { usage, total: true as const } } : {}),
      };
    }
    case 'rate_limit_event': {
      const info = obj(e.rate_limit_info);
      const resets = num(info?.resetsAt);
      return {
        entries: [
          {
            kind: 'rate_limit',
            status: str(info?.status) ?? 'unknown',
            resetsAt: resets > 0 ? isoTime(resets * 1000) : null,
            limitType: str(info?.rateLimitType),
          },
        ],
      };
    }
    case 'stream_event':
      // Partial-message deltas (--include-partial-messages): the whole message follows as `assistant`.
      return { entries: [] };
    default:
      return null;
  }
};
