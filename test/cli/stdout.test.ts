/**
 * Listings go to fd 1 directly (cli/output.ts `writeStdout`), without building `process.stdout`. What that must
 * still get right, with a listing larger than a pipe holds (1,000 rows of `status --all --json`, about 600 KB):
 * a non-blocking pipe whose reader is slow gets every byte, in order (the rest goes through the stream once a
 * write would block), and a reader that goes away ends the output quietly with exit 0. The pipes are made by
 * perl (part of every Debian system): a Node parent cannot hand a child a non-blocking pipe, libuv makes the
 * child's stdio blocking.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { Registry } from '../../src/registry/index.js';
import { CLI_MAIN } from './built.js';
import { useCliSandbox } from './harness.js';

const sb = useCliSandbox();
const ROWS = 1000;

/** Runs ARGV with its stdout on a pipe; `$mode` 'slow': non-blocking, read after 0.5 s; 'close': 10 bytes read. */
const PERL = `
use strict; use Fcntl;
my $mode = shift @ARGV;
pipe(my $r, my $w) or die "pipe: $!";
if ($mode eq 'slow') { my $f = fcntl($w, F_GETFL, 0); fcntl($w, F_SETFL, $f | O_NONBLOCK) or die "fcntl: $!"; }
my $pid = fork(); die "fork: $!" unless defined $pid;
if ($pid == 0) { close $r; open(STDOUT, '>&', $w) or die "dup: $!"; exec(@ARGV) or die "exec: $!"; }
close $w;
my $out = '';
if ($mode eq 'slow') { select(undef, undef, undef, 0.5); local $/; $out = <$r>; }
else { read($r, $out, 10); close $r; }
waitpid($pid, 0);
print STDERR "exit=", $? >> 8, " signal=", $? & 127, "\\n";
binmode STDOUT; print $out;
`;

function fill(): void {
  const registry = Registry.open(sb().paths.registryFile);
  try {
    registry.transaction(() => {
      for (let i = 0; i < ROWS; i++) {
        registry.create({
          task: `task-${String(i).padStart(4, '0')}`,
          location: 'local',
          transport: 'unix',
          address: `${sb().paths.runDir}/task-${i}.sock`,
          agent: 'claude',
          taskDir: `/home/user/projects/p${i}/tasks/task-${i}`,
          maxIterations: 25,
          status: 'completed',
          exitReason: `completed after ${i % 25} iterations, every story passes`,
        });
      }
    });
  } finally {
    registry.close();
  }
}

async function throughPerl(mode: 'slow' | 'close'): Promise<{ stdout: string; stderr: string }> {
  const r = await execa('perl', ['-e', PERL, mode, process.execPath, CLI_MAIN, 'status', '--all', '--json'], {
    env: sb().env,
    extendEnv: false,
    reject: false,
    timeout: 60_000,
    stripFinalNewline: false,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}

describe('status output on pipes', () => {
  it('a non-blocking pipe with a slow reader gets the whole listing, in order', async () => {
    fill();
    const { stdout, stderr } = await throughPerl('slow');
    expect(stderr).toBe('exit=0 signal=0\n');
    // More than a pipe holds, so some writes would have blocked.
    expect(stdout.length).toBeGreaterThan(256 * 1024);
    const out = JSON.parse(stdout) as { sessions: { task: string }[] };
    expect(out.sessions).toHaveLength(ROWS);
    expect(out.sessions.map((s) => s.task)).toEqual(
      Array.from({ length: ROWS }, (_, i) => `task-${String(ROWS - 1 - i).padStart(4, '0')}`),
    );
  });

  it('a reader that goes away ends the output: exit 0, nothing on stderr', async () => {
    fill();
    const { stdout, stderr } = await throughPerl('close');
    expect(stdout).toBe('{\n  "sessi');
    expect(stderr).toBe('exit=0 signal=0\n');
  });
});
