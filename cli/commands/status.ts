import type { Argv, CommandModule } from 'yargs';
import type { Usage } from '../../src/loop/usage.js';
import { formatCost, formatTokens, totalTokens } from '../../src/loop/usage.js';
import type { SessionRecord } from '../../src/registry/index.js';
import { colorStatus, formatAge, paint, parseDuration, printJson, println, table } from '../output.js';

interface StatusArgs {
  task?: string;
  all: boolean;
  json: boolean;
  'remote-timeout'?: string;
  link?: boolean;
}

/** Overrides the default wait for each remote (3 s), like --remote-timeout. */
export const REMOTE_TIMEOUT_ENV = 'RALPH_REMOTE_TIMEOUT';

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status [task]',
  describe: 'List loops (reconciling entries whose runner is gone)',
  builder: (y: Argv) =>
    y
      .positional('task', { type: 'string', describe: 'Only this task' })
      .option('all', {
        type: 'boolean',
        default: false,
        describe: 'Every session, not only the newest per task',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' })
      .option('remote-timeout', {
        type: 'string',
        describe: `How long each remote may take to answer (default 3s; env ${REMOTE_TIMEOUT_ENV})`,
      })
      .option('link', {
        type: 'boolean',
        describe: 'Ask remotes through the background link (default; --no-link or RALPH_NO_LINK=1: directly)',
      }),
  handler: async (args) => {
    const { loopStatus } = await import('../../src/client/status.js');
    const timeout = args['remote-timeout'] ?? process.env[REMOTE_TIMEOUT_ENV];
    const flag = args['remote-timeout'] === undefined ? REMOTE_TIMEOUT_ENV : '--remote-timeout';
    const { sessions, reconciled, remotes, added } = await loopStatus({
      task: args.task,
      all: args.all,
      remoteTimeoutMs: timeout === undefined || timeout === '' ? undefined : parseDuration(timeout, flag),
      link: args.link,
      // The timeout bounds the command as its user sees it: Node's own start-up counts against it too.
      // (process.uptime() rather than performance.timeOrigin, which loads Node's perf_hooks: ~1 ms.)
      since: Math.floor(Date.now() - process.uptime() * 1000),
    });
    if (args.json) {
      printJson({
        sessions,
        reconciled: {
          crashed: reconciled.crashed.map((s) => s.id),
          lost: reconciled.lost.map((s) => s.id),
          unreachable: reconciled.unreachable.map((s) => s.id),
          added: added.map((s) => s.id),
          survivors: reconciled.survivors.map((v) => ({ id: v.session.id, agentPid: v.pid })),
        },
        remotes,
      });
      return;
    }
    for (const r of remotes) {
      if (!r.reachable)
        println(paint.yellow(`remote ${r.name} unreachable after ${r.ms} ms: ${r.error ?? ''}`));
    }
    for (const s of reconciled.lost) {
      println(
        paint.yellow(
          `marked ${s.remoteName ?? ''}:${s.task} lost: ${s.exitReason ?? 'unknown to its remote'}`,
        ),
      );
    }
    for (const s of reconciled.crashed) {
      println(paint.yellow(`marked ${s.task} crashed: ${s.exitReason ?? 'runner gone'}`));
    }
    for (const { session } of reconciled.survivors) {
      println(paint.dim(`end its agent with: ralph stop ${session.task} --force`));
    }
    if (sessions.length === 0) {
      println(
        args.task ? `no loop named ${args.task}` : 'no loops yet — start one with: ralph start <task-dir>',
      );
      return;
    }
    println(
      table(
        ['TASK', 'WHERE', 'STATUS', 'ITER', 'STORY', 'AGENT', 'COST', 'TOKENS', 'AGE', 'NOTE'],
        sessions.map(row),
      ),
    );
  },
};

function row(s: SessionRecord & { usage: Usage | null }): string[] {
  return [
    s.task,
    s.location === 'local' ? 'local' : (s.remoteName ?? 'remote'),
    s.status === 'waiting' && s.waitingUntil
      ? colorStatus(`waiting until ${clock(s.waitingUntil)}`)
      : colorStatus(s.status),
    `${s.iteration}/${s.maxIterations}`,
    s.currentStory ?? '-',
    s.agent,
    s.usage ? formatCost(s.usage.costUsd) : '-',
    s.usage ? formatTokens(totalTokens(s.usage)) : '-',
    formatAge(s.startedAt ?? s.createdAt),
    note(s),
  ];
}

function note(s: SessionRecord): string {
  if (s.status === 'unreachable') {
    return paint.dim(s.lastSeen ? `last seen ${formatAge(s.lastSeen)} ago` : 'never seen');
  }
  return s.exitReason ? paint.dim(s.exitReason) : '';
}

/** "04:10" (local time); the date too when it is not today. */
/**
 * A time as the user's wall clock reads it: `HH:MM` when it falls on today's local date, else the local
 * date before it (`YYYY-MM-DD HH:MM`), so a resume after midnight is not read as one earlier today.
 */
export function clock(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  const two = (n: number) => String(n).padStart(2, '0');
  const hm = `${two(at.getHours())}:${two(at.getMinutes())}`;
  if (at.toDateString() === now.toDateString()) return hm;
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${hm}`;
}
