/**
 * Fuzzed input for a daemon connection, seeded so a failure can be replayed (`RALPH_FUZZ_SEED=<n>`): random
 * bytes, random and truncated JSON-RPC, huge ids, deeply nested arrays, NUL, invalid UTF-8, hostile task names
 * and paths. `fuzzDaemon` writes them over a stream with back-pressure, counts the answer lines, and stops at
 * its count or its time limit, whichever comes first.
 */
import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

/** A small deterministic generator (mulberry32). */
export function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

export function fuzzSeed(): number {
  const fromEnv = Number(process.env.RALPH_FUZZ_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
}

// Method names a fuzzed request may carry. open_loop and git_connect hand the connection over when they
// succeed, so they only ever name loops and projects that do not exist (the values below).
const METHODS = [
  'list_loops',
  'start_loop',
  'stop_loop',
  'open_loop',
  'get_status',
  'get_health',
  'get_agents',
  'subscribe_events',
  'peek',
  'write_pty',
  'stop',
  'authenticate',
  'git_connect',
  'attach',
  '',
  'x',
  '__proto__',
  'constructor',
];
const HOSTILE = [
  '../x',
  '../../etc/passwd',
  '/etc',
  '/tmp/fuzz-outside',
  'escape/../../x',
  'a\u0000b',
  '.',
  '..',
  '-rf',
  'x'.repeat(300),
  'ta sk',
  'tâche',
  '\u202e',
  '$(touch /tmp/fuzz-pwned)',
  '`id`',
  'no-such-loop',
];
const VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  'a',
  [],
  {},
  [[[]]],
  { __proto__: { x: 1 } },
  ...HOSTILE,
];

/** One fuzzed line (without its newline; it may hold bytes that are not UTF-8). */
export function fuzzLine(rand: (n: number) => number, i: number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const request = (): Record<string, unknown> => ({
    jsonrpc: rand(10) === 0 ? '1.0' : '2.0',
    id: pick<unknown>([i, `f${i}`, null, 1.5, -0, { id: i }, [i]]),
    method: rand(20) === 0 ? pick(VALUES) : pick(METHODS),
    params:
      rand(3) === 0
        ? pick(VALUES)
        : {
            task: pick(VALUES),
            task_dir: pick(VALUES),
            name: pick(VALUES),
            agent: pick(VALUES),
            data: pick(VALUES),
            since_seq: pick(VALUES),
          },
  });
  switch (rand(10)) {
    case 0: // random bytes (no newline)
      return Buffer.from(
        Array.from({ length: 1 + rand(80) }, () => rand(256)).map((b) => (b === 10 ? 32 : b)),
      );
    case 1: // truncated JSON
      return Buffer.from(JSON.stringify(request()).slice(0, 1 + rand(60)));
    case 2: // a huge id
      return Buffer.from(
        `{"jsonrpc":"2.0","id":${rand(2) === 0 ? '9'.repeat(1000 + rand(4000)) : JSON.stringify('i'.repeat(1000 + rand(20_000)))},"method":"get_health"}`,
      );
    case 3: {
      // nested arrays, as a batch or as params
      const depth = 1 + rand(rand(20) === 0 ? 100_000 : 200);
      const nested = '['.repeat(depth) + ']'.repeat(depth);
      return Buffer.from(
        rand(2) === 0 ? nested : `{"jsonrpc":"2.0","id":${i},"method":"list_loops","params":${nested}}`,
      );
    }
    case 4: // NUL inside and around JSON
      return Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify(request())), Buffer.from([0, 0])]);
    case 5: {
      // invalid UTF-8 inside a string
      const text = JSON.stringify(request());
      const cut = rand(text.length);
      return Buffer.concat([
        Buffer.from(text.slice(0, cut)),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
        Buffer.from(text.slice(cut)),
      ]);
    }
    case 6: // a batch of requests
      return Buffer.from(JSON.stringify(Array.from({ length: rand(20) }, request)));
    case 7: // any JSON value
      return Buffer.from(JSON.stringify(pick(VALUES)) ?? 'undefined');
    default:
      return Buffer.from(JSON.stringify(request()));
  }
}

export interface FuzzOutcome {
  seed: number;
  sent: number;
  bytes: number;
  answers: number;
  ms: number;
}

/**
 * Writes up to `count` fuzzed lines to `stream` (waiting for drain) within `limitMs`, counting answer lines as
 * they come. The stream keeps its other readers; this only adds a listener.
 */
export async function fuzzDaemon(
  stream: Duplex,
  options: { seed: number; count: number; limitMs: number; chunk?: number },
): Promise<FuzzOutcome> {
  const rand = seededRandom(options.seed);
  let answers = 0;
  const onData = (chunk: Buffer): void => {
    for (const byte of chunk) if (byte === 10) answers += 1;
  };
  stream.on('data', onData);
  const started = Date.now();
  let sent = 0;
  let bytes = 0;
  const chunk = options.chunk ?? 500;
  try {
    while (sent < options.count && Date.now() - started < options.limitMs && !stream.destroyed) {
      const lines: Buffer[] = [];
      for (let k = 0; k < chunk && sent + k < options.count; k += 1) {
        lines.push(fuzzLine(rand, sent + k), Buffer.from('\n'));
      }
      const data = Buffer.concat(lines);
      sent += lines.length / 2;
      bytes += data.length;
      if (!stream.write(data)) {
        await Promise.race([once(stream, 'drain'), once(stream, 'close')]);
      }
    }
  } finally {
    stream.off('data', onData);
  }
  return { seed: options.seed, sent, bytes, answers, ms: Date.now() - started };
}

/** Sends a request with a string id on a raw stream and waits (bounded) for the line that answers it. */
export async function rawCall(
  stream: Duplex,
  id: string,
  method: string,
  timeoutMs: number,
): Promise<string> {
  const needle = `"id":${JSON.stringify(id)}`;
  let tail = '';
  let onData: (chunk: Buffer) => void = () => undefined;
  const found = new Promise<string>((resolve) => {
    onData = (chunk) => {
      tail = (tail + chunk.toString('utf8')).slice(-1_000_000);
      const at = tail.indexOf(needle);
      if (at < 0) return;
      const start = tail.lastIndexOf('\n', at) + 1;
      const end = tail.indexOf('\n', at);
      if (end >= 0) resolve(tail.slice(start, end));
    };
  });
  stream.on('data', onData);
  stream.write(`${JSON.stringify({ jsonrpc: '2.0', id, method })}\n`);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      found,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer to ${method} within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    stream.off('data', onData);
  }
}

/** The resident set size of a process, in bytes (from /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}
