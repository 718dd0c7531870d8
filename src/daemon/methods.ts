/**
 * The daemon's method table: what a client may call on the daemon's own connection (besides the per-loop
 * methods it forwards by `task`). Same shape as the per-loop table (src/protocol/methods/*), rendered into
 * docs/protocol.md under "Daemon methods".
 */
import { z } from 'zod';
import { boundedString, isoTimestamp, noParams } from '../protocol/schemas.js';
import { defineMethod } from '../protocol/spec.js';
import type { MethodSpec } from '../protocol/spec.js';
import { TASK_NAME_PATTERN } from '../loop/task-name.js';
import { SESSION_STATUSES } from '../registry/types.js';
import { AGENT_NAMES } from '../loop/agents/index.js';
import { GIT_SERVICES } from '../git/project.js';
import { ROLES } from './roles.js';

/** A task name as the daemon accepts it: the same rule as `ralph start --name`. */
export const taskName = z
  .string()
  .regex(TASK_NAME_PATTERN, "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
  .refine((s) => !s.includes('..'), { message: "must not contain '..'" });

const role = z.enum(ROLES);

const sessionStatus = z.enum(SESSION_STATUSES);

export const loopSummary = z.object({
  task: z.string(),
  /** The box's registry id, as a string. */
  loop_id: z.string(),
  status: sessionStatus,
  iteration: z.number().int().min(0),
  max_iterations: z.number().int().min(0),
  agent: z.string(),
  task_dir: z.string(),
  branch: z.string().nullable(),
  current_story: z.string().nullable(),
  started_at: isoTimestamp.nullable(),
  ended_at: isoTimestamp.nullable(),
  exit_reason: z.string().nullable(),
  updated_at: isoTimestamp,
});
export type LoopSummary = z.infer<typeof loopSummary>;

/** The notification method of an agent install's progress lines, sent to the caller of `start_loop`. */
export const AGENT_INSTALL_METHOD = 'agent_install';

/** How `start_loop` deals with a missing agent, for the daemon section of docs/protocol.md. */
export const AGENT_INSTALL_NOTE =
  'A `start_loop` that would be refused anyway (task folder, loop limit, project, branch) is refused before ' +
  'any install. `start_loop` with a known agent that the box lacks first installs it from its npm package into ' +
  "`<dataDir>/agents` (no sudo; `get_agents` names the packages), sending each line of npm's output to " +
  `the caller as an \`${AGENT_INSTALL_METHOD}\` notification \`{agent, line}\` (lines cut to 300 characters, ` +
  'at most 200 per install); one install per agent runs at a time, a second start waits for it. With ' +
  '`no_install: true` it refuses instead. A missing agent, refused or not installable, is `AGENT_NOT_FOUND` ' +
  'whose `data.available` lists the agents the box has (and, after a failed install, `data.install_output` ' +
  "npm's last lines).";

/** The notification method of journal entries sent after `subscribe_events`. */
export const LOOP_EVENT_METHOD = 'loop_event';

const EXAMPLE_LOOP: LoopSummary = {
  task: 'my-feature',
  loop_id: '42',
  status: 'running',
  iteration: 3,
  max_iterations: 50,
  agent: 'claude',
  task_dir: '/home/ralph/work/my-feature',
  branch: 'ralph/my-feature',
  current_story: 'US-002',
  started_at: '2026-01-23T10:00:00.000Z',
  ended_at: null,
  exit_reason: null,
  updated_at: '2026-01-23T10:15:30.123Z',
};

export const daemonMethods = {
  authenticate: defineMethod({
    access: 'read',
    summary:
      'Prove who is calling, on a Ziti connection whose `hello` said `auth: "required"`: the identity ' +
      "certificate chain (PEM, leaf first) and a signature of `ralph-daemon-auth/1\\n<service>\\n<nonce>` with the identity's key. " +
      'A failed proof closes the connection.',
    params: z.strictObject({
      certificate: boundedString(64 * 1024, 1),
      signature: boundedString(4096, 1),
    }),
    result: z.object({ identity: z.string(), role }),
    example: {
      params: { certificate: '-----BEGIN CERTIFICATE-----\n...', signature: 'MEUCIQ...' },
      result: { identity: 'laptop', role: 'control' },
    },
    errors: ['UNAUTHENTICATED', 'FORBIDDEN'],
  }),
  get_health: defineMethod({
    access: 'read',
    summary: 'How the daemon is: version, uptime, loops running and the limit, whether its service is bound.',
    compat: true,
    params: noParams,
    result: z.object({
      hostname: z.string(),
      version: z.string(),
      started_at: isoTimestamp,
      uptime_seconds: z.number().min(0),
      active_loops: z.number().int().min(0),
      max_loops: z.number().int().min(1),
      workspace: z.string(),
      service: z.string(),
      bound: z.boolean(),
      journal_seq: z.number().int().min(0),
    }),
    example: {
      params: {},
      result: {
        hostname: 'vps1',
        version: '0.1.0',
        started_at: '2026-01-23T09:00:00.000Z',
        uptime_seconds: 4530,
        active_loops: 1,
        max_loops: 8,
        workspace: '/home/ralph/work',
        service: 'ralph-vps1',
        bound: true,
        journal_seq: 17,
      },
    },
  }),
  get_agents: defineMethod({
    access: 'read',
    summary:
      'The agent CLIs the box knows, whether each is installed (on the PATH or in `<dataDir>/agents`), where, ' +
      'which version, and the npm package `start_loop` installs it from (answers are reused for 5 s).',
    compat: true,
    params: noParams,
    result: z.object({
      agents: z.array(
        z.object({
          name: z.string(),
          available: z.boolean(),
          path: z.string().nullable(),
          version: z.string().nullable(),
          package: z.string().nullable(),
        }),
      ),
    }),
    example: {
      params: {},
      result: {
        agents: [
          {
            name: 'claude',
            available: true,
            path: '/usr/bin/claude',
            version: '2.0.1',
            package: '@anthropic-ai/claude-code',
          },
        ],
      },
    },
  }),
  list_loops: defineMethod({
    access: 'read',
    summary:
      "Every loop in the box's registry (newest run per task, ended ones included, at most 500), after " +
      'checking that the live ones still run.',
    compat: true,
    params: noParams,
    result: z.object({
      loops: z.array(loopSummary),
      count: z.number().int().min(0),
      journal_seq: z.number().int().min(0),
    }),
    example: { params: {}, result: { loops: [EXAMPLE_LOOP], count: 1, journal_seq: 17 } },
  }),
  start_loop: defineMethod({
    access: 'control',
    summary:
      'Start a loop on a task folder inside the workspace (relative to it, or absolute inside it; no ' +
      '`..`, no symlink out of it), or, with `project`, `branch` and `task_path` instead of `task_dir`, on ' +
      'a pushed branch: the daemon adds a worktree of the branch from `<workspace>/repos/<project>.git` ' +
      '(under `<workspace>/worktrees/<project>/`) and runs the loop in its `task_path` folder, so the ' +
      "agent's commits land on that branch. A branch a live loop works on is refused. The runner is " +
      'detached (its own systemd unit under systemd), so it outlives the daemon.',
    compat: true,
    params: z.strictObject({
      task_dir: boundedString(4096, 1).optional(),
      agent: z.enum(AGENT_NAMES).optional(),
      max_iterations: z.number().int().min(1).max(10000).optional(),
      no_install: z.boolean().optional(),
      name: taskName.optional(),
      agent_command: boundedString(8192, 1).optional(),
      project: boundedString(100, 1).optional(),
      branch: boundedString(255, 1).optional(),
      task_path: boundedString(4096, 1).optional(),
    }),
    result: z.object({
      loop_id: z.string(),
      task: z.string(),
      status: sessionStatus,
      task_dir: z.string(),
      branch: z.string().nullable().optional(),
      worktree: z.string().nullable().optional(),
    }),
    example: {
      params: { task_dir: 'my-feature', agent: 'claude', max_iterations: 50 },
      result: {
        loop_id: '42',
        task: 'my-feature',
        status: 'running',
        task_dir: '/home/ralph/work/my-feature',
      },
    },
    errors: [
      'AGENT_NOT_FOUND',
      'MAX_LOOPS_EXCEEDED',
      'TASK_EXISTS',
      'INVALID_TASK',
      'DISK_FULL',
      'GIT_ERROR',
      'BRANCH_NOT_FOUND',
      'BRANCH_IN_USE',
      'PROJECT_NOT_FOUND',
    ],
  }),
  stop_loop: defineMethod({
    access: 'control',
    summary: 'Ask a loop to stop (`force`: kill its agent at once) and wait, up to 15 s, until it has ended.',
    compat: true,
    params: z.strictObject({ task: taskName, force: z.boolean().optional() }),
    result: z.object({ task: z.string(), status: sessionStatus }),
    example: { params: { task: 'my-feature' }, result: { task: 'my-feature', status: 'stopped' } },
    errors: ['LOOP_NOT_FOUND'],
  }),
  subscribe_events: defineMethod({
    access: 'read',
    summary:
      `Replay the event journal after \`since_seq\` (all kept entries without it), then stream new entries, each as a \`${LOOP_EVENT_METHOD}\` ` +
      'notification `{seq, time, type, task, data}`.',
    params: z.strictObject({ since_seq: z.number().int().min(0).optional() }),
    result: z.object({
      seq: z.number().int().min(0),
      replayed: z.number().int().min(0),
      truncated: z.boolean().optional(),
    }),
    example: { params: { since_seq: 12 }, result: { seq: 17, replayed: 5 } },
  }),
  open_loop: defineMethod({
    access: 'read',
    summary:
      "Hand this connection over to one loop's runner: after the response, the bytes flow straight " +
      'between the client and the runner both ways (binary attach frames included), and the client ' +
      'speaks the per-loop protocol. When either side closes, both close. Requests sent before it on the ' +
      'connection are answered first; inside a batch it is refused (`-32600`).',
    params: z.strictObject({ task: taskName }),
    result: z.object({ task: z.string(), loop_id: z.string(), status: sessionStatus }),
    example: {
      params: { task: 'my-feature' },
      result: { task: 'my-feature', loop_id: '42', status: 'running' },
    },
    errors: ['LOOP_NOT_FOUND', 'LOOP_ENDED'],
  }),
  git_connect: defineMethod({
    access: 'read',
    summary:
      'Hand this connection over to git (what `git-remote-ralph` asks for): `git-upload-pack` (fetch, clone; ' +
      'protocol v2) or `git-receive-pack` (push; needs the `control` role) of the bare repository ' +
      '`<workspace>/repos/<project>.git`, which the first push creates. After the response the bytes are ' +
      "git's own, both ways, and the connection ends when git exits. Other services, project names that are " +
      'not one plain segment, ref names git rejects and pushes to a branch a running loop owns are refused.',
    params: z.strictObject({ project: boundedString(200, 1), service: boundedString(64, 1) }),
    result: z.object({
      project: z.string(),
      service: z.enum(GIT_SERVICES),
      created: z.boolean(),
    }),
    example: {
      params: { project: 'my-app', service: 'git-receive-pack' },
      result: { project: 'my-app', service: 'git-receive-pack', created: true },
    },
    errors: ['PROJECT_NOT_FOUND', 'FORBIDDEN'],
  }),
} satisfies Record<string, MethodSpec>;

export type DaemonMethods = typeof daemonMethods;
export type DaemonMethodName = keyof DaemonMethods;
export type DaemonParamsOf<M extends DaemonMethodName> = z.output<DaemonMethods[M]['params']>;
export type DaemonResultOf<M extends DaemonMethodName> = z.output<DaemonMethods[M]['result']>;

export function isDaemonMethodName(name: string): name is DaemonMethodName {
  return Object.hasOwn(daemonMethods, name);
}
