/**
 * Installing a missing agent CLI on the box from its npm package, into a prefix the daemon's user owns
 * (`npm install --prefix <dataDir>/agents <package>`: no sudo, no global install). npm runs without a shell;
 * its output comes back line by line, each line cut to a length and only so many of them passed on, and the
 * last lines are kept for the error when npm fails.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { errorMessage, RalphError } from '../errors.js';
import { AGENT_NAMES, findOnPath, getAgent } from '../loop/agents/index.js';

/** The environment variable that replaces agent package specs (a JSON object: agent name → npm spec). */
export const AGENT_PACKAGES_VARIABLE = 'RALPH_AGENT_PACKAGES';
/** A progress line longer than this is cut. */
export const MAX_INSTALL_LINE_CHARS = 300;
/** At most this many progress lines are passed on per install; the rest are counted. */
export const MAX_INSTALL_LINES = 200;
/** Lines of npm's output kept for the error of a failed install. */
export const INSTALL_TAIL_LINES = 20;
export const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** The npm package an agent installs from: the one its install command names (`npm install -g <pkg>`). */
export function defaultAgentPackages(): Record<string, string> {
  const table: Record<string, string> = {};
  for (const name of AGENT_NAMES) {
    const match = /^npm install -g (\S+)$/.exec(getAgent(name).installCommand);
    if (match?.[1] !== undefined) table[name] = match[1];
  }
  return table;
}

/**
 * The package table, with `RALPH_AGENT_PACKAGES` (tests and operators: a mirror, a pinned version, a local
 * tarball) replacing entries of known agents.
 */
export function agentPackages(env: NodeJS.ProcessEnv): Record<string, string> {
  const table = defaultAgentPackages();
  const raw = env[AGENT_PACKAGES_VARIABLE];
  if (raw === undefined || raw.trim() === '') return table;
  const bad = (why: string): RalphError =>
    new RalphError('INVALID_OPTION', `${AGENT_PACKAGES_VARIABLE}: ${why}`, {
      hint: `give a JSON object of agent name to npm package spec, e.g. {"claude":"@anthropic-ai/claude-code@2"}`,
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw bad(`not JSON (${errorMessage(err)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('not a JSON object');
  for (const [name, spec] of Object.entries(parsed)) {
    if (!(AGENT_NAMES as string[]).includes(name) || name === 'custom' || name === 'demo') {
      throw bad(`'${name}' is not an installable agent`);
    }
    if (typeof spec !== 'string' || spec === '' || spec.startsWith('-')) {
      throw bad(`the package of '${name}' must be a non-empty string not starting with '-'`);
    }
    table[name] = spec;
  }
  return table;
}

/** The folder whose executables the agents installed under `prefix` are. */
export function agentBinDir(prefix: string): string {
  return join(prefix, 'node_modules', '.bin');
}

export interface InstallOutcome {
  ok: boolean;
  /** Why it failed, in one line. */
  error?: string;
  /** npm's last lines (at most INSTALL_TAIL_LINES). */
  tail: string[];
}

/** Cuts a line of npm's output to what a client is sent: no control characters, bounded length. */
export function clipLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  return plain.length > MAX_INSTALL_LINE_CHARS ? `${plain.slice(0, MAX_INSTALL_LINE_CHARS - 1)}…` : plain;
}

/** The npm beside the node running the daemon, or the one on PATH. */
function npmFor(env: NodeJS.ProcessEnv): string | null {
  return findOnPath(join(dirname(process.execPath), 'npm'), env) ?? findOnPath('npm', env);
}

/** Runs `npm install --prefix <prefix> <spec>`, passing each (clipped, bounded) line of its output on. */
export async function npmInstall(
  prefix: string,
  spec: string,
  env: NodeJS.ProcessEnv,
  onLine: (line: string) => void,
  timeoutMs: number = INSTALL_TIMEOUT_MS,
): Promise<InstallOutcome> {
  const npm = npmFor(env);
  if (npm === null) return { ok: false, error: 'npm is not installed on this box', tail: [] };
  mkdirSync(prefix, { recursive: true, mode: 0o700 });
  const tail: string[] = [];
  let passed = 0;
  let dropped = 0;
  const take = (raw: string): void => {
    const line = clipLine(raw);
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > INSTALL_TAIL_LINES) tail.shift();
    if (passed < MAX_INSTALL_LINES) {
      passed += 1;
      onLine(line);
    } else dropped += 1;
  };
  const child = execa(
    npm,
    [
      'install',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      '--foreground-scripts',
      '--loglevel',
      'http',
      spec,
    ],
    { env, extendEnv: false, reject: false, stdin: 'ignore', timeout: timeoutMs, cwd: prefix },
  );
  const streams = [child.stdout, child.stderr].map(
    (stream) =>
      new Promise<void>((resolve) => {
        const lines = createInterface({ input: stream, crlfDelay: Infinity });
        lines.on('line', take);
        lines.on('close', resolve);
      }),
  );
  const result = await child;
  await Promise.all(streams);
  if (dropped > 0) onLine(`(${dropped} more lines of npm output not shown)`);
  if (result.timedOut) return { ok: false, error: `npm did not finish within ${timeoutMs} ms`, tail };
  if (result.failed) {
    const how = result.signal
      ? `signal ${result.signal}`
      : result.exitCode === undefined
        ? result.shortMessage
        : `exit code ${result.exitCode}`;
    return { ok: false, error: `npm install ${spec} failed (${how})`, tail };
  }
  return { ok: true, tail };
}
