/**
 * Agents run in their machine-readable mode: the fake agent replays recorded Claude Code and Codex streams in a
 * real PTY; the runner keeps the raw stream as NDJSON, parses usage and the transcript, and shows text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gate, makeTask, openGate, ROOT, Sandbox, seenLines, startInProcess, Watcher } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const claudeReplay = (costUsd = 0.02) => ({ replay: { file: 'claude-basic.ndjson', costUsd } });

describe('structured agent output', () => {
  it('shows a Claude Code stream as text, keeps it as NDJSON and reports usage, cost and the transcript', async () => {
    const task = await makeTask(sb, {
      stories: 1,
      script: [claudeReplay(), ...gate('1'), { passStory: 'current' }],
    });
    const loop = await startInProcess(sb, task, { streamFormat: 'claude', maxIterations: 1 });
    const w = await Watcher.open(sb, loop.socketPath);
    await seenLines(loop, 'ECHO:READY');

    // The live screen, as peek (and attach, the TUI) shows it: the agent's words and tools, never JSON.
    const screen = await w.client.request('peek');
    const text = screen.lines.join('\n');
    console.log(`live screen:\n${text.trimEnd()}`);
    expect(text).toContain("I'll start by looking at the failing story.");
    expect(text).toContain('▸ Bash npm test');
    expect(text).toContain('Tests  12 passed (12)');
    expect(text).toMatch(/■ done\s+\$0\.0200 · 23\.3k in \(11\.5k cached\) \/ 112 out/);
    expect(text).toContain('gate 1');
    expect(text).not.toContain('{"');
    expect(text).not.toContain('"type"');

    // While the iteration still runs (the agent waits at its gate), its record carries the usage so far.
    const { iterations } = await w.client.request('get_iterations');
    expect(iterations[0]).toMatchObject({
      stream: 'claude',
      usage: {
        input_tokens: 23279,
        output_tokens: 112,
        cached_input_tokens: 11530,
        cache_write_tokens: 11740,
        cost_usd: 0.02,
        model: 'claude-sonnet-4-5-20250929',
      },
    });
    const transcript = await w.client.request('get_transcript', { iteration: 1 });
    expect(transcript.format).toBe('claude');
    expect(transcript.entries.map((e) => e.kind)).toEqual([
      'system',
      'message',
      'tool_call',
      'tool_result',
      'message',
      'result',
    ]);
    expect(transcript.entries[3]).toMatchObject({ kind: 'tool_result', is_error: false });
    await expect(w.client.request('get_transcript', { iteration: 2 })).rejects.toMatchObject({
      code: 1012,
    });

    await openGate(loop, w.client, 1);
    const final = await loop.finished();
    expect(final.status).toBe('completed');
    expect(loop.iterations[0]?.usage?.costUsd).toBe(0.02);

    // The raw stream survives the runner in the session folder; the output log holds the rendered text only.
    const ndjson = readFileSync(join(loop.dir, 'transcript-1.ndjson'), 'utf8').trim().split('\n');
    expect(ndjson).toHaveLength(6);
    expect(JSON.parse(ndjson[5] as string)).toMatchObject({ type: 'result', total_cost_usd: 0.02 });
    const log = readFileSync(join(loop.dir, 'output.log'), 'utf8');
    expect(log).not.toContain('"type":"assistant"');
    expect(log).toContain('All 12 tests pass. The story is done.');
  });

  it('reads a Codex stream: tokens without a cost', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ replay: { file: 'codex-basic.ndjson' } }] });
    const loop = await startInProcess(sb, task, { streamFormat: 'codex', maxIterations: 1 });
    await loop.finished();
    expect(loop.iterations[0]?.usage).toEqual({
      inputTokens: 24763,
      outputTokens: 122,
      cachedInputTokens: 24448,
      cacheWriteTokens: 0,
      costUsd: null,
      model: null,
    });
    const log = readFileSync(join(loop.dir, 'output.log'), 'utf8');
    expect(log).toContain('there’s a `README.md` in the repository root.');
    expect(log).not.toContain('"type":"item.completed"');
  });

  it('keeps plain text mode: the same stream passes through untouched and nothing is parsed', async () => {
    const task = await makeTask(sb, { stories: 1, script: [claudeReplay()] });
    const loop = await startInProcess(sb, task, { streamFormat: 'claude', output: 'text', maxIterations: 1 });
    await loop.finished();
    expect(loop.iterations[0]?.usage ?? null).toBeNull();
    expect(loop.iterations[0]?.stream ?? null).toBeNull();
    expect(readFileSync(join(loop.dir, 'output.log'), 'utf8')).toContain('"total_cost_usd":0.02');
    expect(existsSync(join(loop.dir, 'transcript-1.ndjson'))).toBe(false);
  });
});

describe('budgets', () => {
  it('ends the loop budget_exceeded after the third $0.02 iteration with --max-cost 0.05', async () => {
    const task = await makeTask(sb, { stories: 1, script: [claudeReplay(0.02)] });
    const loop = await startInProcess(sb, task, {
      streamFormat: 'claude',
      maxCostUsd: 0.05,
      maxIterations: 10,
    });
    const final = await loop.finished();
    expect(final.status).toBe('budget_exceeded');
    expect(loop.iterations.map((r) => r.usage?.costUsd)).toEqual([0.02, 0.02, 0.02]);
    expect(final.exitReason).toBe('cost budget passed: $0.0600 spent, limit $0.0500');
    expect(sb.registryRow(loop.session.id)).toMatchObject({ status: 'budget_exceeded' });
  });

  it('ends budget_exceeded, not stalled, when the budget passes in an iteration the agent ended itself', async () => {
    // The result line comes without its newline, so it is read as the agent exits: too late to stop the agent
    // (the iteration ends no_progress), in the very iteration the stall watch counts as the last straw.
    const lines = readFileSync(join(ROOT, 'test', 'fixtures', 'streams', 'claude-basic.ndjson'), 'utf8')
      .trim()
      .split('\n');
    const result = { ...(JSON.parse(lines.at(-1)!) as object), total_cost_usd: 0.06 };
    const task = await makeTask(sb, {
      stories: 1,
      script: [{ print: JSON.stringify(result), newline: false }],
    });
    const loop = await startInProcess(sb, task, {
      streamFormat: 'claude',
      maxCostUsd: 0.05,
      maxIterations: 10,
      stallAfter: 1,
    });
    const final = await loop.finished();
    expect(loop.iterations.map((r) => [r.outcome, r.usage?.costUsd])).toEqual([['no_progress', 0.06]]);
    expect(final.status).toBe('budget_exceeded');
    expect(final.exitReason).toBe('cost budget passed: $0.0600 spent, limit $0.0500');
    expect(sb.registryRow(loop.session.id)).toMatchObject({ status: 'budget_exceeded' });
  });

  it('stops an agent that reported a cost over --max-cost and did not exit', async () => {
    // The agent reports $0.06 in its result line, then would keep running: the runner ends it at once.
    const task = await makeTask(sb, {
      stories: 1,
      script: [claudeReplay(0.06), { print: 'still here' }, { hang: true }],
    });
    const loop = await startInProcess(sb, task, { streamFormat: 'claude', maxCostUsd: 0.05 });
    const final = await loop.finished();
    expect(final.status).toBe('budget_exceeded');
    expect(final.exitReason).toBe('cost budget passed: $0.0600 spent, limit $0.0500');
    expect(loop.iterations).toHaveLength(1);
    expect(loop.iterations[0]).toMatchObject({ outcome: 'stopped', signal: 'SIGTERM' });
    expect(loop.iterations[0]?.note).toBe('stopped: cost budget passed: $0.0600 spent, limit $0.0500');
  });

  it('stops an iteration mid-way once the tokens reported live pass --max-tokens', async () => {
    // 20 rounds of the recorded messages (about 23.4k tokens a round), 50 ms apart, then the agent would hang.
    const task = await makeTask(sb, {
      stories: 1,
      script: [
        { replay: { file: 'claude-basic.ndjson', until: 'result', times: 20, delayMs: 50 } },
        { print: 'SHOULD NOT BE REACHED' },
        { hang: true },
      ],
    });
    const loop = await startInProcess(sb, task, { streamFormat: 'claude', maxTokens: 50_000 });
    const final = await loop.finished();
    expect(final.status).toBe('budget_exceeded');
    const used = Number(
      /^token budget passed: [\d.]+k tokens \((\d+)\) used, limit 50000$/.exec(final.exitReason ?? '')?.[1],
    );
    // Stopped at the first message that passed the cap: over 50000, by less than one message (about 11.8k).
    expect(used).toBeGreaterThan(50_000);
    expect(used).toBeLessThan(50_000 + 11_800);
    expect(loop.iterations).toHaveLength(1);
    const record = loop.iterations[0];
    expect(record).toMatchObject({ outcome: 'stopped', signal: 'SIGTERM' });
    expect(record?.note).toMatch(/^stopped: token budget passed/);
    const log = readFileSync(join(loop.dir, 'output.log'), 'utf8');
    expect(log).not.toContain('SHOULD NOT BE REACHED');
    const lines = readFileSync(join(loop.dir, 'transcript-1.ndjson'), 'utf8').trim().split('\n');
    console.log(`stream lines before the stop: ${lines.length} of ${20 * 5}`);
    expect(lines.length).toBeLessThan(20 * 5);
  });
});
