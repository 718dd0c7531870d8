/**
 * The measurements of bench/ziti-sdk.mjs, written against plain Duplex streams so that the same code times a
 * connection of our SDK (an EdgeConn) and a TCP connection to `ziti tunnel proxy` (the Go SDK dialing).
 * Every wait is bounded; a wait that runs out rejects with a message naming what was awaited.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { nowMs, withTimeout } from './lib/common.mjs';

const WAIT_MS = 20_000;

/** Counts the bytes a stream yields and lets callers wait until the count reaches a target. */
export function byteCounter(stream, label) {
  let received = 0;
  let pending;
  const settle = (err) => {
    const p = pending;
    pending = undefined;
    if (!p) return;
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve();
  };
  stream.on('data', (chunk) => {
    received += chunk.length;
    if (pending && received >= pending.target) settle();
  });
  stream.once('error', (err) => settle(new Error(`${label}: ${err.message}`)));
  stream.once('end', () => settle(new Error(`${label}: the stream ended after ${received} bytes`)));
  return {
    get received() {
      return received;
    },
    /** Resolves once `target` bytes in total have arrived. */
    until(target, timeoutMs = WAIT_MS) {
      if (received >= target) return Promise.resolve();
      if (pending) return Promise.reject(new Error(`${label}: overlapping waits`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => settle(new Error(`${label}: ${received} of ${target} bytes after ${timeoutMs} ms`)),
          timeoutMs,
        );
        pending = { target, resolve, reject, timer };
      });
    },
  };
}

/** Dialing through `ziti tunnel proxy`: a TCP connection to its listener on 127.0.0.1. */
export async function openTcp({ host, port }) {
  const socket = connect({ host, port, noDelay: true });
  socket.setNoDelay(true);
  await withTimeout(once(socket, 'connect'), WAIT_MS, `a TCP connection to ${host}:${port}`);
  return socket;
}

/** Half-closes, waits (bounded) for the echo side to end too, then releases the stream. */
export async function closeStream(stream) {
  if (stream.destroyed) return;
  const closed = once(stream, 'close').catch(() => undefined);
  stream.end();
  await withTimeout(closed, 5_000, 'a connection to close after its half-close').catch(() => undefined);
  stream.destroy();
}

const ONE = Buffer.from([0x2a]);

/** One fresh connection, timed from the dial to its first echoed byte. Returns milliseconds. */
export async function connectOnce(open) {
  const started = nowMs();
  const stream = await open();
  const counter = byteCounter(stream, 'connect-time probe');
  stream.write(ONE);
  await counter.until(1);
  const elapsed = nowMs() - started;
  await closeStream(stream);
  return elapsed;
}

/**
 * One-byte ping-pong over an open connection; `counter` must be the stream's byteCounter. Takes up to `count`
 * samples, stopping at `deadline` (a nowMs() value). Returns milliseconds.
 */
export async function echoRtts(stream, counter, count, deadline) {
  const samples = [];
  for (let i = 0; i < count && nowMs() < deadline; i++) {
    const target = counter.received + 1;
    const started = nowMs();
    stream.write(ONE);
    await counter.until(target);
    samples.push(nowMs() - started);
  }
  return samples;
}

/**
 * Streams `totalBytes` through a fresh connection while its echo is read back; the time runs from the first
 * write to the last echoed byte. Returns MiB/s of payload (each byte travels there and back).
 */
export async function echoThroughput(open, totalBytes, chunkBytes, timeoutMs) {
  const stream = await open();
  const counter = byteCounter(stream, 'throughput echo');
  const chunk = Buffer.alloc(chunkBytes, 0x5a);
  const started = nowMs();
  const deadline = started + timeoutMs;
  const echoed = counter.until(totalBytes, timeoutMs);
  echoed.catch(() => undefined);
  for (let sent = 0; sent < totalBytes; sent += chunkBytes) {
    if (nowMs() > deadline)
      throw new Error(`throughput: sending ${totalBytes} bytes took over ${timeoutMs} ms`);
    const piece = sent + chunkBytes <= totalBytes ? chunk : chunk.subarray(0, totalBytes - sent);
    if (!stream.write(piece)) await withTimeout(once(stream, 'drain'), WAIT_MS, 'the connection to drain');
  }
  await echoed;
  const seconds = (nowMs() - started) / 1000;
  await closeStream(stream);
  return totalBytes / (1024 * 1024) / seconds;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A side of a comparison (see ziti-compare.mjs) whose connections are Duplex streams in this process.
 * @param {() => Promise<import('node:stream').Duplex>} open
 */
export function streamDriver(open) {
  let link;
  return {
    connect: () => connectOnce(open),
    async openLink() {
      const stream = await open();
      link = { stream, counter: byteCounter(stream, 'RTT connection') };
    },
    rtts: (count, deadline) => echoRtts(link.stream, link.counter, count, deadline),
    async closeLink() {
      if (link) await closeStream(link.stream);
      link = undefined;
    },
    throughput: (totalBytes, chunkBytes, timeoutMs) =>
      echoThroughput(open, totalBytes, chunkBytes, timeoutMs),
  };
}
