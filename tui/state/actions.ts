/**
 * What the keys do to loops. Every call goes through the fleet, which bounds it with a timeout; while it is
 * on its way the footer says so, and its answer or error replaces that.
 */
import { resolve } from 'node:path';
import type { Fleet, FleetRow } from '../../src/client/fleet/index.js';
import { errorMessage } from '../../src/errors.js';
import type { Notice, TuiAction } from './types.js';

/** A request to hand the terminal to `ralph attach` and come back afterwards. */
export interface Handoff {
  task: string;
  interactive: boolean;
}

export interface StartRequest {
  folder: string;
  agent: string;
  location: string;
}

export interface TuiActions {
  attach(row: FleetRow, interactive: boolean): void;
  stop(row: FleetRow): Promise<void>;
  togglePause(row: FleetRow): Promise<void>;
  addIterations(row: FleetRow, count: string): Promise<void>;
  start(request: StartRequest): Promise<void>;
  quit(): void;
}

export interface ActionDeps {
  fleet: Fleet;
  dispatch: (action: TuiAction) => void;
  handoff: (request: Handoff) => void;
  exit: () => void;
  /** Starts a local loop; the default is the `ralph start` function. */
  startLocal?: (folder: string, agent: string) => Promise<{ task: string }>;
}

export function makeActions(deps: ActionDeps): TuiActions {
  const { fleet, dispatch } = deps;
  const notice = (kind: Notice['kind'], text: string): void =>
    dispatch({ type: 'notice', notice: { kind, text } });

  /** Runs one call with a pending notice, then shows what came of it. */
  const run = async (pending: string, call: () => Promise<string>): Promise<void> => {
    notice('pending', pending);
    try {
      notice('info', await call());
    } catch (err) {
      notice('error', errorMessage(err));
    }
  };

  return {
    attach(row, interactive) {
      if (row.link.state !== 'live') {
        const why =
          row.link.state === 'ended'
            ? `${row.task} has ended (${row.status}); its last screen is in the detail pane`
            : `${row.task} cannot be reached${'reason' in row.link ? `: ${row.link.reason}` : ''}`;
        notice('error', why);
        return;
      }
      if (interactive && row.writer) {
        notice('error', `the keyboard of ${row.task} is held by ${row.writer}`);
        return;
      }
      deps.handoff({ task: row.task, interactive });
    },
    stop: (row) =>
      run(`stopping ${row.task}…`, async () => {
        await fleet.request(row, 'stop');
        return `stop requested for ${row.task}`;
      }),
    togglePause: (row) =>
      row.paused
        ? run(`resuming ${row.task}…`, async () => {
            await fleet.request(row, 'resume');
            return `${row.task} resumed`;
          })
        : run(`pausing ${row.task}…`, async () => {
            await fleet.request(row, 'pause');
            return `${row.task} paused`;
          }),
    async addIterations(row, text) {
      const count = Number(text.trim());
      if (!Number.isInteger(count) || count < 1 || count > 10_000) {
        notice(
          'error',
          `iterations to add must be a whole number from 1 to 10000, got ${JSON.stringify(text)}`,
        );
        return;
      }
      await run(`adding ${count} iterations to ${row.task}…`, async () => {
        const { max_iterations } = await fleet.request(row, 'add_iterations', { count });
        return `${row.task} may now run ${max_iterations} iterations`;
      });
    },
    start: (request) =>
      run(`starting a loop on ${request.folder}…`, async () => {
        if (request.location !== 'local') {
          // On a remote the folder is one in its daemon's workspace, as typed.
          const { startRemoteLoop } = await import('../../src/client/remote/remote-commands.js');
          const session = await startRemoteLoop(
            request.location,
            request.folder,
            { agent: request.agent },
            fleet.paths,
          );
          fleet.refreshSoon();
          dispatch({ type: 'select', key: `${request.location}/${session.task}` });
          return `started ${request.location}:${session.task}`;
        }
        const startLocal = deps.startLocal ?? defaultStartLocal(fleet);
        const { task } = await startLocal(resolve(request.folder), request.agent);
        fleet.refreshSoon();
        dispatch({ type: 'select', key: `local/${task}` });
        return `started ${task}`;
      }),
    quit: deps.exit,
  };
}

function defaultStartLocal(fleet: Fleet): (folder: string, agent: string) => Promise<{ task: string }> {
  return async (folder, agent) => {
    const { startLoop } = await import('../../src/client/start.js');
    const session = await startLoop({ taskDir: folder, agent, readyTimeoutMs: 20_000 }, fleet.paths);
    return { task: session.task };
  };
}
