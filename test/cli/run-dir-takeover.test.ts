/**
 * Another local user trying to take over the fallback run directory `<tmp>/ralph-<uid>` (RALPH_HOME and
 * XDG_RUNTIME_DIR unset): a real second Unix user, created for the test, prepares the directory first;
 * `ralph start` must refuse it, change nothing of theirs and put no socket there. TMPDIR is a fresh sticky
 * 1777 folder inside the sandbox, so the machine's /tmp is never touched.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ralphPaths } from '../../src/config/paths.js';
import { Registry } from '../../src/registry/index.js';
import { isAlive, processStartTime } from '../../src/util/proc.js';
import { createOtherUser, skipWithoutOtherUser, type OtherUser } from '../support/other-user.js';
import { ensureCliBuilt } from './built.js';
import { CliSandbox, descendants, startArgs, waitFor, type TaskFolder } from './harness.js';

const skip = skipWithoutOtherUser('run directory takeover tests (test/cli/run-dir-takeover.test.ts)');

let sb: CliSandbox;
let other: OtherUser;
let tmp: string;
let runDir: string;

/** Kills any runner the sandbox's XDG registry knows of (only the code before the fix ever starts one). */
async function killRunners(env: NodeJS.ProcessEnv): Promise<void> {
  const file = ralphPaths(env).registryFile;
  if (!existsSync(file)) return;
  const registry = Registry.open(file);
  const rows = registry.list({ all: true });
  registry.close();
  const pids = rows
    .filter((s) => s.pid !== null && s.pidStartTime !== null && processStartTime(s.pid) === s.pidStartTime)
    .map((s) => s.pid!);
  const all = [...pids, ...pids.flatMap(descendants)];
  for (const pid of all) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(() => all.every((pid) => !isAlive(pid)), 'left-over runners to die', 5000);
}

describe.skipIf(skip)('the fallback run directory cannot be taken over by another user', () => {
  let task: TaskFolder;

  beforeAll(async () => {
    await ensureCliBuilt();
    sb = new CliSandbox();
    other = createOtherUser();
    sb.defer(() => other.remove());
    // The other user must reach the temp folder: the sandbox is searchable, its tmp sticky and world-writable.
    chmodSync(sb.root, 0o711);
    tmp = join(sb.root, 'tmp');
    chmodSync(tmp, 0o1777);
    const home = join(sb.root, 'user-home');
    mkdirSync(home, { mode: 0o700 });
    const env = sb.env;
    delete env.RALPH_HOME;
    delete env.XDG_RUNTIME_DIR;
    Object.assign(env, {
      HOME: home,
      TMPDIR: tmp,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
    });
    runDir = join(tmp, `ralph-${process.getuid!()}`);
    expect(ralphPaths(env).runDir).toBe(runDir);
    task = sb.makeTask('victim', { script: [{ print: 'working' }, { hang: true }] });
  });

  // Each case starts from an empty temp folder, whatever the previous one left (the code before the fix did
  // start runners and put sockets in the other user's folder).
  afterEach(async () => {
    await killRunners(sb.env);
    for (const entry of readdirSync(tmp)) rmSync(join(tmp, entry), { recursive: true, force: true });
    rmSync(ralphPaths(sb.env).dataDir, { recursive: true, force: true });
  });

  afterAll(async () => {
    await sb?.dispose();
  });

  /** `ralph start` refuses the run folder with exit code 4, one line saying why, and a fix-it hint. */
  async function expectRefused(why: string): Promise<void> {
    const result = await sb.ralph(startArgs(task));
    expect(result.stderr.split('\n')[0]).toBe(`ralph: refusing to use ${runDir}: ${why}`);
    expect(result.stderr).toMatch(/RALPH_HOME or XDG_RUNTIME_DIR/);
    expect(result.exitCode).toBe(4);
  }

  /** The other user's folder still belongs to them, with the mode they gave it. */
  function expectUntouched(st: Stats, mode: number): void {
    expect(st.uid).toBe(other.uid);
    expect(st.mode & 0o7777).toBe(mode);
  }

  it('(a) a symlink to a folder of theirs is refused, and their folder is left as it was', async () => {
    const theirs = join(tmp, 'theirs');
    other.check('/bin/mkdir', ['-m', '0755', theirs]);
    other.check('/bin/ln', ['-s', theirs, runDir]);
    expect(lstatSync(runDir).isSymbolicLink()).toBe(true);

    await expectRefused('it is a symbolic link');
    expectUntouched(statSync(theirs), 0o755);
    expect(readdirSync(theirs)).toEqual([]);
  });

  it('(b) a folder they created open to all (0777) is refused, so they cannot swap the socket', async () => {
    other.check('/bin/mkdir', ['-m', '0777', runDir]);
    other.check('/bin/chmod', ['0777', runDir]);

    await expectRefused(`it is owned by uid ${other.uid}, not by uid ${process.getuid!()}`);
    expectUntouched(lstatSync(runDir), 0o777);
    expect(readdirSync(runDir)).toEqual([]);
  });

  it('once the folder is gone, start creates its own private one and the loop runs', async () => {
    expect(existsSync(runDir)).toBe(false);
    const result = await sb.ralph(startArgs(task));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const st = lstatSync(runDir);
    expect(st.isDirectory()).toBe(true);
    expect(st.uid).toBe(process.getuid!());
    expect(st.mode & 0o7777).toBe(0o700);
    expect(lstatSync(join(runDir, 'victim.sock')).isSocket()).toBe(true);
    const stop = await sb.ralph(['stop', 'victim', '--force']);
    expect(stop.exitCode).toBe(0);
  });
});
