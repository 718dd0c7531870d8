/**
 * Fixtures for loop integration tests: a temp RALPH_HOME with task folders, the scriptable fake agent, loops
 * run in this process (the real runner body, socket and registry) and the gate a test opens by typing. Clients
 * (`peers.ts`), /proc and build helpers (`system.ts`) and bounded waits (`wait.ts`) are re-exported from here.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { prepareLoop, type StartOptions } from '../../src/client/start.js';
import { ralphPaths, type RalphPaths } from '../../src/config/paths.js';
import { IterationLog } from '../../src/loop/iteration-log.js';
import { runLoopProcess } from '../../src/loop/runner-main.js';
import type { LoopRunner } from '../../src/loop/runner.js';
import type { IterationRecord, LoopState } from '../../src/loop/types.js';
import { RpcError, type RpcClient } from '../../src/protocol/index.js';
import { errorMessage } from '../../src/errors.js';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
import { waitFor, within } from '../support/wait.js';
import { prdJson } from '../support/prd.js';

export { prdJson };

export { waitFor, within } from '../support/wait.js';
export { RawPeer, Watcher } from './peers.js';
export { builtModule, childrenOf, ensureRunnerBuilt, procStat } from './system.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const FAKE_AGENT = join(ROOT, 'test', 'fixtures', 'fake-agent.mjs');

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A temp folder holding RALPH_HOME and task folders; `dispose` runs registered cleanups, then removes it. */
export class Sandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'rlt-'));
  readonly paths: RalphPaths = ralphPaths({ RALPH_HOME: join(this.root, 'home') });
  private readonly cleanups: (() => unknown)[] = [];

  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async dispose(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn();
    rmSync(this.root, { recursive: true, force: true });
  }

  registryRow(id: number): SessionRecord | undefined {
    const registry = Registry.open(this.paths.registryFile);
    try {
      return registry.get(id);
    } finally {
      registry.close();
    }
  }
}

/** Fake agent steps: an array for every iteration, or per-iteration lists with a fallback. */
export type Script = unknown[] | { iterations?: unknown[][]; steps?: unknown[] };

export interface TaskSpec {
  name?: string;
  stories?: number;
  branchName?: string;
  script?: Script;
  /** Extra words appended to the agent command template (placeholders allowed). */
  extraArgs?: string;
  git?: boolean;
}

export interface TaskFolder {
  dir: string;
  name: string;
  scriptFile: string;
  agentCommand: string;
}

export async function makeTask(sb: Sandbox, spec: TaskSpec = {}): Promise<TaskFolder> {
  const name = spec.name ?? 'fixture-task';
  const dir = join(sb.root, 'tasks', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'prd.json'),
    JSON.stringify(prdJson(spec.stories ?? 1, spec.branchName), null, 2) + '\n',
  );
  writeFileSync(join(dir, 'prompt.md'), '# Fixture prompt\n\nPick the next story and make it pass.\n');
  const scriptFile = join(sb.root, `${name}-script.json`);
  writeFileSync(scriptFile, JSON.stringify(spec.script ?? [{ print: 'nothing to do' }]));
  if (spec.git) {
    const git = (...args: string[]) => execa('git', args, { cwd: dir });
    await git('init', '-q');
    await git(
      '-c',
      'user.email=t@example.com',
      '-c',
      'user.name=t',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'init',
    );
  }
  const extra = spec.extraArgs ? ` ${spec.extraArgs}` : '';
  const agentCommand = `'${process.execPath}' '${FAKE_AGENT}' --script '${scriptFile}'${extra}`;
  return { dir, name, scriptFile, agentCommand };
}

/** The outcomes in a session folder's iterations.json, in order. */
export function iterationOutcomes(sessionDir: string): string[] {
  return IterationLog.read(join(sessionDir, 'iterations.json')).map((r) => r.outcome);
}

export function storyPasses(taskDir: string): boolean[] {
  const prd = JSON.parse(readFileSync(join(taskDir, 'prd.json'), 'utf8')) as {
    userStories: { passes: boolean }[];
  };
  return prd.userStories.map((s) => s.passes);
}

