/**
 * The `ralph` executable runs the plain forms of `ralph status` from a bundle entry of their own
 * (cli/status-entry.ts) and every other command line, other forms of status included, from the full one
 * (main.js). Both must behave as one command line: the same listing, the same error lines and exit codes, the
 * same quiet end when the reader goes away.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { Registry } from '../../src/registry/index.js';
import { writeIdentity } from '../remote/identities.js';
import { recordModules } from '../support/loaded-modules.js';
import { CLI_MAIN, ROOT } from './built.js';
import { useCliSandbox } from './harness.js';

const sb = useCliSandbox();
const BIN = join(ROOT, 'dist', 'cli', 'ralph.js');

async function run(entry: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return execa(process.execPath, [entry, ...args], {
    env: { ...sb().env, ...env },
    extendEnv: false,
    reject: false,
    timeout: 30_000,
    stripFinalNewline: false,
  });
}

/** The built entry modules (not chunks) a `ralph` process loaded. */
async function entriesLoaded(args: string[]): Promise<{ entries: string[]; exitCode: number | undefined }> {
  const record = recordModules(join(sb().root, `modules-${args.join('-')}.txt`));
  const r = await run(BIN, args, record.env);
  const entries = record
    .files()
    .map((f) => basename(f))
    .filter((name) => !name.startsWith('chunk-'));
  return { entries, exitCode: r.exitCode };
}

/** A registry of its own for each test (the sandbox is the file's): `rows` loops, every other one running. */
function fill(rows: number): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(sb().paths.registryFile + suffix, { force: true });
  const registry = Registry.open(sb().paths.registryFile);
  try {
    registry.transaction(() => {
      for (let i = 0; i < rows; i++) {
        registry.create({
          task: `task-${String(i).padStart(4, '0')}`,
          location: 'local',
          transport: 'unix',
          address: join(sb().paths.runDir, `task-${i}.sock`),
          agent: 'claude',
          taskDir: `/home/user/projects/p${i}/tasks/task-${i}`,
          maxIterations: 25,
          status: i % 2 === 0 ? 'completed' : 'running',
          // Days ago, so that the AGE column reads the same in two runs a moment apart.
          startedAt: new Date(Date.now() - 3 * 86_400_000).toISOString(),
          exitReason: i % 2 === 0 ? `completed after ${i % 25} iterations` : null,
        });
      }
    });
  } finally {
    registry.close();
  }
}

describe('the ralph executable and `ralph status`', () => {
  it('runs the plain forms without loading the full command line', async () => {
    for (const args of [['status'], ['status', '--json'], ['status', '--all'], ['status', 'one', '--json']]) {
      const { entries, exitCode } = await entriesLoaded(args);
      expect(exitCode, args.join(' ')).toBe(0);
      expect(entries, args.join(' ')).toEqual(['ralph.js', 'status-entry.js']);
    }
  });

  it('hands every other form of status to the full command line, which parses it as before', async () => {
    const loaded = await entriesLoaded(['status', '--remote-timeout', '5s']);
    expect(loaded.exitCode).toBe(0);
    expect(loaded.entries).toContain('main.js');
    const help = await run(BIN, ['status', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('--remote-timeout');
    const bad = await run(BIN, ['status', '--remote-timeout', 'soon']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--remote-timeout: cannot read "soon" as a duration');
    const unknown = await run(BIN, ['status', '--bogus']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('Unknown argument: bogus');
  });

  it('lists exactly what the full command line lists, reconciled rows included', async () => {
    fill(40);
    // The first run reconciles: the 20 running rows have no runner, so they become crashed.
    const first = await run(BIN, ['status', '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as { reconciled: { crashed: number[] } };
    expect(report.reconciled.crashed).toHaveLength(20);
    for (const args of [['status'], ['status', '--all'], ['status', '--json'], ['status', 'task-0007']]) {
      const [viaBin, viaMain] = [await run(BIN, args), await run(CLI_MAIN, args)];
      expect(viaBin.exitCode, viaBin.stderr).toBe(0);
      expect(viaBin.stdout, args.join(' ')).toBe(viaMain.stdout);
      expect(viaBin.stderr).toBe('');
    }
  });

  it('asks a configured remote from the same entry, loading the remote code it needs after it', async () => {
    fill(2);
    // A controller address where nothing listens: the remote is unreachable, quickly.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const identity = await writeIdentity(sb().root, 'down', `https://127.0.0.1:${port}`);
    const added = await run(BIN, [
      'remote',
      'add',
      'down',
      '--identity',
      identity,
      '--service',
      'ralph-down',
    ]);
    expect(added.exitCode, added.stderr).toBe(0);
    const env = { RALPH_REMOTE_TIMEOUT: '2s', RALPH_NO_LINK: '1' };
    const record = recordModules(join(sb().root, 'modules-remote.txt'));
    const r = await run(BIN, ['status', '--json'], { ...env, ...record.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      sessions: unknown[];
      remotes: { name: string; reachable: boolean }[];
    };
    expect(out.sessions).toHaveLength(2);
    expect(out.remotes.map((x) => [x.name, x.reachable])).toEqual([['down', false]]);
    const files = record.files().map((f) => basename(f));
    expect(files.filter((name) => !name.startsWith('chunk-'))).toEqual(['ralph.js', 'status-entry.js']);
    // The direct remote client is not in the entry's file: it came in a chunk of its own.
    expect(files.some((name) => name.startsWith('chunk-'))).toBe(true);
    const plain = await run(BIN, ['status'], env);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/remote down unreachable after \d+ ms/);
    rmSync(join(sb().paths.configDir, 'remotes.json'), { force: true });
  });

  it('reports an error as one line and a hint, with its exit code', async () => {
    fill(1);
    writeFileSync(sb().paths.registryFile, 'not a database, not even close'.repeat(100));
    const [viaBin, viaMain] = [await run(BIN, ['status']), await run(CLI_MAIN, ['status'])];
    expect(viaBin.exitCode).toBe(1);
    expect(viaBin.stderr).toMatch(/^ralph: registry .* is not a usable SQLite database/);
    expect(viaBin.stderr).toContain('ralph creates a fresh registry on the next run');
    expect(viaBin.stdout).toBe('');
    expect([viaBin.exitCode, viaBin.stderr]).toEqual([viaMain.exitCode, viaMain.stderr]);
  });

  it('ends quietly, exit 0, when the reader of a long listing goes away', async () => {
    fill(1000);
    // More than a pipe holds: the writes after `head` exits meet a closed pipe.
    const r = await execa(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${BIN}" status --all --json | head -c 10; echo " exit=\${PIPESTATUS[0]}"`,
      ],
      { env: sb().env, extendEnv: false, reject: false, timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('{\n  "sessi exit=0');
  });
});
