/** Helpers shared by the tests that run our SDK against the real OpenZiti test network. */
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EdgeConn } from '../../../src/ziti/edge/conn.js';
import type { ZitiServer } from '../../../src/ziti/edge/server.js';

/** A name no other test run uses, for terminator identities. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Everything a stream yields until it ends; rejects on error or after timeoutMs. */
export function readAll(stream: Readable, timeoutMs = 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`stream did not end within ${timeoutMs} ms`)), timeoutMs);
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    stream.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    stream.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Resolves with the event's first argument, or rejects after timeoutMs. */
export function nextEvent<T>(emitter: NodeJS.EventEmitter, event: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEvent = (value: T): void => {
      clearTimeout(timer);
      resolve(value);
    };
    emitter.once(event, onEvent);
  });
}

/** Echo: writes back every byte and, after the client's half-close, ends too. */
export function pipeEcho(conn: EdgeConn): void {
  conn.on('error', () => conn.destroy());
  conn.pipe(conn);
}

/** Waits for the server's terminator to exist, bounded. */
export function listening(server: ZitiServer, timeoutMs = 60_000): Promise<void> {
  return server.ready(timeoutMs);
}

/** Tries `attempt` until it resolves, at most `tries` times, `delayMs` apart; rethrows the last failure. */
export async function retry<T>(tries: number, delayMs: number, attempt: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      await sleep(delayMs);
    }
  }
  throw last;
}

/**
 * Streams `total` random bytes into `out` with backpressure while `input` is read concurrently; resolves
 * with the sha256 of what was sent and of what came back, and the byte count received.
 */
export async function pumpAndHash(
  out: Writable,
  input: Readable,
  total: number,
  chunkBytes = 1024 * 1024,
): Promise<{ sent: string; received: string; receivedBytes: number }> {
  const sentHash = createHash('sha256');
  const receivedHash = createHash('sha256');
  let receivedBytes = 0;
  const done = new Promise<void>((resolve, reject) => {
    input.on('data', (chunk: Buffer) => {
      receivedHash.update(chunk);
      receivedBytes += chunk.length;
    });
    input.once('end', resolve);
    input.once('error', reject);
  });
  for (let sent = 0; sent < total; sent += chunkBytes) {
    const chunk = randomBytes(Math.min(chunkBytes, total - sent));
    sentHash.update(chunk);
    if (!out.write(chunk)) await nextEvent(out, 'drain', 60_000);
  }
  out.end();
  await done;
  return { sent: sentHash.digest('hex'), received: receivedHash.digest('hex'), receivedBytes };
}

/** TCP client: sends `payload`, half-closes, returns what came back before the server ended. */
export function tcpExchange(
  host: string,
  port: number,
  payload: Buffer,
  timeoutMs = 20_000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.once('connect', () => socket.end(payload));
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Writes `payload` and waits for the same number of bytes back; resolves with the round trip in ms. */
export function roundTrip(conn: EdgeConn, payload: Buffer, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const started = process.hrtime.bigint();
    const onData = (chunk: Buffer): void => {
      parts.push(chunk);
      got += chunk.length;
      if (got < payload.length) return;
      clearTimeout(timer);
      conn.off('data', onData);
      if (!Buffer.concat(parts).equals(payload)) reject(new Error('the echo differs from what was sent'));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    };
    const timer = setTimeout(() => {
      conn.off('data', onData);
      reject(new Error(`no echo within ${timeoutMs} ms (got ${got} of ${payload.length} bytes)`));
    }, timeoutMs);
    conn.on('data', onData);
    conn.write(payload);
  });
}
