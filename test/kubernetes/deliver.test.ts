/**
 * The pack a daemon streams into a pod and the one-line unpacker the pod's node runs, here on this machine's
 * node: a tree comes out as it went in (bytes, modes, symlinks), the marker comes last, and a hostile or cut
 * pack is refused with nothing written outside the root and no marker.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packEntries, packSize, UNPACKER, writePack } from '../../src/daemon/kubernetes/deliver.js';

let work: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ralph-deliver-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** Runs the unpacker with `input` on stdin. */
function unpack(
  root: string,
  input: Buffer,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  mkdirSync(root, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', UNPACKER, root, join(root, '.delivered')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function packOf(sources: Parameters<typeof packEntries>[0]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writePack(packEntries(sources), out);
  out.end();
  return Buffer.concat(chunks);
}

const header = (h: object): string => `${JSON.stringify(h)}\n`;

describe('loop files sent into a pod', () => {
  it('unpacks a tree as it was packed, with its modes and symlinks, and the marker last', async () => {
    const task = join(work, 'task');
    mkdirSync(join(task, 'src', 'deep'), { recursive: true });
    const binary = Buffer.from(Array.from({ length: 700_000 }, (_, i) => (i * 7) % 256));
    writeFileSync(join(task, 'src', 'deep', 'blob.bin'), binary);
    writeFileSync(join(task, 'prd.json'), '{"stories":[]}\n');
    writeFileSync(join(task, 'empty'), '');
    writeFileSync(join(task, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(task, 'run.sh'), 0o750);
    symlinkSync('src/deep/blob.bin', join(task, 'link'));
    const home = join(work, 'home');
    mkdirSync(join(home, 'data'), { recursive: true });
    writeFileSync(join(home, 'data', 'registry.sqlite'), 'not really sqlite');

    const entries = packEntries([
      { from: task, to: 'task' },
      { from: home, to: 'home' },
    ]);
    expect(packSize(entries)).toBe(binary.length + 15 + 0 + 18 + 17);
    const root = join(work, 'volume');
    const result = await unpack(
      root,
      await packOf([
        { from: task, to: 'task' },
        { from: home, to: 'home' },
      ]),
    );
    expect(result).toMatchObject({ code: 0, stdout: `ok ${entries.length}\n` });
    expect(readFileSync(join(root, 'task', 'src', 'deep', 'blob.bin')).equals(binary)).toBe(true);
    expect(readFileSync(join(root, 'task', 'prd.json'), 'utf8')).toBe('{"stories":[]}\n');
    expect(readFileSync(join(root, 'task', 'empty'), 'utf8')).toBe('');
    expect(statSync(join(root, 'task', 'run.sh')).mode & 0o777).toBe(0o750);
    expect(readlinkSync(join(root, 'task', 'link'))).toBe('src/deep/blob.bin');
    expect(readFileSync(join(root, 'home', 'data', 'registry.sqlite'), 'utf8')).toBe('not really sqlite');
    expect(readFileSync(join(root, '.delivered'), 'utf8')).toBe(String(entries.length));

    // A delivery that already finished is not done again.
    const again = await unpack(root, Buffer.from(header({ end: true, entries: 0 })));
    expect(again).toMatchObject({ code: 0, stdout: 'ok already\n' });
  });

  it.each([
    [
      'a path out of the root',
      [header({ path: '../escaped', type: 'file', mode: 420, size: 1 }), 'x'],
      /bad path/,
    ],
    ['an absolute path', [header({ path: '/tmp/escaped', type: 'dir', mode: 448 })], /bad path/],
    ['an unknown entry type', [header({ path: 'x', type: 'fifo', mode: 420 })], /bad entry type/],
    ['a header that is not JSON', ['{nope\n'], /not JSON/],
    ['a negative size', [header({ path: 'x', type: 'file', mode: 420, size: -1 })], /bad size/],
    ['a cut pack (no end)', [header({ path: 'x', type: 'file', mode: 420, size: 4 }), 'ab'], /ended early/],
    [
      'an end that miscounts',
      [header({ path: 'd', type: 'dir', mode: 448 }), header({ end: true, entries: 3 })],
      /3/,
    ],
  ])('refuses %s, writing nothing outside and no marker', async (_what, parts, why) => {
    const root = join(work, 'volume');
    const result = await unpack(root, Buffer.from(parts.join('')));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(why);
    expect(existsSync(join(root, '.delivered'))).toBe(false);
    expect(existsSync(join(work, 'escaped'))).toBe(false);
    expect(existsSync('/tmp/escaped')).toBe(false);
  });

  it('refuses an overlong header line', async () => {
    const root = join(work, 'volume');
    const result = await unpack(root, Buffer.alloc(70_000, 0x61));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/too long/);
  });

  it('fails a pack whose file got shorter after it was listed', async () => {
    const task = join(work, 'task');
    mkdirSync(task);
    writeFileSync(join(task, 'f'), 'x'.repeat(1000));
    const entries = packEntries([{ from: task, to: 'task' }]);
    writeFileSync(join(task, 'f'), 'x'.repeat(10));
    const out = new PassThrough();
    out.resume();
    await expect(writePack(entries, out)).rejects.toThrow(/got shorter/);
  });
});
