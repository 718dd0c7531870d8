/**
 * A full disk under the session folder: the runner stops the agent, ends the loop `failed` with
 * `disk full: <path>` in the registry (retrying that write when the registry shares the full disk), and leaves
 * whole records behind: output.log holds whole chunks up to the offsets iterations.json names, and
 * iterations.json is a complete earlier version, never a torn one. Runs on a small real tmpfs; skipped with a
 * notice where mounting is not permitted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareLoop } from '../../src/client/start.js';
import { ralphPaths, type RalphPaths } from '../../src/config/paths.js';
import { runLoopProcess } from '../../src/loop/runner-main.js';
import type { IterationRecord, LoopState } from '../../src/loop/types.js';
import { isAlive } from '../../src/util/proc.js';
import { makeTask, Sandbox, waitFor, within, type TaskFolder } from './helpers.js';

let sb: Sandbox;
let mnt: string;
let mounted = false;
let notice = '';

beforeEach(() => {
  sb = new Sandbox();
  mnt = join(sb.root, 'small-disk');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
    mounted = true;
    // Cleanups run last-registered first: this one runs after the loops have ended, before the folder goes.
    sb.defer(() => execFileSync('umount', ['-l', mnt]));
  } catch (err) {
    mounted = false;
    notice = `SKIPPED: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
    console.warn(notice);
  }
});
afterEach(async () => {
  await sb.dispose();
});

/** Fills the disk under `dir` with a file, leaving about `leaveBytes` free. */
function fill(dir: string, leaveBytes: number): string {
  const free = Number(
    execFileSync('df', ['--output=avail', '-B1', dir], { encoding: 'utf8' }).split('\n')[1],
  );
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, free - leaveBytes)));
  return filler;
}

/** Fills what is left of the disk under `dir`, to the last byte it takes. */
function fillUp(dir: string): string {
  const filler = join(dir, 'filler-rest');
  try {
    writeFileSync(filler, Buffer.alloc(1024 * 1024));
  } catch {
    // ENOSPC once it is full: what was written stays.
  }
  return filler;
}

interface Run {
  final: LoopState;
  logs: string[];
  agentPids: number[];
  sessionId: number;
  dir: string;
}

async function runLoop(
  task: TaskFolder,
  paths: RalphPaths,
  registryFile: string,
  beforeRun: (logs: string[]) => void = () => undefined,
  onLog: (line: string) => void = () => undefined,
): Promise<Run> {
  const prepared = await prepareLoop(
    {
      taskDir: task.dir,
      agent: 'custom',
      agentCommand: task.agentCommand,
      maxIterations: 3,
      iterationTimeoutMs: 60_000,
      idleTimeoutMs: 0,
    },
    paths,
  );
  const logs: string[] = [];
  const agentPids: number[] = [];
  beforeRun(logs);
  const done = runLoopProcess(
    { ...prepared.launch, registryFile },
    {
      log: (line) => {
        logs.push(line);
        onLog(line);
      },
      onReady: (runner) =>
        runner.on('state', (changed) => {
          if (typeof changed.agentPid === 'number') agentPids.push(changed.agentPid);
        }),
    },
    paths,
  );
  sb.defer(() => done.catch(() => undefined));
  const final = await within(done, 'the loop to end', 60_000);
  return { final, logs, agentPids, sessionId: prepared.session.id, dir: prepared.launch.dir };
}

function checkFiles(dir: string): void {
  const records = JSON.parse(readFileSync(join(dir, 'iterations.json'), 'utf8')) as IterationRecord[];
  expect(records.length).toBeGreaterThan(0);
  // The iteration the full disk ended is closed: the agent was stopped.
  expect(records.at(-1)).toMatchObject({ outcome: 'stopped' });
  const size = statSync(join(dir, 'output.log')).size;
  for (const r of records) {
    expect(r.startOffset).toBeLessThanOrEqual(size);
    if (r.endOffset !== null) expect(r.endOffset).toBeLessThanOrEqual(size);
  }
  expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
}

const flood = [
  { print: 'FLOOD' },
  { printBytes: { count: 8 * 1024 * 1024, pattern: 'disk-full ' } },
  { hang: true },
];

describe('a full disk', () => {
  it('under the session folder ends the loop failed with the path, the agent stopped', async (ctx) => {
    if (!mounted) return ctx.skip();
    const task = await makeTask(sb, { script: flood });
    const paths: RalphPaths = { ...sb.paths, loopsDir: join(mnt, 'loops') };
    const run = await runLoop(task, paths, sb.paths.registryFile);

    expect(run.final.status).toBe('failed');
    expect(run.final.exitReason).toMatch(new RegExp(`^disk full: ${run.dir}/`));
    expect(sb.registryRow(run.sessionId)).toMatchObject({
      status: 'failed',
      exitReason: run.final.exitReason,
    });
    expect(run.agentPids.length).toBe(1);
    await waitFor(() => !isAlive(run.agentPids[0]!), 'the agent to end', 10_000);
    checkFiles(run.dir);
    console.log(`${run.final.exitReason}; output.log ${statSync(join(run.dir, 'output.log')).size} bytes`);
  });

  it('that also holds the registry: the end is written once space is back', async (ctx) => {
    if (!mounted) return ctx.skip();
    const task = await makeTask(sb, { script: flood });
    const paths = ralphPaths({ RALPH_HOME: join(mnt, 'home') });
    const fillers: string[] = [];
    let freed = false;
    const run = await runLoop(
      task,
      paths,
      paths.registryFile,
      (logs) => {
        fillers.push(fill(mnt, 256 * 1024));
        // Free the space only once the runner has found the registry full and is retrying.
        void waitFor(
          () => logs.some((l) => l.startsWith('registry update failed, retrying')),
          'a retry',
          60_000,
        )
          .then(() => {
            for (const filler of fillers) rmSync(filler, { force: true });
            freed = true;
          })
          .catch(() => undefined);
      },
      (line) => {
        // The output log cuts back the write that failed, which frees what that write had taken; fill that
        // too, before the runner goes on to write its end to the registry (this runs inside its call).
        if (line.startsWith('disk full: ') && fillers.length === 1) fillers.push(fillUp(mnt));
      },
    );

    expect(freed).toBe(true);
    expect(run.final.status).toBe('failed');
    expect(run.final.exitReason).toMatch(/^disk full: /);
    const registry = (await import('../../src/registry/index.js')).Registry.open(paths.registryFile);
    try {
      expect(registry.get(run.sessionId)).toMatchObject({
        status: 'failed',
        exitReason: run.final.exitReason,
      });
    } finally {
      registry.close();
    }
    await waitFor(() => !isAlive(run.agentPids[0]!), 'the agent to end', 10_000);
    checkFiles(run.dir);
    for (const filler of fillers) expect(existsSync(filler)).toBe(false);
    console.log(
      `registry on the full disk: ${run.logs.filter((l) => l.includes('retrying')).length} retries`,
    );
  });
});