/** A loop running in this process through the same body a detached runner uses. */
export interface LoopHandle {
  runner: LoopRunner;
  session: SessionRecord;
  dir: string;
  socketPath: string;
  done: Promise<LoopState>;
  /** Runner diagnostics, state changes and ended iterations, recorded from before the first iteration. */
  logs: string[];
  states: Partial<LoopState>[];
  iterations: IterationRecord[];
  /** Output lines (ANSI stripped) as the runner split them. */
  lines: string[];
  /** Every agent pid the loop started. */
  agentPids: number[];
  /** Awaits the end of the loop (bounded). */
  finished(timeoutMs?: number): Promise<LoopState>;
}

export async function startInProcess(
  sb: Sandbox,
  task: TaskFolder,
  options: Partial<StartOptions> = {},
): Promise<LoopHandle> {
  const prepared = await prepareLoop(
    {
      taskDir: task.dir,
      agent: 'custom',
      agentCommand: task.agentCommand,
      maxIterations: 5,
      iterationTimeoutMs: 30_000,
      idleTimeoutMs: 0,
      cols: 80,
      rows: 24,
      ...options,
    },
    sb.paths,
  );
  const logs: string[] = [];
  const states: Partial<LoopState>[] = [];
  const iterations: IterationRecord[] = [];
  const agentPids: number[] = [];
  const lines: string[] = [];
  let ready!: (runner: LoopRunner) => void;
  const started = new Promise<LoopRunner>((resolve) => (ready = resolve));
  const done = runLoopProcess(
    prepared.launch,
    {
      log: (line) => logs.push(line),
      validateResults: true,
      onReady: (runner) => {
        runner.on('state', (changed) => {
          states.push(changed);
          if (typeof changed.agentPid === 'number') agentPids.push(changed.agentPid);
        });
        runner.on('iteration', (record) => {
          if (record.outcome !== 'running') iterations.push(record);
        });
        runner.on('line', (line) => lines.push(line));
        ready(runner);
      },
    },
    sb.paths,
  );
  const runner = await within(Promise.race([started, done.then(() => null)]), 'the loop to start');
  if (runner === null) throw new Error(`the loop ended before it was ready: ${logs.join('\n')}`);
  const finished = (timeoutMs = 30_000) => within(done, 'the loop to end', timeoutMs);
  sb.defer(async () => {
    if (!runner.ended) runner.stop(true);
    await finished(15_000);
  });
  return {
    runner,
    session: prepared.session,
    dir: prepared.launch.dir,
    socketPath: prepared.launch.socketPath,
    done,
    logs,
    states,
    iterations,
    lines,
    agentPids,
    finished,
  };
}

/** The RpcError a request is refused with; fails when it succeeds or fails some other way. */
export async function rpcRefusal(call: Promise<unknown>): Promise<RpcError> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof RpcError))
    throw new Error(`expected an RpcError, got ${err === null ? 'a result' : errorMessage(err)}`);
  return err;
}

/** Iteration 1 echoes keystrokes until `quit` + Enter, then exits without progress; iteration 2 passes. */
export const ECHO_SCRIPT = {
  iterations: [[{ print: 'agent ready' }, { echo: { until: 'quit\r', timeoutMs: 30_000 } }]],
  steps: [{ passStory: 'current' }],
};

/** Fake agent steps that block until `go` + Enter is typed: a gate a test opens when it is ready. */
export function gate(label: string): unknown[] {
  return [{ print: `gate ${label}` }, { echo: { until: 'go\r', timeoutMs: 30_000 } }];
}

/** Waits until `count` lines equal `line`. */
export function seenLines(loop: LoopHandle, line: string, count = 1): Promise<true> {
  return waitFor(() => loop.lines.filter((l) => l === line).length >= count, `${count}× output line ${line}`);
}

/** Opens the `n`th gate: takes the keyboard, types `go` + Enter, waits for the echo, gives the keyboard back. */
export async function openGate(loop: LoopHandle, client: RpcClient, n: number): Promise<void> {
  await seenLines(loop, 'ECHO:READY', n);
  await client.request('set_interactive_mode', { enabled: true });
  await client.request('write_pty', { data: 'go\r' });
  await seenLines(loop, 'ECHO:DONE', n);
  await client.request('set_interactive_mode', { enabled: false });
}
