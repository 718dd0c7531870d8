/**
 * Every session has a folder of its own, forever: registry ids come back after `prune --keep-logs` (or with a
 * fresh registry), and a new session must never read or append to an old session's records. A runner handed a
 * folder that already holds a session refuses it and says so in the registry.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLogs } from '../../src/client/logs.js';
import { pruneSessions } from '../../src/client/prune.js';
import { prepareLoop } from '../../src/client/start.js';
import { IterationLog } from '../../src/loop/iteration-log.js';
import { runLoopProcess } from '../../src/loop/runner-main.js';
import { readStartFailure } from '../../src/loop/start-failure.js';
import { makeTask, prdJson, Sandbox, startInProcess } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const resetPrd = (dir: string): void =>
  writeFileSync(join(dir, 'prd.json'), JSON.stringify(prdJson(1), null, 2) + '\n');

describe('session folders', () => {
  it('a session after prune --keep-logs gets a new folder even when its id is reused', async () => {
    const task = await makeTask(sb, { script: [{ print: 'RUN' }, { passStory: 'current' }] });
    const first = await startInProcess(sb, task, { maxIterations: 1 });
    expect(await first.finished()).toMatchObject({ status: 'completed', iteration: 1 });
    const firstLog = readFileSync(join(first.dir, 'output.log'));

    expect(pruneSessions({ keepLogs: true }, sb.paths).map((s) => s.id)).toEqual([first.session.id]);
    resetPrd(task.dir);
    const second = await startInProcess(sb, task, { maxIterations: 1 });
    const final = await second.finished();

    // SQLite hands out the pruned id again; the folder differs all the same.
    expect(second.session.id).toBe(first.session.id);
    expect(second.dir).not.toBe(first.dir);
    expect(final).toMatchObject({ status: 'completed', iteration: 1, exitReason: 'all stories pass' });
    expect(IterationLog.read(join(second.dir, 'iterations.json')).map((r) => r.number)).toEqual([1]);
    expect(readFileSync(join(first.dir, 'output.log')).equals(firstLog)).toBe(true);
  });

  it('a session with the registry moved aside gets a new folder', async () => {
    const task = await makeTask(sb, { script: [{ print: 'RUN' }, { passStory: 'current' }] });
    const first = await startInProcess(sb, task, { maxIterations: 1 });
    await first.finished();
    renameSync(sb.paths.registryFile, `${sb.paths.registryFile}.aside`);
    resetPrd(task.dir);
    const second = await startInProcess(sb, task, { maxIterations: 1 });
    expect(second.session.id).toBe(first.session.id);
    expect(second.dir).not.toBe(first.dir);
    expect(await second.finished()).toMatchObject({ status: 'completed', iteration: 1 });
  });

  it('the logs of a session whose folder has the older <task>-<id> name are still read', async () => {
    const task = await makeTask(sb, { script: [{ print: 'OLD NAME' }, { passStory: 'current' }] });
    const loop = await startInProcess(sb, task, { maxIterations: 1 });
    await loop.finished();
    const legacy = join(sb.paths.loopsDir, `${task.name}-${loop.session.id}`);
    renameSync(loop.dir, legacy);
    const chunks: Buffer[] = [];
    await readLogs(task.name, { write: (c) => chunks.push(c) }, sb.paths);
    expect(Buffer.concat(chunks).equals(readFileSync(join(legacy, 'output.log')))).toBe(true);
    expect(Buffer.concat(chunks).toString()).toContain('OLD NAME');
  });

  it('a runner refuses a folder that already holds a session, and the registry says why', async () => {
    const task = await makeTask(sb, { script: [{ print: 'RUN' }, { passStory: 'current' }] });
    const first = await startInProcess(sb, task, { maxIterations: 1 });
    await first.finished();
    const records = readFileSync(join(first.dir, 'iterations.json'));
    const log = readFileSync(join(first.dir, 'output.log'));

    resetPrd(task.dir);
    const prepared = await prepareLoop(
      { taskDir: task.dir, agent: 'custom', agentCommand: task.agentCommand, maxIterations: 1 },
      sb.paths,
    );
    const reused = { ...prepared.launch, dir: first.dir };
    await expect(runLoopProcess(reused, {}, sb.paths)).rejects.toMatchObject({ code: 'SESSION_DIR_IN_USE' });

    const row = sb.registryRow(prepared.session.id);
    expect(row?.status).toBe('failed');
    expect(row?.exitReason).toBe(
      `session folder ${first.dir} already holds a session (${join(first.dir, 'iterations.json')} exists)`,
    );
    expect(readFileSync(join(first.dir, 'iterations.json')).equals(records)).toBe(true);
    expect(readFileSync(join(first.dir, 'output.log')).equals(log)).toBe(true);
    expect(existsSync(prepared.launch.dir)).toBe(true);
  });

  it('a runner whose socket path is taken leaves its error for ralph start before its row says failed', async () => {
    const task = await makeTask(sb, { script: [{ hang: true }] });
    const prepared = await prepareLoop(
      { taskDir: task.dir, agent: 'custom', agentCommand: task.agentCommand, maxIterations: 1 },
      sb.paths,
    );
    mkdirSync(dirname(prepared.launch.socketPath), { recursive: true, mode: 0o700 });
    const squatter = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(prepared.launch.socketPath, resolve));
    sb.defer(() => new Promise((resolve) => squatter.close(resolve)));
    await expect(runLoopProcess(prepared.launch, {}, sb.paths)).rejects.toMatchObject({
      code: 'SOCKET_IN_USE',
    });
    // `ralph start` looks for the error as soon as the row has ended, and the runner process exits after
    // runLoopProcess returns: the error must be in the session folder by the time the row says failed, so the
    // runner leaves it itself, before it writes the row.
    const failure = readStartFailure(prepared.launch.dir);
    expect(failure).toMatchObject({ code: 'SOCKET_IN_USE', exitCode: 4 });
    expect(sb.registryRow(prepared.session.id)).toMatchObject({
      status: 'failed',
      exitReason: failure?.message,
    });
  });
});
