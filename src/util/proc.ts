/**
 * Process identity checks. A pid alone is not an identity: the kernel reuses pids. On Linux a process's start
 * time (field 22 of /proc/<pid>/stat, clock ticks since boot) together with its pid names it uniquely. Where
 * /proc is missing (macOS, BSD), start times are unknown and only liveness is checked.
 */
import { existsSync, readFileSync } from 'node:fs';

interface StatFields {
  state: string;
  startTime: string;
}

function isValidPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 0;
}

/**
 * Parses /proc/<pid>/stat text. The second field is the command name in parentheses and may itself contain
 * spaces and ')', so fields are counted from after the LAST ')'. Returns null for text that does not parse.
 */
export function parseProcStat(text: string): StatFields | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  const state = rest[0];
  const startTime = rest[19];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return null;
  return { state, startTime };
}

function readStat(pid: number): StatFields | null {
  if (!isValidPid(pid)) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // No such process, or no /proc on this platform: both mean "start time unknown".
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR') return null;
    throw err;
  }
  return parseProcStat(text);
}

/** The kernel start time of `pid` as a decimal string, or null when unknown (gone, or no /proc). */
export function processStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

/**
 * True when a process with this pid exists (signal 0 succeeds, or fails only with EPERM because it belongs to
 * another user). A zombie — exited but not yet reaped — counts as gone.
 */
export function isAlive(pid: number): boolean {
  if (!isValidPid(pid)) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') return true;
    if (code === 'ESRCH') return false;
    throw err;
  }
  return readStat(pid)?.state !== 'Z';
}

let procfs: boolean | undefined;

/** Whether this platform exposes per-process start times under /proc. */
export function hasProcStartTimes(): boolean {
  procfs ??= existsSync('/proc/self/stat');
  return procfs;
}

/**
 * True when `pid` is alive and is the same process that was recorded with `startTime`. When the recorded start
 * time is null, or the platform has no /proc, liveness alone decides.
 */
export function sameProcess(pid: number, startTime: string | null): boolean {
  if (!isAlive(pid)) return false;
  if (startTime === null || !hasProcStartTimes()) return true;
  // With /proc present, an unreadable stat means the process exited since the liveness check.
  return processStartTime(pid) === startTime;
}
