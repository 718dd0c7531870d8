/** Recorded agent streams (test/fixtures/streams) parsed into transcript entries and usage. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LineDecoder,
  STREAM_PARSERS,
  renderEntries,
  type TranscriptEntry,
} from '../../src/loop/stream/index.js';
import type { StreamFormat } from '../../src/loop/stream/types.js';
import { IterationStream } from '../../src/loop/transcript.js';
import type { Usage } from '../../src/loop/usage.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const STREAMS = join(import.meta.dirname, '..', 'fixtures', 'streams');
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');
const sample = (name: string): Buffer => readFileSync(join(STREAMS, name));

/** Feeds a sample through an IterationStream in small PTY-like chunks (CRLF line ends, as a PTY gives). */
function run(
  format: StreamFormat,
  bytes: Buffer,
  chunk = 97,
): { screen: string; usage: Usage | null; updates: Usage[] } {
  const dir = mkdtempSync(join(tmpdir(), 'rls-'));
  try {
    const shown: Buffer[] = [];
    const updates: Usage[] = [];
    const stream = new IterationStream({
      dir,
      iteration: 1,
      format,
      write: (b) => shown.push(b),
      onUsage: (u) => updates.push(u),
      log: () => {},
    });
    const crlf = Buffer.from(bytes.toString('utf8').replace(/\n/g, '\r\n'));
    for (let i = 0; i < crlf.length; i += chunk) stream.feed(crlf.subarray(i, i + chunk));
    stream.end();
    return { screen: stripAnsi(Buffer.concat(shown).toString('utf8')), usage: stream.usage(), updates };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function entries(format: StreamFormat, name: string): TranscriptEntry[] {
  return sample(name)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => STREAM_PARSERS[format](JSON.parse(l))?.entries ?? []);
}

describe('Claude Code stream-json', () => {
  it('yields messages, the tool call and its result, and the final result', () => {
    const kinds = entries('claude', 'claude-basic.ndjson').map((e) => e.kind);
    expect(kinds).toEqual(['system', 'message', 'tool_call', 'tool_result', 'message', 'result']);
    const call = entries('claude', 'claude-basic.ndjson').find((e) => e.kind === 'tool_call');
    expect(call).toMatchObject({ name: 'Bash', id: 'toolu_01A09q90qw90lq917835lq9' });
    expect(call?.kind === 'tool_call' && call.input).toContain('npm test');
  });

  it("takes the result's usage and cost as the iteration's, cache tokens counted as input", () => {
    const { usage, updates } = run('claude', sample('claude-basic.ndjson'));
    expect(usage).toEqual({
      inputTokens: 9 + 11740 + 11530,
      outputTokens: 112,
      cachedInputTokens: 11530,
      cacheWriteTokens: 11740,
      costUsd: 0.02,
      model: 'claude-sonnet-4-5-20250929',
    });
    // Live: the first message's usage (seen twice, with the same id) counts once, before the result arrives.
    expect(updates[0]).toMatchObject({ outputTokens: 1, costUsd: null });
    expect(updates[1]).toMatchObject({ outputTokens: 98, inputTokens: 3 + 11530 });
    expect(updates[2]).toMatchObject({ outputTokens: 98 + 14 });
  });

  it('renders readable text, never the JSON', () => {
    const { screen } = run('claude', sample('claude-basic.ndjson'));
    expect(screen).toContain("I'll start by looking at the failing story.");
    expect(screen).toContain('▸ Bash');
    expect(screen).toContain('Tests  12 passed (12)');
    expect(screen).toContain('$0.0200');
    expect(screen).not.toContain('"type"');
    expect(screen).not.toContain('{"');
  });

  it('reads the rate-limit event with its reset time', () => {
    const limit = entries('claude', 'claude-rate-limit.ndjson').find((e) => e.kind === 'rate_limit');
    expect(limit).toEqual({
      kind: 'rate_limit',
      status: 'rejected',
      resetsAt: new Date(1778565600 * 1000).toISOString(),
      limitType: 'five_hour',
    });
    expect(run('claude', sample('claude-rate-limit.ndjson')).screen).toMatch(
      /rate limit rejected \(five_hour\)/,
    );
    // The routine "allowed" report after a turn shows nothing (it must not read as a rate limit later).
    const allowed = {
      type: 'rate_limit_event',
      rate_limit_info: { status: 'allowed', resetsAt: 1784283600 },
    };
    expect(renderEntries(STREAM_PARSERS.claude(allowed)?.entries ?? [])).toBe('');
    const warning = {
      ...allowed,
      rate_limit_info: { status: 'allowed_warning', rateLimitType: 'seven_day' },
    };
    expect(renderEntries(STREAM_PARSERS.claude(warning)?.entries ?? [])).toContain(
      'usage warning (seven_day)',
    );
  });
});

describe('Codex exec --json', () => {
  it("yields the documented sample's reasoning, command, output and message, with the turn's tokens", () => {
    const kinds = entries('codex', 'codex-basic.ndjson').map((e) => e.kind);
    expect(kinds).toEqual(['system', 'reasoning', 'tool_call', 'tool_result', 'reasoning', 'message']);
    const { usage, screen } = run('codex', sample('codex-basic.ndjson'), 13);
    expect(usage).toEqual({
      inputTokens: 24763,
      outputTokens: 122,
      cachedInputTokens: 24448,
      cacheWriteTokens: 0,
      costUsd: null,
      model: null,
    });
    expect(screen).toContain('▸ shell bash -lc ls');
    expect(screen).toContain('README.md');
    expect(screen).toContain('there’s a `README.md` in the repository root.');
    expect(screen).not.toContain('"type"');
  });
});

describe('line decoder', () => {
  it('passes plain text through at once and holds a JSON line until its newline', () => {
    const d = new LineDecoder();
    expect(d.push(Buffer.from('Error: no'))).toEqual([{ text: Buffer.from('Error: no') }]);
    expect(d.push(Buffer.from(' key\r\n{"type":'))).toEqual([{ text: Buffer.from(' key\r\n') }]);
    expect(d.push(Buffer.from('"x"}\r\n'))).toEqual([{ json: { type: 'x' }, raw: '{"type":"x"}' }]);
    expect(d.push(Buffer.from('{not json\r\n'))).toEqual([{ text: Buffer.from('{not json\r\n') }]);
    expect(d.push(Buffer.from('{"a":1}'))).toEqual([]);
    expect(d.flush()).toEqual([{ json: { a: 1 }, raw: '{"a":1}' }]);
  });

  it('renders nothing for an event it does not know', () => {
    expect(STREAM_PARSERS.claude({ type: 'something_new' })).toBeNull();
    expect(renderEntries([])).toBe('');
  });
});
