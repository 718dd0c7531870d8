/**
 * What `ralph status` loads when it finds loops that ended without a word (their runner killed, the machine
 * rebooted): it records them as crashed from what the file system says, without Node's networking code.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../src/registry/index.js';
import type { SessionRecord } from '../../src/registry/index.js';
import { recordModules } from '../support/loaded-modules.js';
import { CLI_MAIN, ensureCliBuilt } from './built.js';
import { CliSandbox } from './harness.js';

let sb: CliSandbox;

beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
  const registry = Registry.open(sb.paths.registryFile);
  try {
    for (const task of ['one', 'two', 'three']) {
      // No pid recorded (a runner killed before it wrote one): only its socket can say whether it lives.
      registry.create({
        task,
        location: 'local',
        transport: 'unix',
        address: join(sb.paths.runDir, `${task}.sock`),
        agent: 'custom',
        taskDir: join(sb.root, task),
        maxIterations: 5,
        status: 'running',
        startedAt: new Date(Date.now() - 3_600_000).toISOString(),
      });
    }
  } finally {
    registry.close();
  }
});
afterAll(async () => {
  await sb.dispose();
});

describe('ralph status over loops whose sockets are gone', () => {
  it('records them crashed, and loads no networking module to find out', () => {
    const record = recordModules(join(sb.root, 'modules.txt'));
    // Output to files, not pipes (execa's and Node's pipes are socket pairs): the recorder's module hooks run
    // on a thread whose output Node forwards to the main thread's stdout and stderr, which on a socket loads
    // the networking code the test looks for.
    const outFile = join(sb.root, 'status.json');
    const errFile = join(sb.root, 'status.err');
    const [out1, err2] = [openSync(outFile, 'w'), openSync(errFile, 'w')];
    try {
      const result = spawnSync(process.execPath, [CLI_MAIN, 'status', '--json'], {
        env: { ...sb.env, ...record.env },
        stdio: ['ignore', out1, err2],
        timeout: 30_000,
      });
      expect(result.status, readFileSync(errFile, 'utf8')).toBe(0);
    } finally {
      closeSync(out1);
      closeSync(err2);
    }
    const out = JSON.parse(readFileSync(outFile, 'utf8')) as {
      sessions: SessionRecord[];
      reconciled: { crashed: unknown[] };
    };
    expect(out.reconciled.crashed).toHaveLength(3);
    expect(out.sessions.map((s) => s.status)).toEqual(['crashed', 'crashed', 'crashed']);
    expect(out.sessions[0]!.exitReason).toMatch(/refuses connections/);
    const builtins = record.builtins();
    expect(builtins).toContain('fs');
    expect(builtins).not.toContain('net');
  });
});
