/**
 * Codex's `codex exec --json`: JSON Lines of `thread.started`, `turn.started`, `item.started|updated|completed`
 * (items `agent_message`, `reasoning`, `command_execution`, `file_change`, `mcp_tool_call`, `web_search`,
 * `todo_list`, `error`), `turn.completed` with the turn's `usage`, `turn.failed` and `error`. Codex reports
 * tokens, not cost.
 */
import { arr, asText, num, obj, str, type Json } from './fields.js';
import type { ParsedEvent, StreamParser, TranscriptEntry } from './types.js';

function itemEntries(item: Json, phase: 'started' | 'completed'): TranscriptEntry[] {
  const id = str(item.id);
  switch (item.type) {
    case 'agent_message':
      return phase === 'completed'
        ? [{ kind: 'message', role: 'assistant', text: str(item.text) ?? '' }]
        : [];
    case 'reasoning':
      return phase === 'completed' ? [{ kind: 'reasoning', text: str(item.text) ?? '' }] : [];
    case 'command_execution':
      if (phase === 'started')
        return [{ kind: 'tool_call', id, name: 'shell', input: str(item.command) ?? '' }];
      return [
        {
          kind: 'tool_result',
          id,
          output: str(item.aggregated_output) ?? '',
          isError: typeof item.exit_code === 'number' && item.exit_code !== 0,
        },
      ];
    case 'file_change': {
      if (phase !== 'completed') return [];
      const changes = arr(item.changes).map(
        (c) => `${str(obj(c)?.kind) ?? 'change'} ${str(obj(c)?.path) ?? ''}`,
      );
      return [{ kind: 'tool_call', id, name: 'edit', input: changes.join(', ') }];
    }
    case 'mcp_tool_call':
      if (phase === 'started') {
        const name = [str(item.server), str(item.tool)].filter(Boolean).join('.');
        return [{ kind: 'tool_call', id, name: name || 'mcp', input: asText(item.arguments) }];
      }
      return [
        {
          kind: 'tool_result',
          id,
          output: asText(item.result ?? item.error),
          isError: item.status === 'failed',
        },
      ];
    case 'web_search':
      return phase === 'started'
        ? [{ kind: 'tool_call', id, name: 'web_search', input: str(item.query) ?? '' }]
        : [];
    case 'todo_list':
      return phase === 'completed'
        ? [
            {
              kind: 'system',
              text: `plan: ${arr(item.items)
                .map((t) => str(obj(t)?.text) ?? '')
                .join('; ')}`,
            },
          ]
        : [];
    case 'error':
      return [{ kind: 'error', text: str(item.message) ?? 'error' }];
    default:
      return [];
  }
}

export const parseCodex: StreamParser = (event) => {
  const e = obj(event);
  if (!e || typeof e.type !== 'string') return null;
  switch (e.type) {
    case 'thread.started':
      return { entries: [{ kind: 'system', text: `session started · thread ${str(e.thread_id) ?? '?'}` }] };
    case 'turn.started':
      return { entries: [] };
    case 'item.started':
    case 'item.updated':
    case 'item.completed': {
      const item = obj(e.item);
      if (!item) return { entries: [] };
      if (e.type === 'item.updated') return { entries: [] };
      return { entries: itemEntries(item, e.type === 'item.started' ? 'started' : 'completed') };
    }
    case 'turn.completed':
    case 'turn.failed': {
      const parsed: ParsedEvent = { entries: [] };
      const u = obj(e.usage);
      if (u) {
        const usage = {
          inputTokens: num(u.input_tokens),
          outputTokens: num(u.output_tokens),
          cachedInputTokens: num(u.cached_input_tokens),
          cacheWriteTokens: 0,
          costUsd: null,
          model: null,
        };
        parsed.usage = { usage };
      }
      if (e.type === 'turn.failed') {
        parsed.entries.push({ kind: 'error', text: str(obj(e.error)?.message) ?? 'turn failed' });
      }
      return parsed;
    }
    case 'error':
      return { entries: [{ kind: 'error', text: str(e.message) ?? 'error' }] };
    default:
      return null;
  }
};
