/**
 * What a crashed runner leaves behind in its session folder: an iteration record still open, and perhaps its
 * agent, alive (an agent that ignores SIGHUP outlives a runner killed with SIGKILL). Each iteration record
 * names its agent by pid and kernel start time, so the agent is found, and killed, only while that pid still
 * names the same process: a reused pid is never touched.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime, sameProcess } from '../util/proc.js';
import { IterationLog } from './iteration-log.js';
import type { IterationRecord } from './types.js';
import { isoTime } from '../util/clock.js';

export interface AgentIdentity {
  pid: number;
  startTime: string | null;
}

export interface CrashedSessionFiles {
  /** The iteration record that was open and is now closed as `crashed`, if there was one. */
  closed: IterationRecord | null;
  /** The agent of the last iteration, when it is still the same live process. */
  survivor: AgentIdentity | null;
}

function iterationsFile(dir: string): string {
  return join(dir, 'iterations.json');
}

/** The agent of the session's last iteration, when it still runs (same pid, same start time). */
export function survivingAgent(dir: string): AgentIdentity | null {
  const file = iterationsFile(dir);
  if (!existsSync(file)) return null;
  const last = IterationLog.read(file).at(-1);
  const pid = last?.agentPid ?? null;
  if (last === undefined || pid === null) return null;
  const startTime = last.agentStartTime ?? null;
  // Without a recorded start time the pid alone cannot tell the agent from a stranger: leave it alone.
  if (startTime === null || !sameProcess(pid, startTime)) return null;
  return { pid, startTime };
}

/**
 * Closes the last iteration record of a session whose runner is gone, if it is still open, as `crashed`, and
 * looks for its agent. Safe to run twice: a closed record is left as it is.
 */
export function settleCrashedSession(dir: string, now: Date = new Date()): CrashedSessionFiles {
  const file = iterationsFile(dir);
  if (!existsSync(file)) return { closed: null, survivor: null };
  const log = new IterationLog(file);
  let closed: IterationRecord | null = null;
  const last = log.last();
  if (last !== undefined && last.outcome === 'running') {
    const output = join(dir, 'output.log');
    closed = log.finish({
      endedAt: isoTime(now),
      outcome: 'crashed',
      endOffset: existsSync(output) ? statSync(output).size : null,
      note: 'the runner ended without closing this iteration',
    });
  }
  return { closed, survivor: survivingAgent(dir) };
}

/**
 * Kills (SIGKILL, its whole process group) the agent a crashed session left running, after checking once more
 * that its pid names the recorded process. Returns the agent killed, or null when none was running.
 */
export function killSurvivingAgent(dir: string): AgentIdentity | null {
  const agent = survivingAgent(dir);
  if (agent === null) return null;
  // The agent leads its own process group (its PTY session): the group takes its children too.
  for (const target of [-agent.pid, agent.pid]) {
    if (processStartTime(agent.pid) !== agent.startTime) break;
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // ESRCH: no such group (or already gone); the pid itself is tried next.
    }
  }
  return agent;
}
