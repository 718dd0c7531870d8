/** Builds fleet rows from registry entries and what live loops have said. */
import type { Usage } from '../../loop/usage.js';
import type { SessionRecord } from '../../registry/index.js';
import type { FleetRow, LinkHealth, LiveInfo } from './types.js';
import { compareStrings } from '../../util/compare.js';

export function rowKey(session: Pick<SessionRecord, 'task' | 'remoteName'>): string {
  return `${session.remoteName ?? 'local'}/${session.task}`;
}

export function toRow(
  session: SessionRecord,
  live: LiveInfo | undefined,
  link: LinkHealth,
  usage: Usage | null = null,
): FleetRow {
  const s = live?.status ?? {};
  // A loop's own word wins while its connection is open; the registry's once it has ended.
  const fromLoop = link.state === 'live';
  const pick = <T>(loopValue: T | undefined, registryValue: T): T =>
    fromLoop && loopValue !== undefined ? loopValue : registryValue;
  const total = s.stories_total;
  const passing = s.stories_passing;
  return {
    key: rowKey(session),
    task: session.task,
    location: session.remoteName ?? 'local',
    session,
    status: pick(s.status, session.status),
    iteration: pick(s.iteration, session.iteration),
    maxIterations: pick(s.max_iterations, session.maxIterations),
    currentStory: pick(s.current_story, session.currentStory),
    agent: session.agent,
    startedAt: session.startedAt ?? session.createdAt,
    endedAt: session.endedAt,
    exitReason: pick(s.exit_reason, session.exitReason),
    interactive: fromLoop ? (s.interactive_mode ?? false) : session.status === 'interactive',
    paused: fromLoop ? (s.paused ?? false) : session.status === 'paused',
    writer: fromLoop ? (s.writer ?? null) : null,
    stories: total !== undefined && passing !== undefined ? { total, passing } : null,
    lastLine: live?.lastLine ?? null,
    usage: usage && {
      tokens: usage.inputTokens + usage.outputTokens + usage.cachedInputTokens + usage.cacheWriteTokens,
      costUsd: usage.costUsd,
    },
    link,
  };
}

/**
 * Running loops first, newest first, then ended ones, most recently ended first. Keys are stable while a loop
 * runs, so rows do not jump about as their loops report progress.
 */
export function sortRows(rows: FleetRow[]): FleetRow[] {
  const ended = (r: FleetRow): boolean => r.link.state === 'ended';
  const when = (r: FleetRow): string => (ended(r) ? (r.endedAt ?? r.session.updatedAt) : r.session.createdAt);
  return rows.sort((a, b) => {
    if (ended(a) !== ended(b)) return ended(a) ? 1 : -1;
    return compareStrings(when(b), when(a)) || compareStrings(a.key, b.key);
  });
}
