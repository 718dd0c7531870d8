import type { Argv, CommandModule } from 'yargs';
import { RalphError, ExitCode } from '../../src/errors.js';
import { validateTaskName } from '../../src/loop/task-name.js';
import { LOOP_DEFAULTS } from '../../src/loop/defaults.js';
import { checkTimeout } from '../../src/loop/limits.js';
import { isTerminal, type SessionRecord } from '../../src/registry/types.js';
import { colorStatus, parseDuration, paint, printJson, println, terminalOutput } from '../output.js';
import { loopEndExitCode } from '../exit-codes.js';
import { nonNegativeNumber, wholeNumber } from '../numbers.js';

export interface StartArgs {
  'task-dir': string;
  agent: string;
  'agent-cmd'?: string;
  model?: string;
  name?: string;
  cwd?: string;
  'max-iterations': string | number;
  'iteration-timeout': string;
  'idle-timeout': string;
  'max-failures': string | number;
  'trust-promise': boolean;
  'stall-after': string | number;
  verify?: string[];
  'verify-timeout': string;
  'max-duration': string;
  notify: boolean;
  'on-end'?: string;
  output?: string;
  'stream-format'?: string;
  'max-cost'?: string;
  'max-tokens'?: string;
  foreground: boolean;
  attach: boolean;
  json: boolean;
  remote?: string;
  project?: string;
  'include-uncommitted': boolean;
  install?: boolean;
}

