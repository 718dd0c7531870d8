import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, parseProcStat, processStartTime, sameProcess } from './proc.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function track(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function deadPid(): Promise<number> {
  const child = track(spawn(process.execPath, ['-e', '0']));
  await exited(child);
  return child.pid!;
}

/** Waits (bounded) until /proc/<pid>/stat shows `state`. */
async function waitForState(pid: number, state: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if (parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.state === state) return;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`process ${pid} never reached state ${state}`);
}

describe('parseProcStat', () => {
  const tail = ['S', ...Array.from({ length: 49 }, (_, i) => String(i + 4))].join(' ');

  it('reads field 22 after a plain command name', () => {
    expect(parseProcStat(`77 (node) ${tail}\n`)).toEqual({ state: 'S', startTime: '22' });
  });

  it('counts fields from the last ")" when the command name has spaces and parentheses', () => {
    expect(parseProcStat(`77 (a) b (c) d) ${tail}\n`)).toEqual({ state: 'S', startTime: '22' });
  });

  it('rejects text that does not parse', () => {
    expect(parseProcStat('garbage')).toBeNull();
    expect(parseProcStat('1 (x) S 1 2')).toBeNull();
  });
});

describe.runIf(process.platform === 'linux')('live processes', () => {
  it('reads the start time of a process whose name contains ") ("', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ralph-proc-'));
    dirs.push(dir);
    const odd = join(dir, 'x) S 1 (y');
    copyFileSync('/usr/bin/sleep', odd);
    chmodSync(odd, 0o755);
    const child = track(spawn(odd, ['30']));
    await new Promise((r) => child.once('spawn', r));
    const pid = child.pid!;
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
    expect(comm).toContain(')');
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const prefix = `${pid} (${comm}) `;
    expect(raw.startsWith(prefix)).toBe(true);
    const expected = raw.slice(prefix.length).split(' ')[19];
    expect(processStartTime(pid)).toBe(expected);
    expect(sameProcess(pid, expected!)).toBe(true);
  });

  it('tells a live process from a gone one, and detects a start-time mismatch', async () => {
    const child = track(spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']));
    await new Promise((r) => child.once('spawn', r));
    const pid = child.pid!;
    const start = processStartTime(pid);
    expect(start).toMatch(/^\d+$/);
    expect(isAlive(pid)).toBe(true);
    expect(sameProcess(pid, start)).toBe(true);
    expect(sameProcess(pid, null)).toBe(true);
    expect(sameProcess(pid, `${start}0`)).toBe(false);
    child.kill('SIGKILL');
    await exited(child);
    expect(isAlive(pid)).toBe(false);
    expect(processStartTime(pid)).toBeNull();
    expect(sameProcess(pid, start)).toBe(false);
  });

  it('counts a zombie (exited, not reaped) as gone', async () => {
    // sh starts a short sleep in the background, prints its pid, then becomes `sleep 30`, which never reaps
    // it: once the short sleep ends it stays a zombie.
    const child = track(spawn('/bin/sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 30']));
    const line = await new Promise<string>((resolve) =>
      child.stdout!.once('data', (b: Buffer) => resolve(String(b))),
    );
    const zombie = Number(line.trim());
    await waitForState(zombie, 'Z');
    expect(() => process.kill(zombie, 0)).not.toThrow();
    expect(isAlive(zombie)).toBe(false);
  });

  it('handles pids that cannot name a process', async () => {
    expect(isAlive(0)).toBe(false);
    expect(isAlive(-1)).toBe(false);
    expect(isAlive(1.5)).toBe(false);
    expect(processStartTime(0)).toBeNull();
    expect(isAlive(await deadPid())).toBe(false);
    expect(isAlive(process.pid)).toBe(true);
    expect(isAlive(1)).toBe(true);
  });
});
