/**
 * Exit codes of `ralph attach` when the loop ends while attached (completed 0, exhausted 10) or the connection
 * is lost (the runner killed outright: 8), and `start --attach`. Each loop's only iteration waits at a gate the
 * test opens through the attached terminal, so the end always comes while attached.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/util/proc.js';
import { ensureCliBuilt } from './built.js';
import { CliSandbox, descendants, startArgs, waitFor } from './harness.js';
import type { Term } from './term.js';

let sb: CliSandbox;
beforeAll(async () => {
  await ensureCliBuilt();
});
beforeEach(() => {
  sb = new CliSandbox();
});
afterEach(async () => {
  await sb.dispose();
});

const gate = { echo: { until: 'go\r', timeoutMs: 60_000 } };
const limits = ['--iteration-timeout', '0', '--idle-timeout', '0'];

/** Opens the gate from an attached terminal that already holds the keyboard. */
async function openGate(term: Term): Promise<void> {
  await term.waitFor('ECHO:READY', 'the gate');
  await term.waitFor('you have the keyboard', 'interactive mode');
  term.write('go\r');
  await term.waitFor('ECHO:DONE', 'the gate to open');
}

describe('attach exit codes', () => {
  it('exits 0 when the loop completes while attached (attach --interactive)', async () => {
    const task = sb.makeTask('finishing', {
      script: [{ print: 'about to finish' }, gate, { passAll: true }],
    });
    await sb.start(task, limits);
    const term = sb.term(['attach', task.name, '--interactive']);
    await openGate(term);
    const exit = await term.exited('attach to exit when the loop completes');
    expect(term.text()).toContain('loop completed: all stories pass');
    expect(exit.exitCode).toBe(0);
    expect(sb.session(task.name)).toMatchObject({ status: 'completed', iteration: 1 });
  });

  it('exits 10 when the loop runs out of iterations while attached', async () => {
    const task = sb.makeTask('exhausting', { stories: 2, script: [{ print: 'no progress here' }, gate] });
    await sb.start(task, [...limits, '--max-iterations', '1']);
    const term = sb.term(['attach', task.name, '-i']);
    await openGate(term);
    const exit = await term.exited('attach to exit when the loop is exhausted');
    expect(term.text()).toMatch(/loop exhausted/);
    expect(exit.exitCode).toBe(10);
    expect(sb.session(task.name).status).toBe('exhausted');
  });

  it('exits 8 when the runner is killed while attached', async () => {
    const task = sb.makeTask('doomed', { script: [{ print: 'DOOMED' }, { hang: true }] });
    const session = await sb.start(task, limits);
    const term = sb.term(['attach', task.name]);
    await term.waitFor('DOOMED', 'the replay');
    const runner = session.pid!;
    const family = [runner, ...descendants(runner)];
    process.kill(runner, 'SIGKILL');
    const exit = await term.exited('attach to notice the lost connection');
    expect(term.text()).toContain('connection lost');
    expect(exit.exitCode).toBe(8);
    for (const pid of family.slice(1)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');

    const status = await sb.ralph(['status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ sessions: [{ task: 'doomed', status: 'crashed' }] });
  });

  it('start --attach starts the loop and attaches to it in the same terminal', async () => {
    const task = sb.makeTask('straight', { script: [{ print: 'STRAIGHT in' }, gate, { passAll: true }] });
    const term = sb.term(startArgs(task, ['--attach', ...limits]));
    await term.waitFor('started straight', 'the start line');
    await term.waitFor('STRAIGHT in', 'the loop output');
    term.write('\x1di');
    await openGate(term);
    const exit = await term.exited('start --attach to exit');
    expect(exit.exitCode).toBe(0);
    await waitFor(() => sb.session(task.name).status === 'completed', 'the loop to be recorded completed');
  });
});
