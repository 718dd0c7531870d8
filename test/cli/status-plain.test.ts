/**
 * `ralph status` in its plain forms runs without yargs (cli/fast-path.ts). The built binary must print
 * exactly what the same request parsed by yargs prints, and every other form must still reach yargs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainStatusArgs } from '../../cli/fast-path.js';
import { Registry } from '../../src/registry/index.js';
import { ensureCliBuilt } from './built.js';
import { CliSandbox } from './harness.js';

let sb: CliSandbox;
const HOUR = 3_600_000;

beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
  const registry = Registry.open(sb.paths.registryFile);
  try {
    const started = (hours: number) => new Date(Date.now() - hours * HOUR).toISOString();
    for (const [task, status, hours] of [
      ['alpha', 'completed', 5],
      ['alpha', 'failed', 4],
      ['beta', 'stopped', 3],
      ['gamma', 'crashed', 2],
    ] as const) {
      registry.create({
        task,
        location: 'local',
        transport: 'unix',
        address: `/nonexistent/${task}.sock`,
        agent: 'custom',
        taskDir: `/nonexistent/${task}`,
        maxIterations: 10,
        status,
        startedAt: started(hours),
        exitReason: `${status} in a test`,
      });
    }
  } finally {
    registry.close();
  }
});
afterAll(async () => {
  await sb.dispose();
});

describe('plain status forms', () => {
  it.each([
    [['status'], ['status', '--json=false']],
    [
      ['status', '--json'],
      ['status', '--json=true'],
    ],
    [
      ['status', '--all'],
      ['status', '--all=true'],
    ],
    [
      ['status', '--all', '--json'],
      ['status', '--json', '--all=true'],
    ],
    [
      ['status', 'alpha', '--all', '--json'],
      ['status', '--all', '--json', '--task', 'alpha'],
    ],
    [
      ['status', 'nothing-here'],
      ['status', '--task=nothing-here'],
    ],
  ])('ralph %j prints what yargs makes of %j', async (plain, parsed) => {
    expect(plainStatusArgs(plain)).toBeDefined();
    expect(plainStatusArgs(parsed)).toBeUndefined();
    const [a, b] = await Promise.all([sb.ralph(plain), sb.ralph(parsed)]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(a).toEqual(b);
    expect(a.stdout.length).toBeGreaterThan(0);
  });

  it('reads the arguments yargs would give the handler', () => {
    expect(plainStatusArgs(['status'])).toMatchObject({ all: false, json: false });
    expect(plainStatusArgs(['status'])?.task).toBeUndefined();
    expect(plainStatusArgs(['status', '--all', 'x', '--json'])).toMatchObject({
      all: true,
      json: true,
      task: 'x',
    });
  });

  it.each([
    [['start', 'x']],
    [['status', '--help']],
    [['status', '--json', '--json']],
    [['status', 'a', 'b']],
    [['status', '--bogus']],
    [['status', '-h']],
    [['status', '--']],
    [['status', '']],
    [[]],
  ])('leaves %j to yargs', (argv) => {
    expect(plainStatusArgs(argv)).toBeUndefined();
  });

  it('an unknown flag is still a one-line usage error', async () => {
    const result = await sb.ralph(['status', '--bogus']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^ralph: .*bogus/);
  });
});
