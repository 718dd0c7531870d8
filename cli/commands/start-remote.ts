/** `ralph start <task-dir> --remote <name>`: push the task's branch to the remote, start the loop there. */
import { RalphError, ExitCode } from '../../src/errors.js';
import { colorStatus, paint, printJson, println } from '../output.js';
import type { StartArgs } from './start.js';

/** Options of a local start the daemon's `start_loop` does not take: refused with --remote rather than dropped. */
const LOCAL_ONLY = [
  'foreground',
  'attach',
  'cwd',
  'model',
  'verify',
  'on-end',
  'output',
  'stream-format',
  'max-cost',
  'max-tokens',
] as const;

export async function startRemoteHandler(args: StartArgs, remote: string): Promise<void> {
  for (const flag of LOCAL_ONLY) {
    const value = args[flag];
    if (value !== undefined && value !== false) {
      throw new RalphError('INVALID_OPTION', `--${flag} is not available with --remote`, {
        exitCode: ExitCode.usage,
        hint: 'with --remote: --agent, --agent-cmd, --name, --max-iterations, --project, --include-uncommitted, --no-install',
      });
    }
  }
  const { startOnRemote } = await import('../../src/client/remote/start-remote.js');
  const { wholeNumber } = await import('../numbers.js');
  const result = await startOnRemote(remote, args['task-dir'], {
    agent: args.agent,
    agentCommand: args['agent-cmd'],
    name: args.name,
    maxIterations: wholeNumber(args['max-iterations'], '--max-iterations'),
    project: args.project,
    includeUncommitted: args['include-uncommitted'],
    noInstall: args.install === false,
    onInstallLine: (agent, line) => process.stderr.write(`${paint.dim(`${agent}:`)} ${line}\n`),
    // git's own progress (objects, bytes) goes to stderr as git writes it.
    onProgress: (chunk) => process.stderr.write(chunk),
  });
  const { session } = result;
  if (args.json) {
    printJson({ ...session, project: result.project, commit: result.commit, snapshot: result.snapshot });
    return;
  }
  const what = result.snapshot ? 'a snapshot of its uncommitted changes' : result.commit.slice(0, 12);
  println(
    `${paint.green('started')} ${paint.bold(`${remote}:${session.task}`)} on ${remote} ` +
      `(${colorStatus(session.status)}, agent ${session.agent}, branch ${result.branch} at ${what})`,
  );
  println(
    paint.dim(
      `watch it: ralph attach ${remote}:${session.task}   list loops: ralph status   ` +
        `bring its commits home: ralph pull ${remote}:${session.task}`,
    ),
  );
}
