/**
 * Fixtures for loop integration tests: a temp RALPH_HOME with task folders, the scriptable fake agent, loops
 * run in this process (the real runner body, socket and registry), clients that record what they receive, and
 * bounded waits. Every wait has a deadline; nothing here measures time.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { prepareLoop, type StartOptions } from '../../src/client/start.js';
import { ralphPaths, type RalphPaths } from '../../src/config/paths.js';
import { runLoopProcess } from '../../src/loop/runner-main.js';
import type { LoopRunner } from '../../src/loop/runner.js';
import type { IterationRecord, LoopState } from '../../src/loop/types.js';
import { LineDecoder, RpcClient, type WireEvent } from '../../src/protocol/index.js';
import { Registry, type SessionRecord } from '../../src/registry/index.js';
import { dialUnix } from '../../src/transport/unix.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const FAKE_AGENT = join(ROOT, 'test', 'fixtures', 'fake-agent.mjs');

/** Polls `probe` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with `promise`, or rejects naming `what` after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

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

export function prdJson(stories: number, branchName = 'ralph/test-feature'): object {
  return {
    project: 'Fixture',
    branchName,
    description: 'A task folder for loop tests',
    userStories: Array.from({ length: stories }, (_, i) => ({
      id: `US-00${i + 1}`,
      title: `Story ${i + 1}`,
      description: `As a tester, I need story ${i + 1}.`,
      acceptanceCriteria: ['It works'],
      priority: i + 1,
      passes: false,
      notes: '',
    })),
  };
}

export async function makeTask(sb: Sandbox, spec: TaskSpec = {}): Promise<TaskFolder> {
  const name = spec.name ?? 'fixture-task';
  const dir = join(sb.root, 'tasks', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prd.json'), JSON.stringify(prdJson(spec.stories ?? 1, spec.branchName), null, 2) + '\n');
  writeFileSync(join(dir, 'prompt.md'), '# Fixture prompt\n\nPick the next story and make it pass.\n');
  const scriptFile = join(sb.root, `${name}-script.json`);
  writeFileSync(scriptFile, JSON.stringify(spec.script ?? [{ print: 'nothing to do' }]));
  if (spec.git) {
    const git = (...args: string[]) => execa('git', args, { cwd: dir });
    await git('init', '-q');
    await git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'init');
  }
  const extra = spec.extraArgs ? ` ${spec.extraArgs}` : '';
  const agentCommand = `'${process.execPath}' '${FAKE_AGENT}' --script '${scriptFile}'${extra}`;
  return { dir, name, scriptFile, agentCommand };
}

export function storyPasses(taskDir: string): boolean[] {
  const prd = JSON.parse(readFileSync(join(taskDir, 'prd.json'), 'utf8')) as { userStories: { passes: boolean }[] };
  return prd.userStories.map((s) => s.passes);
}

/** A loop running in this process through the same body a detached runner uses. */
export interface LoopHandle {
  runner: LoopRunner;
  session: SessionRecord;
  dir: string;
  socketPath: string;
  done: Promise<LoopState>;
  /** Runner diagnostics, state changes and finished iterations, recorded from before the first iteration. */
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
      onReady: (runner) => {
        runner.on('state', (changed) => {
          states.push(changed);
          if (typeof changed.agentPid === 'number') agentPids.push(changed.agentPid);
        });
        runner.on('iteration', (record) => iterations.push(record));
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

/** A client that records every event: output lines, state changes, and the pty byte stream with its faults. */
export class Watcher {
  readonly events: WireEvent[] = [];
  readonly lines: string[] = [];
  readonly states: Record<string, unknown>[] = [];
  /** Gaps and overlaps seen in the pty stream (there must be none). */
  readonly faults: string[] = [];
  firstOffset: number | null = null;
  nextOffset: number | null = null;
  closed: string | null = null;
  private readonly chunks: Buffer[] = [];

  constructor(readonly client: RpcClient) {
    client.onEvent((event) => this.record(event));
    client.on('close', (reason) => (this.closed = reason));
  }

  static async open(sb: Sandbox, socketPath: string): Promise<Watcher> {
    const client = new RpcClient(await dialUnix(socketPath), { defaultTimeoutMs: 10_000 });
    sb.defer(() => client.close());
    return new Watcher(client);
  }

  /** The pty bytes received, from `firstOffset` on. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  until(check: (w: this) => boolean, what: string, timeoutMs = 15_000): Promise<true> {
    return waitFor(() => check(this), what, timeoutMs);
  }

  private record(event: WireEvent): void {
    this.events.push(event);
    const data = event.data as Record<string, unknown>;
    if (event.type === 'output') this.lines.push(data.line as string);
    if (event.type === 'state_change') this.states.push(data);
    if (event.type !== 'pty') return;
    const offset = data.offset as number;
    const bytes = Buffer.from(data.data as string, 'base64');
    this.firstOffset ??= offset;
    if (this.nextOffset !== null && offset !== this.nextOffset) {
      this.faults.push(`expected offset ${this.nextOffset}, got ${offset}`);
    }
    this.chunks.push(bytes);
    this.nextOffset = offset + bytes.length;
  }
}

/** A peer speaking raw bytes to a socket and reading parsed NDJSON replies. */
export class RawPeer {
  private readonly queue: Record<string, unknown>[] = [];

  private constructor(readonly socket: Socket) {
    const decoder = new LineDecoder({
      maxLineBytes: 64 * 1024 * 1024,
      onLine: (line) => this.queue.push(JSON.parse(line) as Record<string, unknown>),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  static async open(sb: Sandbox, socketPath: string): Promise<RawPeer> {
    const peer = new RawPeer(await dialUnix(socketPath));
    sb.defer(() => peer.socket.destroy());
    return peer;
  }

  /** Writes `text` and returns the next reply. */
  async ask(text: string | Buffer): Promise<Record<string, unknown>> {
    this.socket.write(text);
    return waitFor(() => this.queue.shift(), 'a reply from the loop', 10_000);
  }
}

/** Field 3 (state) and 4 (ppid) of /proc/<pid>/stat, or null when the process is gone. */
export function procStat(pid: number): { state: string; ppid: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]) };
}

/** Pids whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((child) => procStat(child)?.ppid === pid);
}

/** A module of the build in dist/ (`src/client/start.js`), for code that must launch the built runner. */
export function builtModule(path: string): string {
  return pathToFileURL(join(ROOT, 'dist', path)).href;
}

/** The runner's detached entry point lives in dist/: rebuild it when missing or older than its sources. */
export async function ensureRunnerBuilt(): Promise<void> {
  const dirs = ['loop', 'client', 'protocol', 'transport', 'registry', 'config', 'util'];
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const stale = (): string[] =>
    [...dirs.flatMap((d) => sources(join(ROOT, 'src', d))), join(ROOT, 'src', 'errors.ts')].filter((src) => {
      if (src.endsWith('.test.ts')) return false;
      const out = join(ROOT, 'dist', src.slice(ROOT.length + 1).replace(/\.ts$/, '.js'));
      return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
    });
  if (stale().length === 0) return;
  const result = await execa('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, reject: false });
  const left = stale();
  if (left.length > 0) throw new Error(`build left ${left.join(', ')} stale:\n${result.stdout}\n${result.stderr}`);
}
