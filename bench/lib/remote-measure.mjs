/**
 * The measurements of bench/remote-attach.mjs, against "terminals" ({ name, send(text), onData(listener),
 * close() }, as in terminals.mjs): keystroke round trips sampled round-robin across every variant, and output
 * bursts timed until the program's end marker is seen. Every wait is bounded.
 */
import { nowMs, summarize, withTimeout } from './common.mjs';
import { listeners } from './terminals.mjs';

const CHARS = 'abcdefghijklmnopqrstuvwxyz';
const PER_SAMPLE_TIMEOUT_MS = 5_000;

/** A Duplex stream (e.g. an SDK connection to an echo service) as a terminal. */
export function streamTerminal(name, stream, close) {
  const data = listeners();
  stream.on('data', (chunk) => data.emit(chunk));
  return {
    name,
    send: (text) => stream.write(text),
    onData: (listener) => data.add(listener),
    close: close ?? (async () => stream.destroy()),
  };
}

/** A command in a PTY of this process (node-pty), e.g. `ssh -tt … tmux attach`. */
export async function ptyTerminal(name, argv, { cols = 80, rows = 24, env = process.env } = {}) {
  const pty = (await import('node-pty')).default;
  const term = pty.spawn(argv[0], argv.slice(1), {
    name: 'xterm-256color',
    cols,
    rows,
    cwd: process.cwd(),
    env,
    encoding: null,
  });
  const data = listeners();
  let exited = null;
  term.onData((chunk) => data.emit(Buffer.from(chunk)));
  term.onExit((e) => (exited = e));
  return {
    name,
    send: (text) => term.write(text),
    onData: (listener) => data.add(listener),
    exited: () => exited,
    close: async () => {
      try {
        term.kill('SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

/** Waits until `terminal` has been silent for `quietMs` (bounded by `timeoutMs`). */
export async function settle(terminal, quietMs = 300, timeoutMs = 10_000) {
  let last = nowMs();
  const off = terminal.onData(() => (last = nowMs()));
  const deadline = nowMs() + timeoutMs;
  try {
    while (nowMs() - last < quietMs) {
      if (nowMs() > deadline) throw new Error(`${terminal.name} did not fall silent within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    off();
  }
}

/** Waits (bounded) until `text` appears in the terminal's output, escape sequences removed. */
export function waitText(terminal, text, timeoutMs, what = `"${text}" from ${terminal.name}`) {
  let window = '';
  let off;
  const seen = new Promise((resolve) => {
    off = terminal.onData((chunk) => {
      window = (window + chunk.toString('latin1')).slice(-4096);
      // eslint-disable-next-line no-control-regex
      if (window.replace(/\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-B]|[=>78])/g, '').includes(text))
        resolve(nowMs());
    });
  });
  return withTimeout(seen, timeoutMs, what).finally(() => off());
}

/**
 * One keystroke round trip at a time: sends a letter and resolves with the time until the same letter came
 * back. The clock stops inside the data callback, so promise scheduling after the byte arrives is not counted.
 */
export function prober(terminal) {
  let pending = null;
  const off = terminal.onData((chunk) => {
    if (pending && chunk.includes(pending.byte)) {
      const done = pending;
      pending = null;
      done.resolve(nowMs());
    }
  });
  let i = 0;
  let sinceReset = 0;
  return {
    off,
    async once() {
      // A line-buffered program (cat behind a cooked terminal) gets a carriage return now and then, untimed,
      // so its line never fills; the burst of output it causes is waited out before the next sample.
      if (terminal.resetEvery && sinceReset >= terminal.resetEvery) {
        sinceReset = 0;
        terminal.send('\r');
        await settle(terminal, 100, 5_000);
      }
      sinceReset += 1;
      const ch = CHARS[i++ % CHARS.length];
      const back = new Promise((resolve) => (pending = { byte: ch.charCodeAt(0), resolve }));
      const t0 = nowMs();
      terminal.send(ch);
      const t1 = await withTimeout(
        back,
        PER_SAMPLE_TIMEOUT_MS,
        `the echo of "${ch}" through ${terminal.name}`,
      );
      return t1 - t0;
    },
  };
}

/** Fisher-Yates, in place. */
export function shuffle(items) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Keystroke round trips of every terminal, one per terminal per round in a shuffled order (load from other
 * processes lands on all alike), `warmup` untimed rounds first, at most `samples` timed rounds and `limitMs`.
 */
export async function sampleRoundRobin(terminals, { samples, warmup, limitMs }) {
  const probes = terminals.map((t) => ({ terminal: t, probe: prober(t), times: [] }));
  const deadline = nowMs() + limitMs;
  let rounds = 0;
  try {
    const order = [...probes];
    while (rounds < warmup + samples && nowMs() < deadline) {
      shuffle(order);
      for (const p of order) {
        const t = await p.probe.once();
        if (rounds >= warmup) p.times.push(t);
      }
      rounds += 1;
    }
  } finally {
    for (const p of probes) p.probe.off();
  }
  return Object.fromEntries(
    probes.map(({ terminal, times }) => [
      terminal.name,
      { ...summarize(times), cappedByTime: rounds < warmup + samples },
    ]),
  );
}

/**
 * One output burst: sends "g" to a `pty-program.mjs blast <lines> --end-marker` and times until BLAST-END is
 * seen. Returns MiB/s of the program's output (`programBytes`), and the bytes the terminal received (a tmux
 * client receives a rendering of the screen, not every byte).
 */
export async function markerBurst(terminal, programBytes, limitMs) {
  await settle(terminal);
  let received = 0;
  const off = terminal.onData((chunk) => (received += chunk.length));
  try {
    const end = waitText(terminal, 'BLAST-END', limitMs, `the end of a burst through ${terminal.name}`);
    const t0 = nowMs();
    terminal.send('g');
    const t1 = await end;
    const seconds = (t1 - t0) / 1000;
    return { mibPerSec: programBytes / 1048576 / seconds, seconds, received };
  } finally {
    off();
  }
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
