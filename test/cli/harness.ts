/**
 * A sandbox for running the built `ralph` binary: a temporary folder holding RALPH_HOME, TMPDIR and task
 * folders; commands run through execa (plain pipes) or a real PTY. `dispose` kills whatever runner or agent a
 * test left behind (by pid, found in the sandbox's own registry) and removes the folder. Every wait is bounded.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ralphPaths, sessionDir, type RalphPaths } from '../../src/config/paths.js';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
import { isAlive, processStartTime } from '../../src/util/proc.js';
import { afterAll, beforeAll } from 'vitest';
import { CLI_MAIN, ROOT, ensureCliBuilt } from './built.js';
import { Term } from './term.js';
import { waitFor } from '../support/wait.js';
import { prdJson } from '../support/prd.js';

export { waitFor };

export const FAKE_AGENT = join(ROOT, 'test', 'fixtures', 'fake-agent.mjs');

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface TaskFolder {
  dir: string;
  name: string;
  scriptFile: string;
  /** The --agent-cmd template that runs the fake agent with this task's script. */
  agentCmd: string;
}

/** Fake agent script: steps for every iteration, or per-iteration lists with a fallback (fake-agent.mjs). */
export type Script = unknown[] | { iterations?: unknown[][]; steps?: unknown[] };

/** Pids of every process below `pid` (children, grandchildren, ...), read from /proc. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // the process ended while the list was read
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && found.length < 1000) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** The session id (field 6 of /proc/<pid>/stat) of a process. */
export function sessionIdOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

/** The arguments of `ralph start` on a task folder with its fake agent, then `extra`. */
export function startArgs(task: TaskFolder, extra: string[] = []): string[] {
  return ['start', task.dir, '--agent', 'custom', '--agent-cmd', task.agentCmd, ...extra];
}

