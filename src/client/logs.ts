/**
 * `ralph logs`: a loop's output log. A local session's log is read from its file, live or not; following
 * polls the file and ends when the registry says the loop ended.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ralphPaths, sessionLogDir, type RalphPaths } from '../config/paths.js';
import { RalphError, ExitCode } from '../errors.js';
import { IterationLog } from '../loop/iteration-log.js';
import { bannerLength } from '../loop/marks.js';
import { OutputLog } from '../loop/output-log.js';
import { isTerminal, Registry, type SessionRecord } from '../registry/index.js';
import { findSession } from './find.js';

export interface LogsOptions {
  iteration?: number | undefined;
  follow?: boolean | undefined;
  /** Receives raw bytes in order. */
  write: (chunk: Buffer) => void;
  signal?: AbortSignal | undefined;
}

const CHUNK = 256 * 1024;

export async function readLogs(
  task: string,
  options: LogsOptions,
  paths: RalphPaths = ralphPaths(),
): Promise<SessionRecord> {
  const registry = Registry.open(paths.registryFile);
  try {
    const session = findSession(registry, task);
    if (session.location !== 'local') {
      const { readRemoteLogs } = await import('./remote/remote-logs.js');
      return await readRemoteLogs(session, options);
    }
    const dir = sessionLogDir(paths, session);
    const file = join(dir, 'output.log');
    if (!existsSync(file)) return session;
    let [from, to] = [0, Number.POSITIVE_INFINITY];
    if (options.iteration !== undefined) {
      const record = IterationLog.read(join(dir, 'iterations.json')).find(
        (r) => r.number === options.iteration,
      );
      if (!record) {
        throw new RalphError('NO_SUCH_ITERATION', `loop ${task} has no iteration ${options.iteration}`, {
          exitCode: ExitCode.notFound,
        });
      }
      to = record.endOffset ?? Number.POSITIVE_INFINITY;
      from = record.startOffset + bannerAt(file, record.startOffset, to);
    }
    let offset = from;
    for (;;) {
      const log = OutputLog.open(file);
      try {
        const end = Math.min(log.end, to);
        while (offset < end) {
          const chunk = log.read(offset, Math.min(CHUNK, end - offset));
          if (chunk.length === 0) break;
          options.write(chunk);
          offset += chunk.length;
        }
      } finally {
        log.close();
      }
      if (!options.follow || offset >= to || options.signal?.aborted) return session;
      const now = registry.get(session.id);
      if (!now || isTerminal(now.status)) {
        if (statSync(file).size <= offset) return now ?? session;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    registry.close();
  }
}

/** Bytes of the banner ralph wrote at `offset`, before an iteration's own output (0 when there is none). */
function bannerAt(file: string, offset: number, to: number): number {
  const log = OutputLog.open(file);
  try {
    return bannerLength(log.read(offset, Math.max(0, Math.min(512, log.end - offset, to - offset))));
  } finally {
    log.close();
  }
}
