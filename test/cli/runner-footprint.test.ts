/**
 * What a runner loads, in the built runner: every loop on a box pays each Node built-in module it loads, in
 * memory, for as long as the loop runs. A loop that runs three iterations and ends `stalled` has been through
 * everything the runner does for a loop's life (its socket, the terminal, the registry, the stall check).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/util/proc.js';
import { recordModules } from '../support/loaded-modules.js';
import { ensureCliBuilt } from './built.js';
import { CliSandbox, startArgs, waitFor } from './harness.js';

let sb: CliSandbox;

beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
});
afterAll(async () => {
  await sb.dispose();
});

describe('a runner, over a whole loop', () => {
  it('loads no node:crypto, node:perf_hooks, zod or execa, and reads no time-zone tables (stall check, timers, output gathering, prd.json checks and timestamps do without them)', async () => {
    const task = sb.makeTask('quiet', { script: [{ print: 'looked around, changed nothing' }] });
    const record = recordModules(join(sb.root, 'modules.txt'));
    // Default timeouts: the iteration and idle timers run too. Results unchecked, as a user's runner runs
    // (checking them needs the method table).
    const result = await sb.ralph(startArgs(task), { env: { ...record.env, RALPH_CHECK_RESULTS: '0' } });
    expect(result.exitCode, result.stderr).toBe(0);
    const pid = Number(/runner pid (\d+)/.exec(result.stdout)![1]);
    const ended = await sb.waitForSession(
      'quiet',
      (s) => s.status === 'stalled',
      'the loop to stall',
      30_000,
    );
    expect(ended.iteration).toBe(3);
    await waitFor(() => !isAlive(pid), 'the runner to exit', 10_000);
    const builtins = record.builtins(pid);
    // It did load what a runner needs: its socket and its agent's process.
    expect(builtins).toContain('net');
    expect(builtins).toContain('child_process');
    expect(builtins).not.toContain('crypto');
    expect(builtins).not.toContain('perf_hooks');
    expect(builtins).not.toContain('v8');
    // It read prd.json every iteration and served its socket; no client sent it a request, so it never
    // loaded the protocol's method table, and nothing else loads zod.
    const sources = record.sources(pid);
    expect(sources).toContain('src/loop/prd/shape.ts');
    expect(sources.filter((s) => s.startsWith('node_modules/zod/'))).toEqual([]);
    // The stall check ran git after each iteration without execa, which compiles a Unicode-property regular
    // expression when imported (ICU's property tables); and every timestamp the runner wrote (its log, the
    // registry, the iteration records) was made without Date#toISOString (ICU's time-zone tables).
    expect(sources).toContain('src/loop/stall.ts');
    expect(sources.filter((s) => s.startsWith('node_modules/execa/'))).toEqual([]);
    expect(record.isoStringCalls(pid)).toBe(0);
  });
});