export class CliSandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'rcli-'));
  readonly home = join(this.root, 'home');
  readonly paths: RalphPaths = ralphPaths({ RALPH_HOME: this.home });
  readonly env: NodeJS.ProcessEnv;
  private readonly cleanups: (() => unknown)[] = [];

  constructor() {
    const tmp = join(this.root, 'tmp');
    mkdirSync(tmp);
    this.env = { ...process.env, RALPH_HOME: this.home, TMPDIR: tmp };
    delete this.env.NO_COLOR;
  }

  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  /** Runs `ralph <args>` with plain pipes; never rejects; killed after `timeoutMs`. */
  async ralph(
    args: string[],
    options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
  ): Promise<CliResult> {
    const result = await execa(process.execPath, [CLI_MAIN, ...args], {
      cwd: options.cwd ?? this.root,
      env: { ...this.env, ...options.env },
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout: options.timeoutMs ?? 30_000,
      stripFinalNewline: false,
    });
    return {
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      timedOut: result.timedOut,
    };
  }

  /** Runs `ralph <args>` under a real PTY; killed at dispose if still running. */
  term(args: string[], options: { cols?: number; rows?: number } = {}): Term {
    return this.spawnTerm(process.execPath, [CLI_MAIN, ...args], options);
  }

  spawnTerm(file: string, args: string[], options: { cols?: number; rows?: number } = {}): Term {
    const term = new Term(file, args, { ...options, cwd: this.root, env: this.env });
    this.defer(() => term.dispose());
    return term;
  }

  makeTask(name: string, options: { stories?: number; script?: Script } = {}): TaskFolder {
    const dir = join(this.root, 'tasks', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'prd.json'), JSON.stringify(prdJson(options.stories ?? 1), null, 2) + '\n');
    writeFileSync(join(dir, 'prompt.md'), '# Fixture prompt\n\nPick the next story and make it pass.\n');
    const scriptFile = join(this.root, `${name}-script.json`);
    writeFileSync(scriptFile, JSON.stringify(options.script ?? [{ print: 'nothing to do' }]));
    const agentCmd = `'${process.execPath}' '${FAKE_AGENT}' --script '${scriptFile}'`;
    return { dir, name, scriptFile, agentCmd };
  }

  /** `ralph start` (detached) with the fake agent; fails the test unless it exits 0. */
  async start(task: TaskFolder, extra: string[] = []): Promise<SessionRecord> {
    const result = await this.ralph(startArgs(task, extra));
    if (result.exitCode !== 0) {
      throw new Error(`ralph start exited ${result.exitCode}:\n${result.stdout}\n${result.stderr}`);
    }
    return this.session(task.name);
  }

  /** The newest registry row of a task, read directly. */
  session(task: string): SessionRecord {
    const newest = this.newestSession(task);
    if (!newest) throw new Error(`no session of ${task} in the registry`);
    return newest;
  }

  private newestSession(task: string): SessionRecord | undefined {
    return this.sessions()
      .filter((s) => s.task === task)
      .sort((a, b) => b.id - a.id)[0];
  }

  sessions(): SessionRecord[] {
    if (!existsSync(this.paths.registryFile)) return [];
    const registry = Registry.open(this.paths.registryFile);
    try {
      return registry.list({ all: true });
    } finally {
      registry.close();
    }
  }

  /** Waits until the task's newest session satisfies `check`. */
  waitForSession(
    task: string,
    check: (s: SessionRecord) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<SessionRecord> {
    return waitFor(
      () => {
        const s = this.sessions().find((row) => row.task === task && check(row));
        return s ?? null;
      },
      what,
      timeoutMs,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${this.describeSession(task)}`);
    });
  }

  /** What a failed wait saw: the task's newest row, whether its runner lives, the tails of its logs. */
  describeSession(task: string): string {
    const newest = this.newestSession(task);
    if (!newest) return `no session of ${task} in the registry`;
    const { status, iteration, exitReason, pid, updatedAt } = newest;
    const alive = pid === null ? 'no pid' : isAlive(pid) ? `pid ${pid} alive` : `pid ${pid} gone`;
    const lines = [
      `newest ${task} row: ${JSON.stringify({ status, iteration, exitReason, updatedAt })}, ${alive}`,
    ];
    const dir = this.sessionDir(newest);
    for (const name of ['runner.log', 'output.log']) {
      const file = join(dir, name);
      if (!existsSync(file)) continue;
      const text = readFileSync(file, 'utf8');
      lines.push(`--- last of ${name} (${text.length} bytes) ---`, text.slice(-1500));
    }
    return lines.join('\n');
  }

  sessionDir(session: SessionRecord): string {
    return sessionDir(this.paths, session);
  }

  async dispose(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn();
    // A runner is ours only while its pid still has the start time the registry recorded (pids are reused).
    const runners = this.sessions()
      .filter((s) => s.pid !== null && s.pid !== process.pid && s.pidStartTime !== null)
      .filter((s) => processStartTime(s.pid!) === s.pidStartTime)
      .map((s) => s.pid!);
    const all = [...runners, ...runners.flatMap(descendants)];
    for (const pid of all) killQuietly(pid);
    await waitFor(() => all.every((pid) => !isAlive(pid)), 'left-over processes to die', 5000).catch(
      () => undefined,
    );
    rmSync(this.root, { recursive: true, force: true });
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * One sandbox for a test file: the CLI is built (if needed) before the first test and the sandbox disposed
 * after the last. Returns a getter, since the sandbox exists only once `beforeAll` has run.
 */
export function useCliSandbox(): () => CliSandbox {
  let sandbox: CliSandbox | undefined;
  beforeAll(async () => {
    await ensureCliBuilt();
    sandbox = new CliSandbox();
  });
  afterAll(async () => {
    await sandbox?.dispose();
  });
  return () => {
    if (!sandbox) throw new Error('the CLI sandbox is made in beforeAll; use it inside a test');
    return sandbox;
  };
}
