/**
 * `ralph daemon audit`: who called the daemon, one line per request. Registered as a subcommand of
 * `ralph daemon` (cli/commands/daemon.ts).
 */
import { existsSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import type { AuditRecord } from '../../src/daemon/audit.js';
import { ExitCode, RalphError } from '../../src/errors.js';
import { paint, parseDuration, printJson, println, table } from '../output.js';

export interface DaemonAuditArgs {
  identity?: string;
  task?: string;
  since?: string;
  file?: string;
  json: boolean;
}

/** `--since`: a duration back from now (`90s`, `15m`, `1h`, `7d`) or an ISO 8601 time. */
export function parseSince(text: string, now = Date.now()): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) {
      throw new RalphError('INVALID_DURATION', `--since: cannot read ${JSON.stringify(text)} as a time`, {
        exitCode: ExitCode.usage,
        hint: 'use a duration such as 15m, 1h, 7d or a time such as 2026-12-06T10:00:00Z',
      });
    }
    return new Date(at);
  }
  return new Date(now - parseDuration(text, '--since'));
}

/** The records as a table for people: time, identity, role, transport, method, task, outcome. */
export function formatAudit(records: AuditRecord[]): string {
  if (records.length === 0) return 'no audit records match';
  const rows = records.map((r) => [
    r.time,
    r.identity ?? '-',
    r.role ?? '-',
    r.transport,
    r.method,
    r.task ?? '-',
    r.outcome === 'ok' ? paint.green('ok') : paint.red(`error ${r.code ?? ''}`.trimEnd()),
  ]);
  return table(['TIME', 'IDENTITY', 'ROLE', 'VIA', 'METHOD', 'TASK', 'OUTCOME'], rows);
}

export const daemonAuditCommand: CommandModule<object, DaemonAuditArgs> = {
  command: 'audit',
  describe: "Show the daemon's audit log: who called which method on which task, and the outcome",
  builder: (y: Argv) =>
    y
      .option('identity', { type: 'string', describe: 'Only requests by this identity (id or local:<uid>)' })
      .option('task', { type: 'string', describe: 'Only requests about this task' })
      .option('since', { type: 'string', describe: 'Only requests since then: 15m, 1h, 7d or an ISO time' })
      .option('file', {
        type: 'string',
        describe: 'The audit log to read (default: <data dir>/daemon/audit.ndjson)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'One JSON array of records' }),
  handler: async (args) => {
    const [{ readAudit, defaultAuditFile }, { ralphPaths }] = await Promise.all([
      import('../../src/daemon/audit.js'),
      import('../../src/config/paths.js'),
    ]);
    const file = args.file ?? defaultAuditFile(ralphPaths());
    if (!existsSync(file) && !existsSync(`${file}.1`)) {
      throw new RalphError('INVALID_OPTION', `no audit log at ${file}`, {
        exitCode: ExitCode.usage,
        hint: 'run this on the box where the daemon runs, or name the log with --file',
      });
    }
    const records = readAudit(file, {
      ...(args.identity === undefined ? {} : { identity: args.identity }),
      ...(args.task === undefined ? {} : { task: args.task }),
      ...(args.since === undefined ? {} : { since: parseSince(args.since) }),
    });
    if (args.json) return printJson(records);
    println(formatAudit(records));
  },
};
