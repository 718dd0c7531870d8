/**
 * Verified completion: after an iteration that marks stories passing, the runner runs the acceptance commands
 * itself — each newly passing story's own `verify` (a string or list of strings in its prd.json entry) and the
 * loop's `--verify` commands — in the agent's working folder. A story whose commands fail is set back to
 * failing in prd.json, and the failure output goes to progress.txt for the next iteration to read.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setStoryPasses, type Prd } from './prd.js';
import { writeError } from './disk-full.js';
import { loadExeca } from '../util/load-execa.js';

/** Default limit on one acceptance command. */
export const VERIFY_TIMEOUT_MS = 10 * 60_000;
/** Output kept from one command (more is cut, the end kept); what goes to progress.txt is cut shorter. */
const OUTPUT_CAP_BYTES = 1024 * 1024;
const PROGRESS_TAIL_CHARS = 4000;

export interface VerifyFailure {
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  output: string;
}

export interface VerifyResult {
  /** Stories the agent marked passing in this iteration. */
  checked: string[];
  /** Those set back to failing because a command failed. */
  reverted: string[];
  failures: VerifyFailure[];
}

export interface VerifyInput {
  iteration: number;
  taskDir: string;
  cwd: string;
  before: Prd;
  after: Prd;
  /** The loop's own acceptance commands, run for every newly passing story. */
  commands: readonly string[];
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

/** A story's `verify` field, read from the raw file so every prd.json schema may carry it. */
export function storyVerifyCommands(prd: Prd, id: string): string[] {
  const raw = prd.raw as { userStories?: Array<Record<string, unknown>> } | null;
  const value = raw?.userStories?.find((s) => s.id === id)?.verify;
  if (typeof value === 'string') return value.trim() === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v.trim() !== '');
  return [];
}

async function runCommand(command: string, input: VerifyInput): Promise<VerifyFailure | null> {
  const execa = await loadExeca();
  const result = await execa(command, {
    shell: true,
    cwd: input.cwd,
    env: { ...input.env, RALPH_TASK_DIR: input.taskDir, RALPH_ITERATION: String(input.iteration) },
    stdin: 'ignore',
    all: true,
    reject: false,
    timeout: input.timeoutMs,
    maxBuffer: OUTPUT_CAP_BYTES,
    forceKillAfterDelay: 2000,
  });
  if (result.exitCode === 0 && !result.timedOut && !result.failed) return null;
  return {
    command,
    exitCode: result.exitCode ?? null,
    timedOut: result.timedOut,
    output: typeof result.all === 'string' ? result.all : '',
  };
}

/**
 * Checks the stories that `after` passes and `before` did not; returns null when there were none or nothing to
 * run. Failing stories are written back as failing before this returns.
 */
export async function verifyNewlyPassing(input: VerifyInput): Promise<VerifyResult | null> {
  const passedBefore = new Set(input.before.stories.filter((s) => s.passes).map((s) => s.id));
  const checked = input.after.stories.filter((s) => s.passes && !passedBefore.has(s.id)).map((s) => s.id);
  if (checked.length === 0) return null;
  const perStory = new Map(checked.map((id) => [id, storyVerifyCommands(input.after, id)]));
  if (input.commands.length === 0 && [...perStory.values()].every((list) => list.length === 0)) return null;

  const failures: VerifyFailure[] = [];
  const reverted = new Set<string>();
  for (const command of input.commands) {
    const failed = await runCommand(command, input);
    if (failed) {
      failures.push(failed);
      for (const id of checked) reverted.add(id);
    }
  }
  for (const [id, commands] of perStory) {
    for (const command of commands) {
      const failed = await runCommand(command, input);
      if (failed) {
        failures.push(failed);
        reverted.add(id);
      }
    }
  }
  const prdFile = join(input.taskDir, 'prd.json');
  for (const id of reverted) setStoryPasses(prdFile, id, false);
  const result = { checked, reverted: [...reverted], failures };
  if (failures.length > 0) appendProgress(input.taskDir, input.iteration, result);
  return result;
}

function tail(text: string): string {
  return text.length <= PROGRESS_TAIL_CHARS ? text : `[... cut ...]\n${text.slice(-PROGRESS_TAIL_CHARS)}`;
}

function appendProgress(taskDir: string, iteration: number, result: VerifyResult): void {
  const file = join(taskDir, 'progress.txt');
  const parts = [
    `\n## Acceptance check failed after iteration ${iteration}`,
    `Set back to failing: ${result.reverted.join(', ')}. Fix what the commands below report.`,
  ];
  for (const f of result.failures) {
    const how = f.timedOut ? 'timed out' : `exit code ${f.exitCode ?? 'none'}`;
    parts.push(`\n$ ${f.command}   (${how})\n${tail(f.output.trimEnd())}`);
  }
  try {
    appendFileSync(file, parts.join('\n') + '\n');
  } catch (err) {
    throw writeError(err, file);
  }
}

/** One line for the loop's log: which stories were set back and which commands failed. */
export function describeVerify(result: VerifyResult): string {
  const commands = result.failures.map((f) => `'${f.command}'`).join(', ');
  return `acceptance check failed (${commands}); set ${result.reverted.join(', ')} back to failing`;
}
