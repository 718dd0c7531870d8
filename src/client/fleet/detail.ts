/**
 * The detail pane's data for one loop. A running loop answers for itself (`peek` with scrollback,
 * `get_iterations`, `get_stories`), each part on its own timeout so one slow answer does not hide the others.
 * A local loop that has ended is read from its files: the tail of its output log rendered through the same
 * screen model the runner uses, its iteration records and its prd.json.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sessionLogDir, type RalphPaths } from '../../config/paths.js';
import { errorMessage } from '../../errors.js';
import { IterationLog } from '../../loop/iteration-log.js';
import { OutputLog } from '../../loop/output-log.js';
import { loadPrd } from '../../loop/prd.js';
import { toWireIteration, toWireStories } from '../../loop/rpc/wire.js';
import { toWireEntry } from '../../loop/rpc/wire-usage.js';
import { readTranscript } from '../../loop/transcript.js';
import type { WireTranscriptEntry } from '../../protocol/usage-schema.js';
import { Screen } from '../../loop/screen.js';
import { LOOP_DEFAULTS } from '../../loop/types.js';
import type { LoopLink } from './link.js';
import type { DetailTranscript, FleetRow, LoopDetail, ScreenText } from './types.js';

/** How much of an ended loop's log is rendered to show its last screen. */
const TAIL_BYTES = 512 * 1024;
/** The most transcript entries a detail carries (the last ones). */
export const TRANSCRIPT_ENTRIES = 200;

/** The last `TRANSCRIPT_ENTRIES` entries of an iteration's transcript. */
function lastEntries(iteration: number, format: string, entries: WireTranscriptEntry[]): DetailTranscript {
  const omitted = Math.max(0, entries.length - TRANSCRIPT_ENTRIES);
  return { iteration, format, entries: entries.slice(omitted), omitted };
}

export interface DetailOptions {
  /** Also read the last transcript (a file read, by the runner for a live loop): off by default. */
  transcript?: boolean;
}

export async function readDetail(
  row: FleetRow,
  link: LoopLink | null,
  paths: RalphPaths,
  scrollback: number,
  options: DetailOptions = {},
): Promise<LoopDetail> {
  const transcript = options.transcript ?? false;
  if (link) return fromLoop(link, scrollback, transcript);
  if (row.session.location === 'local') return fromFiles(row, paths, scrollback, transcript);
  const reason =
    row.link.state === 'unreachable' || row.link.state === 'lost'
      ? row.link.reason
      : 'the loop has ended; its remote keeps its output';
  return empty('none', [reason]);
}

async function fromLoop(link: LoopLink, scrollback: number, withTranscript: boolean): Promise<LoopDetail> {
  const [screen, iterations, stories] = await Promise.allSettled([
    link.request('peek', { scrollback }),
    link.request('get_iterations'),
    link.request('get_stories'),
  ]);
  const problems: string[] = [];
  const value = <T>(r: PromiseSettledResult<T>, what: string): T | null => {
    if (r.status === 'fulfilled') return r.value;
    problems.push(`${what}: ${errorMessage(r.reason)}`);
    return null;
  };
  const s = value(screen, 'screen');
  const st = value(stories, 'stories');
  const records = value(iterations, 'iterations')?.iterations ?? null;
  let transcript: DetailTranscript | null = null;
  const withStream = withTranscript ? records?.findLast((r) => r.stream) : undefined;
  if (withStream?.stream) {
    try {
      const got = await link.request('get_transcript', { iteration: withStream.number });
      transcript = lastEntries(got.iteration, got.format ?? withStream.stream, got.entries);
    } catch (err) {
      problems.push(`transcript: ${errorMessage(err)}`);
    }
  }
  return {
    source: 'live',
    screen: s && { cols: s.cols, rows: s.rows, lines: s.lines, history: s.history ?? [] },
    iterations: records,
    stories: st?.stories ?? null,
    currentStory: st?.current ?? null,
    transcript,
    problems,
  };
}

async function fromFiles(
  row: FleetRow,
  paths: RalphPaths,
  scrollback: number,
  withTranscript: boolean,
): Promise<LoopDetail> {
  const detail = empty('files', []);
  const dir = sessionLogDir(paths, row.session);
  const attempt = async <T>(what: string, fn: () => T | Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      detail.problems.push(`${what}: ${errorMessage(err)}`);
      return null;
    }
  };
  const records = await attempt('iterations', () => IterationLog.read(join(dir, 'iterations.json')));
  detail.iterations = records?.map(toWireIteration) ?? null;
  const prd = await attempt('stories', () => loadPrd(join(row.session.taskDir, 'prd.json')));
  if (prd) {
    const { stories, current } = toWireStories(prd);
    detail.stories = stories;
    detail.currentStory = current;
  }
  const withStream = withTranscript ? records?.findLast((r) => r.stream) : undefined;
  if (withStream?.stream) {
    const format = withStream.stream;
    const entries = await attempt('transcript', () => readTranscript(dir, withStream.number, format) ?? []);
    if (entries) detail.transcript = lastEntries(withStream.number, format, entries.map(toWireEntry));
  }
  const from = records?.at(-1)?.startOffset ?? 0;
  detail.screen = await attempt('screen', () => renderLogTail(join(dir, 'output.log'), from, scrollback));
  return detail;
}

async function renderLogTail(file: string, from: number, scrollback: number): Promise<ScreenText | null> {
  if (!existsSync(file)) return null;
  const log = OutputLog.open(file);
  let bytes: Buffer;
  try {
    const start = Math.max(from, log.end - TAIL_BYTES);
    bytes = log.read(start, log.end - start);
  } finally {
    log.close();
  }
  const screen = new Screen(LOOP_DEFAULTS.cols, LOOP_DEFAULTS.rows);
  try {
    screen.write(bytes);
    await screen.flush();
    const shot = screen.snapshot(scrollback);
    return { cols: shot.cols, rows: shot.rows, lines: shot.lines, history: shot.history };
  } finally {
    screen.dispose();
  }
}

function empty(source: LoopDetail['source'], problems: string[]): LoopDetail {
  return {
    source,
    screen: null,
    iterations: null,
    stories: null,
    currentStory: null,
    transcript: null,
    problems,
  };
}
