/**
 * The screen model leaves unparsed the output that scrolls out of its screen and scrollback unseen. What it
 * shows must be exactly what a terminal fed every byte shows: checked here against a plain headless xterm on
 * generated streams (floods, colours, wide characters, scroll regions with the cursor inside and below them,
 * the alternate screen, resizes, arbitrary chunking).
 */
import xterm from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { Screen, type ScreenSnapshot } from '../../src/loop/screen.js';
import { findSkip } from '../../src/loop/screen-skip.js';

const { Terminal } = xterm;
type Term = InstanceType<typeof Terminal>;

const SCROLLBACK = 1000;

function lines(n: number, make: (i: number) => string): string {
  let out = '';
  for (let i = 0; i < n; i++) out += make(i);
  return out;
}

describe('findSkip', () => {
  const flood = lines(3000, (i) => `line ${i}\r\n`);

  it('skips a flood of plain lines up to the last lines that fill screen and scrollback', () => {
    const data = Buffer.from(flood);
    const skip = findSkip(data, 1049);
    expect(skip).not.toBeNull();
    expect(skip!.from).toBe(0);
    const kept = data.subarray(skip!.to).toString();
    expect(kept.startsWith('line 1951\r\n')).toBe(true);
    expect(kept.split('\n').length - 1).toBe(1049);
    expect(skip!.sgr.length).toBe(0);
  });

  it('keeps the colour changes since the last reset', () => {
    const data = Buffer.from(`\x1b[31mred\r\n\x1b[0;1mbold\x1b[32m${flood}`);
    const skip = findSkip(data, 1049);
    expect(skip!.sgr.toString()).toBe('\x1b[0;1m\x1b[32m');
  });

  it('does not cross anything but text, line ends and colours', () => {
    // A run starts after the byte that ends the one before; the rest of a sequence may look like text (the
    // screen checks that its parser is between sequences before it skips).
    const stops: [string, number][] = [
      ['\x1b[H', 1],
      ['\x1b[5;10r', 1],
      ['\x1b]0;title\x07', 10],
      ['\x07', 1],
      ['\x1b[?1049h', 1],
      ['\xc2\x85', 2],
      ['\x0e', 1],
    ];
    for (const [stop, ends] of stops) {
      const data = Buffer.concat([
        Buffer.from(flood.slice(0, 200)),
        Buffer.from(stop, 'latin1'),
        Buffer.from(flood),
      ]);
      const skip = findSkip(data, 1049);
      expect(skip, JSON.stringify(stop)).not.toBeNull();
      expect(skip!.from, JSON.stringify(stop)).toBe(200 + ends);
    }
  });

  it('finds nothing when too few lines follow or no carriage return does', () => {
    expect(findSkip(Buffer.from(lines(1000, (i) => `l${i}\r\n`)), 1049)).toBeNull();
    expect(findSkip(Buffer.from(lines(3000, (i) => `l${i}\n`)), 1049)).toBeNull();
  });

  it('counts multi-byte characters as text, a broken one as the end of a run', () => {
    const wide = lines(3000, (i) => `漢字 ✓ ${i}\r\n`);
    expect(findSkip(Buffer.from(wide), 1049)?.from).toBe(0);
    const broken = Buffer.concat([Buffer.from('ab'), Buffer.from([0xe6, 0x41]), Buffer.from(wide)]);
    expect(findSkip(broken, 1049)?.from).toBe(3);
  });
});

