/**
 * An agent that ignores SIGHUP outlives a runner killed with SIGKILL. Its iteration record names it (pid and
 * kernel start time); `ralph status` closes the record as `crashed` and reports the agent still running, and
 * `ralph stop --force` kills it, but only while the pid still names that same process.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../src/loop/types.js';
import type { SessionRecord } from '../../src/registry/index.js';
import { isAlive, processStartTime } from '../../src/util/proc.js';
import { useCliSandbox, waitFor } from './harness.js';

const sb = useCliSandbox();

const records = (dir: string): IterationRecord[] =>
  JSON.parse(readFileSync(join(dir, 'iterations.json'), 'utf8')) as IterationRecord[];

describe('an agent that outlives its runner', () => {
  it('is recorded, reported by status and killed by stop --force', async () => {
    const task = sb().makeTask('orphan', {
      script: [{ ignoreSignals: ['SIGHUP'] }, { print: 'IGNORING HUP' }, { hang: true }],
    });
    const session = await sb().start(task, ['--idle-timeout', '0', '--iteration-timeout', '0']);
    const dir = sb().sessionDir(session);
    const begun = await waitFor(() => {
      const last = records(dir).at(-1);
      return last?.agentPid ? last : null;
    }, 'the agent pid in iterations.json');
    const agentPid = begun.agentPid!;
    expect(begun.agentStartTime).toBe(processStartTime(agentPid));
    // Whatever happens below, the agent does not outlive the test.
    const startTime = begun.agentStartTime!;
    sb().defer(() => {
      if (processStartTime(agentPid) === startTime) process.kill(agentPid, 'SIGKILL');
    });
    await waitFor(() => readFileSync(join(dir, 'output.log'), 'utf8').includes('IGNORING HUP'), 'the agent');

    process.kill(session.pid!, 'SIGKILL');
    await waitFor(() => !isAlive(session.pid!), 'the runner to die');
    expect(isAlive(agentPid)).toBe(true);

    const status = await sb().ralph(['status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as {
      sessions: SessionRecord[];
      reconciled: { survivors: { id: number; agentPid: number }[] };
    };
    expect(report.reconciled.survivors).toEqual([{ id: session.id, agentPid }]);
    const row = report.sessions.find((s) => s.task === 'orphan');
    expect(row?.status).toBe('crashed');
    expect(row?.exitReason).toBe(
      `runner process ${session.pid} is gone; its agent (pid ${agentPid}) is still running`,
    );
    const closed = records(dir).at(-1)!;
    expect(closed).toMatchObject({ number: 1, outcome: 'crashed', agentPid });
    expect(closed.endedAt).not.toBeNull();

    // A pid whose start time differs from the record is someone else's process: never killed.
    const saved = readFileSync(join(dir, 'iterations.json'));
    writeFileSync(
      join(dir, 'iterations.json'),
      JSON.stringify(records(dir).map((r) => ({ ...r, agentStartTime: '1' }))),
    );
    const refused = await sb().ralph(['stop', 'orphan', '--force']);
    expect(refused.exitCode).toBe(3);
    expect(isAlive(agentPid)).toBe(true);
    writeFileSync(join(dir, 'iterations.json'), saved);

    const stopped = await sb().ralph(['stop', 'orphan', '--force']);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout).toBe(
      `orphan: crashed (runner process ${session.pid} is gone; its agent (pid ${agentPid}) was killed by ralph stop --force)\n`,
    );
    await waitFor(() => !isAlive(agentPid), 'the agent to die', 5000);
  });
});