export const startCommand: CommandModule<object, StartArgs> = {
  command: 'start <task-dir>',
  describe: 'Start a loop on a task folder (prd.json, prompt.md, progress.txt), in the background',
  builder: (y: Argv) =>
    y
      .positional('task-dir', { type: 'string', demandOption: true, describe: 'The task folder' })
      .option('agent', {
        alias: 'a',
        type: 'string',
        default: 'claude',
        describe: 'Agent CLI: claude, codex, opencode, amp, gemini, custom, demo',
      })
      .option('agent-cmd', {
        type: 'string',
        describe: 'Command template for --agent custom; placeholders {prompt}, {prompt_file}, {task_dir}',
      })
      .option('model', { type: 'string', describe: 'Model name passed to the agent, where it takes one' })
      .option('name', { type: 'string', describe: 'Task name (default: the folder name)' })
      .option('cwd', { type: 'string', describe: 'Folder the agent runs in (default: the task folder)' })
      .option('max-iterations', {
        alias: 'n',
        type: 'string',
        default: LOOP_DEFAULTS.maxIterations,
        describe: 'Stop as exhausted after this many iterations',
      })
      .option('iteration-timeout', {
        type: 'string',
        default: '60m',
        describe: 'Kill an iteration running longer than this (0 = never)',
      })
      .option('idle-timeout', {
        type: 'string',
        default: '15m',
        describe: 'Kill an iteration whose agent prints nothing for this long (0 = never)',
      })
      .option('max-failures', {
        type: 'string',
        default: LOOP_DEFAULTS.maxConsecutiveFailures,
        describe: 'End as failed after this many failed iterations in a row',
      })
      .option('trust-promise', {
        type: 'boolean',
        default: false,
        describe: 'Accept <promise>COMPLETE</promise> even when prd.json still has failing stories',
      })
      .option('stall-after', {
        type: 'string',
        default: 3,
        describe: 'End as stalled after this many iterations that change nothing in the task (0 = never)',
      })
      .option('verify', {
        type: 'string',
        array: true,
        describe:
          'Acceptance command the runner runs after an iteration that marks stories passing (repeatable)',
      })
      .option('verify-timeout', {
        type: 'string',
        default: '10m',
        describe: 'Time limit for each acceptance command',
      })
      .option('max-duration', {
        type: 'string',
        default: '0',
        describe: 'End as budget_exceeded once the loop has run this long, e.g. 8h (0 = no limit)',
      })
      .option('notify', {
        type: 'boolean',
        default: false,
        describe:
          'Desktop notification (notify-send) when the loop ends, waits on a rate limit or needs input',
      })
      .option('on-end', {
        type: 'string',
        describe: 'Shell command run on the same events, with RALPH_STATUS, RALPH_TASK, ... set',
      })
      .option('output', {
        type: 'string',
        choices: ['text', 'json'],
        describe:
          "json (default): the agent's machine-readable mode where it has one (claude, codex), for " +
          'transcripts, tokens, cost and budgets; text: a plain terminal program',
      })
      .option('stream-format', {
        type: 'string',
        describe: 'For --agent custom: the stream format its command prints (claude, codex)',
      })
      .option('max-cost', {
        type: 'string',
        describe: 'End the loop budget_exceeded once the reported cost passes this many US dollars',
      })
      .option('max-tokens', {
        type: 'string',
        describe: 'End the loop budget_exceeded once input plus output tokens pass this many',
      })
      .option('foreground', { type: 'boolean', default: false, describe: 'Run the loop in this terminal' })
      .option('attach', {
        type: 'boolean',
        default: false,
        describe: 'Attach to the loop once it has started',
      })
      .option('remote', {
        type: 'string',
        describe: 'Run the loop on this remote: push the task branch with git, start it in a worktree there',
      })
      .option('project', {
        type: 'string',
        describe: 'With --remote: the repository on the box (default: this repository folder name)',
      })
      .option('include-uncommitted', {
        type: 'boolean',
        default: false,
        describe: 'With --remote: send uncommitted changes in the task folder as a snapshot commit',
      })
      .option('install', {
        type: 'boolean',
        describe:
          'With --remote: install a missing agent on the remote from npm (--no-install: fail instead)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the registry entry as JSON' }),
  handler: async (args) => {
    if (args.foreground && args.attach) {
      throw new RalphError('INVALID_OPTION', '--foreground and --attach do not go together', {
        exitCode: ExitCode.usage,
        hint: '--foreground runs the loop in this terminal; --attach starts it in the background, then attaches',
      });
    }
    if (args['agent-cmd'] !== undefined && args.agent !== 'custom') {
      throw new RalphError('INVALID_OPTION', `--agent-cmd is for --agent custom, not --agent ${args.agent}`, {
        exitCode: ExitCode.usage,
        hint: `to run your own command, add --agent custom; to run ${args.agent}, leave out --agent-cmd`,
      });
    }
    if (args.remote !== undefined) {
      const { startRemoteHandler } = await import('./start-remote.js');
      return startRemoteHandler(args, args.remote);
    }
    if (args.project !== undefined || args['include-uncommitted'] || args.install !== undefined) {
      throw new RalphError(
        'INVALID_OPTION',
        '--project, --include-uncommitted and --no-install go with --remote',
        {
          exitCode: ExitCode.usage,
        },
      );
    }
    const { startLoop, prepareLoop } = await import('../../src/client/start.js');
    const { ralphPaths } = await import('../../src/config/paths.js');
    const { runLoopProcess } = await import('../../src/loop/runner-main.js');
    const { attachTerminal } = await import('../attach-terminal.js');
    const options = {
      taskDir: args['task-dir'],
      agent: args.agent,
      agentCommand: args['agent-cmd'],
      model: args.model,
      // An explicit --name, even an empty one, is checked; only a missing one falls back to the folder name.
      name: args.name === undefined ? undefined : validateTaskName(args.name),
      cwd: args.cwd,
      maxIterations: wholeNumber(args['max-iterations'], '--max-iterations'),
      iterationTimeoutMs: timeout(args['iteration-timeout'], '--iteration-timeout'),
      idleTimeoutMs: timeout(args['idle-timeout'], '--idle-timeout'),
      maxConsecutiveFailures: wholeNumber(args['max-failures'], '--max-failures'),
      trustPromise: args['trust-promise'],
      stallAfter: wholeNumber(args['stall-after'], '--stall-after', 0),
      verify: args.verify?.filter((c) => c.trim() !== ''),
      verifyTimeoutMs: timeout(args['verify-timeout'], '--verify-timeout'),
      maxDurationMs: timeout(args['max-duration'], '--max-duration'),
      notify: args.notify,
      onEnd: args['on-end'] === '' ? undefined : args['on-end'],
      output: args.output,
      streamFormat: args['stream-format'],
      maxCostUsd:
        args['max-cost'] === undefined ? undefined : nonNegativeNumber(args['max-cost'], '--max-cost'),
      maxTokens:
        args['max-tokens'] === undefined ? undefined : wholeNumber(args['max-tokens'], '--max-tokens'),
      cols: process.stdout.columns || undefined,
      rows: process.stdout.rows || undefined,
    };
    if (args.foreground) {
      const prepared = await prepareLoop(options);
      const output = terminalOutput();
      const final = await runLoopProcess(
        prepared.launch,
        { onReady: (runner) => runner.on('pty', (_offset, chunk) => output.write(chunk)) },
        ralphPaths(),
      );
      output.end();
      process.exitCode = loopEndExitCode(final.status);
      return;
    }
    const session = await startLoop(options);
    if (isTerminal(session.status)) {
      // The loop ran and ended before it could be watched: say how, and exit as a loop that ended does.
      if (args.json) printJson(session);
      else println(`${paint.bold(session.task)} ended at once: ${endedText(session)}`);
      process.exitCode = loopEndExitCode(session.status);
      return;
    }
    if (args.json) printJson(session);
    else {
      println(
        `${paint.green('started')} ${paint.bold(session.task)} (runner pid ${session.pid}, agent ${session.agent})`,
      );
      if (!args.attach)
        println(paint.dim(`watch it: ralph attach ${session.task}   list loops: ralph status`));
    }
    if (args.attach)
      process.exitCode = await attachTerminal(session.task, { readOnly: false, showIfEnded: true });
  },
};

function endedText(session: SessionRecord): string {
  const reason = session.exitReason ? ` (${session.exitReason})` : '';
  return `${colorStatus(session.status)}${reason}`;
}

/** A timeout flag: checked before rounding, so a fraction of a millisecond is refused rather than read as 0. */
function timeout(text: string, flag: string): number {
  return checkTimeout(parseDuration(text, flag), flag);
}
