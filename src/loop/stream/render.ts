/**
 * The live view of a structured stream: transcript entries as terminal text (CRLF line ends, a little colour),
 * so attach, peek and the TUI show what the agent does rather than JSON.
 */
import { describeUsage } from '../usage.js';
import type { TranscriptEntry } from './types.js';

const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const CYAN = '\x1b[36m';
const YELLOW = '\x1b[33m';
const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const BOLD = '\x1b[1m';

/** Tool output shown live, at most; the whole output stays in the transcript. */
const RESULT_LINES = 6;
const INPUT_CHARS = 200;

function lines(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
}

function block(text: string, style = ''): string {
  return lines(text)
    .map((l) => (style ? `${style}${l}${RESET}` : l))
    .join('\r\n');
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Tool inputs' most telling fields, shown alone when present. */
const KEY_FIELDS = ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description'];

/** A tool's input for one line: JSON objects as their key field or `key: value` pairs, not JSON. */
function toolInput(input: string): string {
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch {
    return input;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return input;
  const fields = value as Record<string, unknown>;
  const key = KEY_FIELDS.find((k) => typeof fields[k] === 'string');
  if (key !== undefined) return fields[key] as string;
  return Object.entries(fields)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

function toolResult(output: string, isError: boolean): string {
  const all = output === '' ? [] : lines(output);
  const shown = all.slice(0, RESULT_LINES).map((l) => `  ${l}`);
  if (all.length > RESULT_LINES) shown.push(`  … ${all.length - RESULT_LINES} more lines`);
  if (shown.length === 0) shown.push(isError ? '  (failed, no output)' : '  (no output)');
  return block(shown.join('\n'), isError ? RED : DIM);
}

/** An entry as terminal text (no line end); null for an entry not worth showing live. */
export function renderEntry(entry: TranscriptEntry): string | null {
  switch (entry.kind) {
    case 'system':
      return block(`· ${entry.text}`, DIM);
    case 'message':
      return entry.role === 'assistant' ? block(entry.text) : block(`> ${entry.text}`, DIM);
    case 'reasoning':
      return block(entry.text, `${DIM}\x1b[3m`);
    case 'tool_call':
      return `${CYAN}▸ ${entry.name}${RESET} ${oneLine(toolInput(entry.input), INPUT_CHARS)}`;
    case 'tool_result':
      return toolResult(entry.output, entry.isError);
    case 'result': {
      const head = entry.isError
        ? `${RED}${BOLD}■ ended with an error${RESET}`
        : `${GREEN}${BOLD}■ done${RESET}`;
      const usage = entry.usage ? `\r\n${DIM}  ${describeUsage(entry.usage)}${RESET}` : '';
      return `${head}${usage}`;
    }
    case 'rate_limit': {
      // Claude Code reports its limits' state after every turn; only a warning or a refusal is news. A
      // warning is worded so the rate-limit text patterns do not read a later failure as a rate limit.
      if (entry.status === 'allowed') return null;
      const resets = entry.resetsAt ? `, resets at ${entry.resetsAt}` : '';
      const type = entry.limitType ? ` (${entry.limitType})` : '';
      if (entry.status === 'allowed_warning') return block(`usage warning${type}${resets}`, DIM);
      return block(`rate limit ${entry.status}${type}${resets}`, YELLOW);
    }
    case 'error':
      return block(`error: ${entry.text}`, RED);
  }
}

/** Entries as one piece of terminal text, each ending in CRLF; empty when there is nothing to show. */
export function renderEntries(entries: readonly TranscriptEntry[]): string {
  return entries
    .flatMap((e) => {
      const text = renderEntry(e);
      return text === null ? [] : [`${text}\r\n`];
    })
    .join('');
}
