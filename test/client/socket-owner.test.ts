/**
 * Before a client sends anything to a loop's socket (status, attach, keys, stop all go through connectSession),
 * it checks that the socket belongs to this user or root and sits in a directory nobody else can write to. A
 * real second Unix user listens on a socket of its own, counting every connection and byte it receives; the
 * client must refuse it without connecting at all.
 */
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSession } from '../../src/client/connect.js';
import { ensurePrivateDir } from '../../src/config/paths.js';
import { RalphError } from '../../src/errors.js';
import { makeSession } from '../../tui/test-fixtures.js';
import { createOtherUser, skipWithoutOtherUser, type OtherUser } from '../support/other-user.js';
import { waitFor, within } from '../support/wait.js';

const skip = skipWithoutOtherUser('socket owner tests (test/client/socket-owner.test.ts)');

/**
 * The other user's listener: counts connections and bytes; a connection whose first bytes are `report\n` gets
 * the counts since the previous report, as one JSON line.
 */
const LISTENER = `
const net = require('node:net');
let connections = 0, bytes = 0;
net.createServer((s) => {
  connections += 1;
  let first = true;
  s.on('data', (d) => {
    if (first && d.toString() === 'report\\n') {
      s.end(JSON.stringify({ connections: connections - 1, bytes }) + '\\n');
      connections = 0;
      bytes = 0;
    } else bytes += d.length;
    first = false;
  });
  s.on('error', () => {});
}).listen(process.argv[1], () => console.log('listening'));
`;

let base: string;
let other: OtherUser;
let listener: ChildProcess;
let theirSocket: string;

/** What a status request does: connect, then send one request. */
async function askStatus(address: string): Promise<unknown> {
  const client = await connectSession(makeSession({ task: 'victim', address }), {
    timeoutMs: 2000,
    requestTimeoutMs: 2000,
  });
  try {
    return await client.call('get_status');
  } finally {
    client.close();
  }
}

/** Asks the listener, over a raw connection that skips every check, what it has received so far. */
function report(path: string): Promise<{ connections: number; bytes: number }> {
  return within(
    new Promise((resolve, reject) => {
      const socket = connect({ path }, () => socket.write('report\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(JSON.parse(text) as { connections: number; bytes: number }));
      socket.on('error', reject);
    }),
    'the listener to report',
    10_000,
  );
}

async function refusal(p: Promise<unknown>): Promise<RalphError> {
  const err = await p.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RalphError);
  return err as RalphError;
}

describe.skipIf(skip)('a client refuses a socket another user controls, before sending a byte', () => {
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'rsock-'));
    chmodSync(base, 0o711);
    const shared = join(base, 'tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    other = createOtherUser();
    const theirs = join(shared, 'theirs');
    other.check('/bin/mkdir', ['-m', '0755', theirs]);
    theirSocket = join(theirs, 'victim.sock');
    listener = other.spawn(other.node(shared), ['-e', LISTENER, theirSocket]);
    let out = '';
    listener.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    listener.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('listening'), `the other user's listener (output: ${out})`, 10_000);
  });

  afterAll(() => {
    listener?.kill('SIGKILL');
    other?.remove();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it("refuses a socket owned by another user even inside the user's own private run directory", async () => {
    const run = ensurePrivateDir(join(base, 'run'));
    const planted = join(run, 'victim.sock');
    renameSync(theirSocket, planted); // the socket keeps its owner: the other user
    try {
      const err = await refusal(askStatus(planted));
      expect(err.code).toBe('UNTRUSTED_SOCKET');
      expect(err.exitCode).toBe(4);
      expect(err.message).toBe(
        `refusing to connect to ${planted}: it is owned by uid ${other.uid}, not by you (uid ${process.getuid!()}) or root`,
      );
      expect(err.hint).toMatch(/nothing was sent/);
      expect(await report(planted)).toEqual({ connections: 0, bytes: 0 });
    } finally {
      renameSync(planted, theirSocket);
    }
  });

  it('refuses a socket in a directory another user owns', async () => {
    const err = await refusal(askStatus(theirSocket));
    expect(err.code).toBe('UNTRUSTED_SOCKET');
    expect(err.message).toMatch(/its directory .*theirs is not safe: it is owned by uid \d+/);
    expect(await report(theirSocket)).toEqual({ connections: 0, bytes: 0 });
  });
});