/** A small deterministic generator, so a failing stream can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Step = { write: string } | { resize: [number, number] };

function stream(seed: number): Step[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const n = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const steps: Step[] = [];
  const text = (i: number) =>
    pick([
      () => `plain ${seed}.${i} ${'x'.repeat(n(0, 60))}\r\n`,
      () => `\x1b[3${n(0, 7)}mcolour ${i}\x1b[0m tail\r\n`,
      () => `wide 漢字 ✓ ${i}${'é'.repeat(n(0, 30))}\r\n`,
      () => `${'long'.repeat(n(20, 60))} ${i}\r\n`,
      () => `progress 10%\rprogress ${i}%\r\n`,
      () => `tab\there ${i}\tthere\r\n`,
      () => `lf only ${i}\n`,
      () => `back\b\bspace ${i}\r\n`,
    ])();
  for (let part = 0; part < 12; part++) {
    const kind = rnd();
    if (kind < 0.45) {
      steps.push({ write: lines(n(1, 4000), text) });
    } else if (kind < 0.55) {
      steps.push({ write: `\x1b[${n(1, 8)};${n(9, 20)}r\x1b[${n(1, 30)};${n(1, 40)}H` });
    } else if (kind < 0.6) {
      steps.push({ write: '\x1b[r' });
    } else if (kind < 0.67) {
      steps.push({ write: pick(['\x1b[?1049h', '\x1b[?1049l']) });
    } else if (kind < 0.74) {
      steps.push({ write: `\x1b[2J\x1b[${n(1, 24)};${n(1, 80)}H` });
    } else if (kind < 0.8) {
      steps.push({ resize: [n(20, 120), n(5, 40)] });
    } else if (kind < 0.86) {
      steps.push({ write: `\x1b[4h${lines(n(1, 50), text)}\x1b[4l` });
    } else {
      steps.push({ write: lines(n(1, 30), text) });
    }
  }
  return steps;
}

/** Splits `data` at random points, as a PTY's reads would. */
function chunks(data: Buffer, rnd: () => number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const size = 1 + Math.floor(rnd() * (rnd() < 0.2 ? 600_000 : 20_000));
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

function snap(term: Term): ScreenSnapshot {
  const buffer = term.buffer.active;
  const text = (y: number): string => buffer.getLine(y)?.translateToString(true) ?? '';
  const rows: string[] = [];
  for (let y = 0; y < term.rows; y++) rows.push(text(buffer.viewportY + y));
  const history: string[] = [];
  for (let y = Math.max(0, buffer.viewportY - SCROLLBACK); y < buffer.viewportY; y++) history.push(text(y));
  return {
    cols: term.cols,
    rows: term.rows,
    cursor: { x: buffer.cursorX, y: buffer.cursorY },
    lines: rows,
    history,
  };
}

/** Feeds `steps` to a Screen and to a plain terminal; returns both snapshots and what the Screen skipped. */
async function compare(steps: Step[], rnd: () => number, cols = 80, rows = 24) {
  const reference: Term = new Terminal({ cols, rows, scrollback: SCROLLBACK, allowProposedApi: true });
  const screen = new Screen(cols, rows, SCROLLBACK);
  try {
    let total = 0;
    for (const step of steps) {
      if ('resize' in step) {
        reference.resize(...step.resize);
        screen.resize(...step.resize);
        continue;
      }
      const data = Buffer.from(step.write);
      total += data.length;
      await new Promise<void>((resolve) => reference.write(data, resolve));
      for (const chunk of chunks(data, rnd)) screen.write(chunk);
    }
    await screen.flush();
    return { got: screen.snapshot(SCROLLBACK), want: snap(reference), skipped: screen.skippedBytes, total };
  } finally {
    reference.dispose();
    screen.dispose();
  }
}

describe('Screen leaves scrolled-away output unparsed', () => {
  it('shows what a terminal fed every byte shows, on 40 generated streams', async () => {
    let skipped = 0;
    let total = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const run = await compare(stream(seed), prng(seed * 7919));
      expect(run.got, `seed ${seed}`).toEqual(run.want);
      skipped += run.skipped;
      total += run.total;
    }
    // The comparison means something only if a good part of the output was in fact left unparsed.
    expect(skipped).toBeGreaterThan(total / 4);
  }, 120_000);

  it('waits for the cursor to reach the bottom before counting lines that push the screen out', async () => {
    // Long lines fill the screen, the cursor goes home, then short lines flood: the first of them overwrite
    // the long ones only in part, and those rows must have left the scrollback before anything is skipped.
    const full = lines(24, (i) => `${String(i).padEnd(79, 'O')}\r\n`);
    const run = await compare(
      [{ write: `${full}\x1b[H` }, { write: lines(6000, (i) => `s${i}\r\n`) }],
      prng(1),
    );
    expect(run.got).toEqual(run.want);
    expect(run.skipped).toBeGreaterThan(0);
  });

  it('parses a flood whose cursor sits below the scroll region, where every line stays on the last row', async () => {
    const screen = new Screen(40, 10, 50);
    try {
      // Region rows 2..5; the cursor on row 10, the last, never scrolls, so each line overwrites the last row in place.
      screen.write(Buffer.from('\x1b[2;5r\x1b[10;1H'));
      screen.write(Buffer.from(`${'LONGEST LINE OF ALL'}\r\n${lines(20_000, (i) => `s${i}\r\n`)}`));
      await screen.flush();
      const shot = screen.snapshot();
      expect(shot.lines[9]).toBe('s19999T LINE OF ALL');
      expect(screen.skippedBytes).toBe(0);
    } finally {
      screen.dispose();
    }
  });

  it('skips most of a plain flood and still shows its last lines and colours', async () => {
    const screen = new Screen(80, 24);
    try {
      const flood = lines(100_000, (i) => `\x1b[0;3${i % 8}mline ${i}\r\n`);
      screen.write(Buffer.from(flood));
      screen.write(Buffer.from('end'));
      await screen.flush();
      const shot = screen.snapshot(2);
      expect(shot.lines[22]).toBe('line 99999');
      expect(shot.lines[23]).toBe('end');
      expect(shot.history).toEqual(['line 99975', 'line 99976']);
      expect(screen.skippedBytes).toBeGreaterThan(flood.length * 0.9);
    } finally {
      screen.dispose();
    }
  });
});
