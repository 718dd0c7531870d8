/**
 * What `ralph attach` says about the keyboard: who holds it (a pid and terminal a person can find), nothing
 * about losing it when you detach yourself, and no offer of `i` to a read-only watcher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt } from './built.js';
import { CliSandbox, type TaskFolder } from './harness.js';

const CTRL_RB = '\x1d';

let sb: CliSandbox;
let task: TaskFolder;

beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
  task = sb.makeTask('keyboard', {
    script: [{ print: 'KEYBOARD READY' }, { echo: { until: 'never\r', timeoutMs: 120_000 } }],
  });
  await sb.start(task, ['--iteration-timeout', '0', '--idle-timeout', '0']);
}, 60_000);
afterAll(async () => {
  await sb.dispose();
});

describe('attach messages', () => {
  it('names the holder by pid and terminal, and detaching while holding says only that', async () => {
    const holder = sb.term(['attach', task.name, '-i']);
    await holder.waitFor('you have the keyboard', 'the keyboard taken at once');

    const other = sb.term(['attach', task.name]);
    await other.waitFor('KEYBOARD READY', 'the replay');
    other.write(`${CTRL_RB}i`);
    await other.waitFor('the keyboard is held by', 'the refusal');
    expect(other.text()).toMatch(
      new RegExp(`the keyboard is held by pid ${holder.pid} on /dev/pts/\\d+ \\(unix#\\d+\\)`),
    );

    const mark = holder.mark();
    holder.write(`${CTRL_RB}d`);
    await holder.waitFor(`detached from ${task.name}`, 'the detach', { from: mark });
    expect((await holder.exited()).exitCode).toBe(0);
    expect(holder.text(mark)).not.toContain('the keyboard was released');
    other.write(`${CTRL_RB}d`);
    expect((await other.exited()).exitCode).toBe(0);
  });

  it('does not offer the keyboard to a read-only watcher', async () => {
    const watcher = sb.term(['attach', task.name, '--read-only']);
    await watcher.waitFor('KEYBOARD READY', 'the replay');
    watcher.write(`${CTRL_RB}?`);
    await watcher.waitFor('Ctrl-] then: d detach', 'the key help');
    expect(watcher.text()).not.toContain('take/release the keyboard');
    watcher.write(`${CTRL_RB}d`);
    expect((await watcher.exited()).exitCode).toBe(0);
  });
});
