/** Detached runner processes: a full run watched through the client library, and a runner killed outright. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AttachSession, type AttachEnd } from '../../src/client/attach.js';
import type * as StartSources from '../../src/client/start.js';
import { loopStatus } from '../../src/client/status.js';
import { sessionDir } from '../../src/config/paths.js';
import { isAlive } from '../../src/util/proc.js';
import {
  builtModule,
  childrenOf,
  ensureRunnerBuilt,
  gate,
  makeTask,
  Sandbox,
  sha256,
  waitFor,
  within,
} from './helpers.js';

type StartModule = typeof StartSources;

let sb: Sandbox;
/** From dist/: the sources' start.ts would look for runner-entry.js beside itself, where only .ts exists. */
let startLoop: StartModule['startLoop'];
beforeAll(async () => {
  await ensureRunnerBuilt();
  ({ startLoop } = (await import(builtModule('src/client/start.js'))) as StartModule);
});
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

/** Kills a pid at cleanup if it is still alive (a runner or agent a failed test left behind). */
function reap(pid: number): void {
  sb.defer(() => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
}

describe('a detached runner', () => {
  it('runs to completion while a client attaches, and records the end', async () => {
    const task = await makeTask(sb, {
      stories: 2,
      script: { iterations: [gate('1')], steps: [{ print: 'working' }, { passStory: 'current' }] },
    });
    const session = await startLoop(
      {
        taskDir: task.dir,
        agent: 'custom',
        agentCommand: task.agentCommand,
        maxIterations: 5,
        idleTimeoutMs: 0,
      },
      sb.paths,
    );
    reap(session.pid!);
    expect(session).toMatchObject({
      status: 'running',
      task: task.name,
      location: 'local',
      transport: 'unix',
    });
    expect(session.pid).not.toBe(process.pid);

    const attach = await AttachSession.open(task.name, { from: 'start' }, sb.paths);
    const chunks: Buffer[] = [];
    attach.on('data', (chunk) => chunks.push(chunk));
    const ended = new Promise<AttachEnd>((resolve) => attach.once('end', resolve));
    await waitFor(() => Buffer.concat(chunks).includes('ECHO:READY'), 'the gate');
    expect(await attach.setInteractive(true)).toBe(true);
    expect(await attach.write('go\r')).toEqual({ status: 'forwarded' });
    await waitFor(() => Buffer.concat(chunks).includes('ECHO:DONE'), 'the gate to open');
    expect(await attach.setInteractive(false)).toBe(false);

    const end = await within(ended, 'the attach session to end', 30_000);
    expect(end).toEqual({ kind: 'ended', status: 'completed', reason: 'all stories pass' });
    const log = readFileSync(join(sessionDir(sb.paths, session), 'output.log'));
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(log));

    await waitFor(() => !isAlive(session.pid!), 'the runner to exit');
    const { sessions } = await loopStatus({ task: task.name }, sb.paths);
    expect(sessions[0]).toMatchObject({ id: session.id, status: 'completed', iteration: 3 });
  });

  it('is reported crashed once killed with SIGKILL, and its agent does not outlive it', async () => {
    const task = await makeTask(sb, { stories: 1, script: [{ print: 'hanging' }, { hang: true }] });
    const session = await startLoop(
      {
        taskDir: task.dir,
        agent: 'custom',
        agentCommand: task.agentCommand,
        iterationTimeoutMs: 0,
        idleTimeoutMs: 0,
      },
      sb.paths,
    );
    const runnerPid = session.pid!;
    reap(runnerPid);
    const [agentPid] = await waitFor(() => {
      const kids = childrenOf(runnerPid);
      return kids.length > 0 && kids;
    }, 'the agent process');
    reap(agentPid!);
    await waitFor(
      () => readFileSync(join(sessionDir(sb.paths, session), 'output.log')).includes('hanging'),
      'agent output',
    );

    const before = await loopStatus({ task: task.name }, sb.paths);
    expect(before.sessions[0]).toMatchObject({ status: 'running', pid: runnerPid });
    expect(before.reconciled.alive.map((s) => s.id)).toContain(session.id);

    process.kill(runnerPid, 'SIGKILL');
    await waitFor(() => !isAlive(runnerPid), 'the runner to die');
    const after = await loopStatus({ task: task.name }, sb.paths);
    expect(after.sessions[0]).toMatchObject({
      id: session.id,
      status: 'crashed',
      exitReason: `runner process ${runnerPid} is gone`,
    });
    expect(after.reconciled.crashed.map((s) => s.id)).toEqual([session.id]);
    // The terminal went away with the runner: the agent got SIGHUP.
    await waitFor(() => !isAlive(agentPid!), 'the orphaned agent to exit');
  });
});
