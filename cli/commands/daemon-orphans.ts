/**
 * `ralph daemon orphans --config <file> [--clean]`: Jobs on the cluster labelled as this daemon's loops that its
 * record does not know (a lost state folder, a copied config). Listed by default; deleted (with their pods,
 * launch files and data claims) only with --clean. Registered as a subcommand of `ralph daemon`.
 */
import type { Argv, CommandModule } from 'yargs';
import { ExitCode, RalphError } from '../../src/errors.js';
import { paint, printJson, println, table } from '../output.js';

export interface DaemonOrphansArgs {
  config?: string;
  clean: boolean;
  json: boolean;
}

export const daemonOrphansCommand: CommandModule<object, DaemonOrphansArgs> = {
  command: 'orphans',
  describe:
    "List (or with --clean delete) the cluster's Jobs labelled as this daemon's loops that it does not know",
  builder: (y: Argv) =>
    y
      .option('config', { type: 'string', describe: 'The daemon configuration file (executor: kubernetes)' })
      .option('clean', {
        type: 'boolean',
        default: false,
        describe: 'Delete them: each Job with its pod, launch ConfigMap and data claim',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print JSON',
      }),
  handler: async (args) => {
    if (args.config === undefined) {
      throw new RalphError('INVALID_OPTION', 'ralph daemon orphans needs --config <file>', {
        exitCode: ExitCode.usage,
      });
    }
    const { loadDaemonConfig } = await import('../../src/daemon/config.js');
    const config = loadDaemonConfig(args.config);
    const executor = config.executor;
    if (executor === undefined || executor.kind !== 'kubernetes') {
      throw new RalphError(
        'INVALID_OPTION',
        `daemon config ${args.config} runs loops as processes: only the kubernetes executor has Jobs`,
        { exitCode: ExitCode.usage },
      );
    }
    const { findOrphans, cleanOrphans } = await import('../../src/daemon/kubernetes/orphans.js');
    const orphans = await findOrphans(config.service, executor);
    const cleaned = args.clean ? await cleanOrphans(config.service, executor, orphans) : [];
    if (args.json) {
      printJson({
        namespace: executor.namespace,
        orphans: orphans.map((o) => ({
          job: o.name,
          task: o.task,
          loop_id: o.loopId,
          status: o.state.status,
          created_at: o.createdAt,
          deleted: cleaned.includes(o.name),
        })),
      });
      return;
    }
    if (orphans.length === 0) {
      println(`no orphaned Jobs of daemon ${config.service} in namespace ${executor.namespace}`);
      return;
    }
    println(
      table(
        ['JOB', 'TASK', 'LOOP', 'STATUS', 'CREATED', args.clean ? 'DELETED' : ''].filter((h) => h !== ''),
        orphans.map((o) => [
          o.name,
          o.task,
          String(o.loopId),
          o.state.status,
          o.createdAt ?? '-',
          ...(args.clean ? [cleaned.includes(o.name) ? paint.green('yes') : 'gone already'] : []),
        ]),
      ),
    );
    if (!args.clean) println(paint.dim('delete them with: ralph daemon orphans --config <file> --clean'));
  },
};
