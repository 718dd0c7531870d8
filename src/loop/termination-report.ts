/**
 * A runner in a Kubernetes pod reports how its loop ended in the container's termination message
 * (`RALPH_TERMINATION_LOG`, the pod's `terminationMessagePath`): Kubernetes keeps it in the pod's status, so the
 * daemon learns the end from the cluster even when the pod and its socket are gone.
 */
import { writeFileSync } from 'node:fs';
import type { LoopStatus } from './types.js';

/** Kubernetes keeps at most 4096 bytes of a termination message. */
export const TERMINATION_MESSAGE_MAX = 4096;

export interface EndReport {
  status: LoopStatus;
  exitReason: string | null;
  iteration: number;
}

/** The report as JSON within the size Kubernetes keeps (a long reason is cut, never the JSON). */
export function terminationMessage(report: EndReport): string {
  const encode = (reason: string | null): string =>
    JSON.stringify({ status: report.status, exitReason: reason, iteration: report.iteration });
  const whole = encode(report.exitReason);
  if (Buffer.byteLength(whole) <= TERMINATION_MESSAGE_MAX || report.exitReason === null) return whole;
  const bytes = Buffer.from(report.exitReason);
  const cut = (keep: number): string =>
    encode(
      `${bytes
        .subarray(0, keep)
        .toString('utf8')
        .replace(/\uFFFD$/, '')}…`,
    );
  // Escapes make the JSON longer than the reason's bytes: the longest head of it that fits, by bisection.
  let low = 0;
  let high = Math.min(bytes.length, TERMINATION_MESSAGE_MAX);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (Buffer.byteLength(cut(mid)) <= TERMINATION_MESSAGE_MAX) low = mid;
    else high = mid - 1;
  }
  return cut(low);
}

/** Writes the report to `file` when one is named; a failure to write is returned, never thrown. */
export function writeTerminationReport(file: string | undefined, report: EndReport): Error | null {
  if (file === undefined || file === '') return null;
  try {
    writeFileSync(file, terminationMessage(report));
    return null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
