/** Reading a live loop's output log by offset, and where each iteration lies in it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLogs } from '../../src/client/logs.js';
import { bannerLength } from '../../src/loop/marks.js';
import { RpcError, type RpcClient } from '../../src/protocol/index.js';
import { gate, makeTask, Sandbox, seenLines, startInProcess, Watcher } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

/** Reads the whole log page by page, checking that pages tile it; counts pages cut short before the end. */
async function readPaged(
  client: RpcClient,
  encoding: 'utf8' | 'base64',
  limit: number,
): Promise<{ bytes: Buffer; short: number }> {
  const pages: Buffer[] = [];
  let short = 0;
  let offset = 0;
  for (let n = 0; n < 10_000; n++) {
    const page = await client.request('get_logs', { offset, limit, encoding });
    expect(page.offset).toBe(offset);
    const bytes = Buffer.from(page.content, encoding);
    expect(bytes.length).toBe(page.next_offset - offset);
    expect(bytes.length).toBeLessThanOrEqual(limit);
    pages.push(bytes);
    offset = page.next_offset;
    if (offset >= page.end_offset) return { bytes: Buffer.concat(pages), short };
    if (bytes.length < limit) short += 1;
  }
  throw new Error('the log never ended');
}

describe('logs and iterations of a live loop', () => {
  it('pages the log by offset and places every iteration in it', async () => {
    const task = await makeTask(sb, {
      stories: 3,
      script: {
        iterations: [
          [{ print: 'output of one — ünïcödé ✓' }, { passStory: 'current' }],
          [{ print: 'output of two' }, { passStory: 'current' }],
          gate('3'),
        ],
        steps: [{ passStory: 'current' }],
      },
    });
    const loop = await startInProcess(sb, task);
    await seenLines(loop, 'ECHO:READY');
    const w = await Watcher.open(sb, loop.socketPath);
    const log = readFileSync(join(loop.dir, 'output.log'));
    const end = (await w.client.request('get_status')).log_end_offset;
    expect(end).toBe(log.length);

    const { iterations } = await w.client.request('get_iterations');
    expect(iterations.map((i) => [i.number, i.outcome, i.story_before, i.story_after])).toEqual([
      [1, 'progress', 'US-001', 'US-002'],
      [2, 'progress', 'US-002', 'US-003'],
      [3, 'running', 'US-003', null],
    ]);
    const [one, two, three] = iterations as [
      (typeof iterations)[0],
      (typeof iterations)[0],
      (typeof iterations)[0],
    ];
    expect(one.start_offset).toBeLessThan(one.end_offset!);
    expect(one.end_offset!).toBeLessThanOrEqual(two.start_offset);
    expect(two.start_offset).toBeLessThan(two.end_offset!);
    expect(two.end_offset!).toBeLessThanOrEqual(three.start_offset);
    expect(three).toMatchObject({ end_offset: null, ended_at: null, exit_code: null });

    const first = await w.client.request('get_logs', {
      offset: one.start_offset,
      limit: one.end_offset! - one.start_offset,
    });
    expect(first.next_offset).toBe(one.end_offset);
    expect(first.content).toContain('output of one — ünïcödé ✓');
    expect(first.content).not.toContain('output of two');
    const third = await w.client.request('get_logs', {
      offset: three.start_offset,
      limit: end - three.start_offset,
    });
    expect(third.content).toContain('gate 3');
    expect(third.content).not.toContain('output of two');

    // A utf8 page that would split a character ends before it; the next page starts with it.
    const at = log.indexOf('ü');
    const cut = await w.client.request('get_logs', { offset: at - 5, limit: 6 });
    expect(cut).toMatchObject({ next_offset: at, content: log.subarray(at - 5, at).toString('utf8') });
    expect((await w.client.request('get_logs', { offset: at, limit: 2 })).content).toBe('ü');
    // A limit smaller than a character returns that whole character, never a piece of one (U+FFFD).
    expect(await w.client.request('get_logs', { offset: at, limit: 1 })).toMatchObject({
      content: 'ü',
      next_offset: at + 2,
    });
    const check = log.indexOf('✓');
    for (const limit of [1, 2]) {
      const page = await w.client.request('get_logs', { offset: check, limit });
      expect(page).toMatchObject({ content: '✓', next_offset: check + 3 });
    }
    // Paged one byte at a time across the whole unicode line, the text comes out intact.
    const line = log.indexOf('output of one');
    let text = '';
    for (let offset = line, n = 0; offset < line + 40 && n < 100; n++) {
      const page = await w.client.request('get_logs', { offset, limit: 1 });
      text += page.content;
      offset = page.next_offset;
    }
    expect(text).toContain('output of one — ünïcödé ✓');
    expect(text).not.toContain('\uFFFD');
    const utf8 = await readPaged(w.client, 'utf8', 97);
    expect(utf8.bytes.equals(log)).toBe(true);
    const base64 = await readPaged(w.client, 'base64', 1000);
    expect(base64.bytes.equals(log)).toBe(true);
    expect(base64.short).toBe(0);

    expect(await w.client.request('get_logs', { offset: end })).toMatchObject({
      content: '',
      next_offset: end,
      end_offset: end,
    });
    const past = await w.client.request('get_logs', { offset: end + 10 }).catch((e: unknown) => e);
    expect(past).toBeInstanceOf(RpcError);
    expect(past).toMatchObject({ kind: 'OFFSET_OUT_OF_RANGE', data: { offset: end + 10, end_offset: end } });

    // The client library reads the same bytes from the file, whole or by iteration.
    const whole: Buffer[] = [];
    await readLogs(task.name, { write: (c) => whole.push(c) }, sb.paths);
    expect(Buffer.concat(whole).subarray(0, end).equals(log)).toBe(true);
    const second: Buffer[] = [];
    await readLogs(task.name, { iteration: 2, write: (c) => second.push(c) }, sb.paths);
    // An iteration's output as `logs --iteration` prints it: after the banner ralph wrote before it.
    const banner = bannerLength(log.subarray(two.start_offset));
    expect(log.subarray(two.start_offset, two.start_offset + banner).toString()).toContain(
      'ralph: iteration 2/',
    );
    expect(Buffer.concat(second).equals(log.subarray(two.start_offset + banner, two.end_offset!))).toBe(true);

    await w.client.request('stop', { force: true });
    expect(await loop.finished()).toMatchObject({ status: 'stopped' });
  });
});
