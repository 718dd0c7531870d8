/** `ralph logs --transcript`: an iteration's transcript, read from a local session's folder. */
import { join } from 'node:path';
import { ralphPaths, sessionLogDir, type RalphPaths } from '../config/paths.js';
import { ExitCode, RalphError } from '../errors.js';
import { IterationLog } from '../loop/iteration-log.js';
import type { TranscriptEntry } from '../loop/stream/index.js';
import { readTranscript } from '../loop/transcript.js';
import type { Usage } from '../loop/usage.js';
import { Registry } from '../registry/index.js';
import { findSession } from './find.js';

export interface TranscriptResult {
  iteration: number;
  format: string;
  entries: TranscriptEntry[];
  usage: Usage | null;
}

/** The transcript of `iteration`, or of the last iteration that has one. */
export function loopTranscript(
  task: string,
  iteration: number | undefined,
  paths: RalphPaths = ralphPaths(),
): TranscriptResult {
  const registry = Registry.open(paths.registryFile);
  let dir: string;
  try {
    const session = findSession(registry, task);
    if (session.location !== 'local') {
      throw new RalphError('UNSUPPORTED_TRANSPORT', 'transcripts of remote loops are not available yet', {
        exitCode: ExitCode.unavailable,
      });
    }
    dir = sessionLogDir(paths, session);
  } finally {
    registry.close();
  }
  const records = IterationLog.read(join(dir, 'iterations.json'));
  const record =
    iteration === undefined ? records.findLast((r) => r.stream) : records.find((r) => r.number === iteration);
  if (!record) {
    const what = iteration === undefined ? 'no iteration with a transcript' : `no iteration ${iteration}`;
    throw new RalphError('NO_SUCH_ITERATION', `loop ${task} has ${what}`, { exitCode: ExitCode.notFound });
  }
  if (!record.stream) {
    throw new RalphError(
      'NO_TRANSCRIPT',
      `iteration ${record.number} of ${task} ran in plain text mode and has no transcript`,
      { exitCode: ExitCode.notFound, hint: `its output: ralph logs ${task} --iteration ${record.number}` },
    );
  }
  const entries = readTranscript(dir, record.number, record.stream) ?? [];
  return { iteration: record.number, format: record.stream, entries, usage: record.usage ?? null };
}
