/** Builders for the TUI's tests: fleet rows, loop details and the helpers that read rendered frames. */
import type { FleetRow, LoopDetail } from '../src/client/fleet/index.js';
import type { IterationRecord, StorySummary } from '../src/protocol/index.js';
import type { SessionRecord } from '../src/registry/index.js';

/** A fixed "now" so ages are exact: 2025-01-01T12:00:00Z. */
export const NOW = Date.parse('2025-01-01T12:00:00.000Z');

/** An ISO timestamp `seconds` before NOW. */
export function ago(seconds: number): string {
  return new Date(NOW - seconds * 1000).toISOString();
}

let nextId = 1;

export function makeSession(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const task = overrides.task ?? 'task';
  return {
    id: nextId++,
    task,
    location: 'local',
    transport: 'unix',
    address: `/tmp/ralph-test/${task}.sock`,
    identity: null,
    remoteName: null,
    pid: null,
    pidStartTime: null,
    status: 'running',
    iteration: 1,
    maxIterations: 10,
    currentStory: null,
    agent: 'claude',
    taskDir: `/tmp/ralph-test/${task}`,
    branch: null,
    worktree: null,
    createdAt: ago(600),
    updatedAt: ago(60),
    startedAt: ago(600),
    endedAt: null,
    lastSeen: null,
    exitReason: null,
    waitingUntil: null,
    ...overrides,
  };
}

/** A running local row unless told otherwise; `location` other than 'local' makes it a remote's row. */
export function makeRow(overrides: Partial<FleetRow> & { task: string }): FleetRow {
  const location = overrides.location ?? 'local';
  const remote = location !== 'local';
  const session =
    overrides.session ??
    makeSession({
      task: overrides.task,
      location: remote ? 'remote' : 'local',
      transport: remote ? 'ziti' : 'unix',
      remoteName: remote ? location : null,
      status: overrides.status ?? 'running',
    });
  return {
    key: `${location}/${overrides.task}`,
    location,
    session,
    status: 'running',
    iteration: 1,
    maxIterations: 10,
    currentStory: null,
    agent: 'claude',
    startedAt: ago(600),
    endedAt: null,
    exitReason: null,
    interactive: false,
    paused: false,
    writer: null,
    stories: null,
    lastLine: null,
    usage: null,
    link: { state: 'live' },
    ...overrides,
  };
}

/** An ended local row (its link is 'ended'). */
export function endedRow(
  overrides: Partial<FleetRow> & { task: string; status: FleetRow['status'] },
): FleetRow {
  return makeRow({ link: { state: 'ended' }, endedAt: ago(30), ...overrides });
}

export function makeDetail(overrides: Partial<LoopDetail> = {}): LoopDetail {
  return {
    source: 'live',
    screen: null,
    iterations: null,
    stories: null,
    currentStory: null,
    transcript: null,
    problems: [],
    ...overrides,
  };
}

export function makeScreen(lines: string[], history: string[] = []): NonNullable<LoopDetail['screen']> {
  return { cols: 80, rows: lines.length, lines, history };
}

export function makeIteration(number: number, overrides: Partial<IterationRecord> = {}): IterationRecord {
  return {
    number,
    started_at: '2025-01-01T10:00:00.000Z',
    ended_at: '2025-01-01T10:01:30.000Z',
    exit_code: 0,
    signal: null,
    story_before: 'S1',
    story_after: 'S2',
    outcome: 'story_passed',
    start_offset: 0,
    end_offset: 100,
    ...overrides,
  };
}

export function makeStory(id: string, passes: boolean, title = `story ${id}`): StorySummary {
  return { id, title, priority: 1, passes, depends_on: [] };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** The frame as plain lines. */
export function lines(frame: string | undefined): string[] {
  return stripAnsi(frame ?? '').split('\n');
}

/** The widest line of a frame, in code points (every mark the TUI uses is one column wide). */
export function widest(frame: string | undefined): number {
  return Math.max(0, ...lines(frame).map((line) => [...line].length));
}

/** A foreground colour (SGR 30-39, 90-97, also inside a combined sequence); inverse, bold and dim do not count. */
// eslint-disable-next-line no-control-regex
export const FOREGROUND = /\x1b\[(?:\d+;)*(?:3\d|9[0-7])(?:;\d+)*m/;

/** Polls `check` until it stops throwing, or fails with its last error after `timeoutMs`. */
export async function eventually(check: () => void, timeoutMs = 5000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
