/**
 * `ralph attach` in a real terminal against a detached loop: replay then live output, the hint shown to a
 * watcher who types, Ctrl-] i to take the keyboard (keystrokes reach the agent and come back), resize
 * following the terminal, Ctrl-] d to detach while the loop keeps running, and --read-only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../src/registry/index.js';
import { ensureCliBuilt } from './built.js';
import { CliSandbox, waitFor, type TaskFolder } from './harness.js';

const CTRL_RB = '\x1d';

let sb: CliSandbox;
let task: TaskFolder;
let session: SessionRecord;

beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
  task = sb.makeTask('watched', {
    stories: 2,
    script: {
      iterations: [[{ print: 'ATTACH one' }, { echo: { until: 'go\r', timeoutMs: 60_000 } }]],
      steps: [{ print: 'ATTACH two' }, { hang: true }],
    },
  });
  session = await sb.start(task, ['--iteration-timeout', '0', '--idle-timeout', '0']);
});
afterAll(async () => {
  await sb.dispose();
});

interface Screen {
  cols: number;
  rows: number;
  lines: string[];
}

async function peek(): Promise<Screen> {
  const result = await sb.ralph(['peek', task.name, '--json']);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Screen;
}

const sizeIs = (cols: number, rows: number) => async () => {
  const screen = await peek();
  return screen.cols === cols && screen.rows === rows;
};

describe('ralph attach', () => {
  it('replays the current iteration, hands over the keyboard, follows resizes and detaches', async () => {
    await waitFor(async () => (await peek()).lines.includes('ECHO:READY'), 'the gate on the loop screen');
    const inject = await sb.ralph(['inject', task.name, 'OPERATOR NOTE 7']);
    expect(inject.exitCode).toBe(0);

    const term = sb.term(['attach', task.name], { cols: 100, rows: 30 });
    await term.waitFor('ECHO:READY', 'the replay of iteration 1');
    expect(term.text()).toContain('ATTACH one');
    await waitFor(sizeIs(100, 30), 'the loop to take the terminal size');

    // Typing while watching: a hint, and nothing reaches the agent.
    let mark = term.mark();
    term.write('x');
    await term.waitFor('watching: Ctrl-] i to take the keyboard, Ctrl-] d to detach', 'the watching hint', {
      from: mark,
    });

    mark = term.mark();
    term.write(`${CTRL_RB}i`);
    await term.waitFor('you have the keyboard', 'interactive mode', { from: mark });
    term.write('go\r');
    await term.waitFor('ECHO:"go\\r"', 'the keystrokes to come back from the agent', { from: mark });
    await term.waitFor('ECHO:DONE', 'the gate to open', { from: mark });
    expect(term.text()).not.toContain('ECHO:"x"');

    mark = term.mark();
    term.write(`${CTRL_RB}i`);
    await term.waitFor('keyboard released; watching', 'the keyboard to go back', { from: mark });
    await term.waitFor('ATTACH two', 'live output of iteration 2', { from: mark });

    // The injected text went into iteration 2's prompt.
    const prompt = readFileSync(join(sb.sessionDir(session), 'prompt.md'), 'utf8');
    expect(prompt).toContain('Instructions from the operator (iteration 2)');
    expect(prompt).toContain('OPERATOR NOTE 7');

    term.resize(90, 20);
    await waitFor(sizeIs(90, 20), 'the loop to follow the resize');

    mark = term.mark();
    term.write(`${CTRL_RB}?`);
    await term.waitFor('Ctrl-] then: d detach', 'the command-key help', { from: mark });

    term.write(`${CTRL_RB}d`);
    const exit = await term.exited('attach to exit after Ctrl-] d');
    expect(exit.exitCode).toBe(0);
    expect(term.text()).toContain(`detached from ${task.name}; the loop keeps running`);
    expect(sb.session(task.name)).toMatchObject({ status: 'running', iteration: 2 });
  });

  it('--read-only watches without resizing the loop or taking the keyboard', async () => {
    const term = sb.term(['attach', task.name, '--read-only', '--from', 'start'], { cols: 70, rows: 15 });
    await term.waitFor('ATTACH two', 'the replay from the start of the log');
    expect(term.text()).toContain('ATTACH one');

    let mark = term.mark();
    term.write('x');
    await term.waitFor('read-only: Ctrl-] d to detach', 'the read-only hint', { from: mark });
    mark = term.mark();
    term.write(`${CTRL_RB}i`);
    await term.waitFor('Ctrl-] then: d detach', 'help instead of interactive mode', { from: mark });
    expect(term.text(mark)).not.toContain('you have the keyboard');

    // A resize, then a key round trip so the resize has been seen before detaching.
    term.resize(60, 12);
    mark = term.mark();
    term.write(`${CTRL_RB}?`);
    await term.waitFor('Ctrl-] then: d detach', 'the command-key help', { from: mark });
    term.write(`${CTRL_RB}d`);
    expect((await term.exited('read-only attach to exit')).exitCode).toBe(0);
    // The size the read-write attach left stays.
    expect(await sizeIs(90, 20)()).toBe(true);
  });

  it('--from end shows only new output; stop then ends the loop', async () => {
    const term = sb.term(['attach', task.name, '--read-only', '--from', 'end']);
    // Wait for attach to be up: the read-only hint proves the keyboard handler runs.
    term.write('x');
    await term.waitFor('read-only', 'attach to start');
    expect(term.text()).not.toContain('ATTACH');

    const stop = await sb.ralph(['stop', task.name]);
    expect(stop.exitCode).toBe(0);
    const exit = await term.exited('attach to exit when the loop stops');
    expect(term.text()).toContain('loop stopped');
    expect(exit.exitCode).toBe(12);
    expect(sb.session(task.name).status).toBe('stopped');
  });
});
