/**
 * The `ralph` executable (package.json's bin, dist/cli/ralph.js) turns on V8's compile cache where Node has it
 * (22.1 and later; the suite runs on Node 20 and on Node 24): in this user's cache folder, and only when that
 * folder and its parent are open to no one else, since compiled code read from a folder another user could write
 * to would be theirs to choose. The command runs the same either way.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT } from './built.js';
import { useCliSandbox } from './harness.js';

const sb = useCliSandbox();
const BIN = join(ROOT, 'dist', 'cli', 'ralph.js');
const HAS_CACHE = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function ralph(args: string[], home = sb().home): Promise<string> {
  const r = await execa(process.execPath, [BIN, ...args], {
    env: { ...sb().env, RALPH_HOME: home },
    extendEnv: false,
    reject: false,
    timeout: 30_000,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

/** The files the cache holds, in every Node version's folder. */
function cached(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((sub) => readdirSync(join(dir, sub)).map((f) => join(sub, f)));
}

describe('the ralph executable', () => {
  it('is the package bin, executable, and runs the command line', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin.ralph).toBe('dist/cli/ralph.js');
    expect(statSync(BIN).mode & 0o111).not.toBe(0);
    expect((await ralph(['--version'])).trim()).toBe(VERSION);
    expect(await ralph(['status'])).toContain('no loops yet');
  });

  it(`keeps compiled code in <RALPH_HOME>/cache/compile${HAS_CACHE ? '' : ' (not on this Node: none)'}`, async () => {
    const dir = join(sb().home, 'cache', 'compile');
    await ralph(['status']);
    if (!HAS_CACHE) {
      expect(existsSync(dir)).toBe(false);
      return;
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = cached(dir);
    expect(files.length).toBeGreaterThan(2);
    // A second run reads them back rather than adding new ones.
    await ralph(['status']);
    expect(cached(dir)).toEqual(files);
  });

  for (const open of ['compile', 'cache'] as const) {
    it(`leaves the cache off when the ${open === 'compile' ? 'folder' : "folder's parent"} is writable by others`, async () => {
      const home = join(sb().root, `home-${open}`);
      const dir = join(home, 'cache', 'compile');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(open === 'compile' ? dir : join(home, 'cache'), 0o777);
      expect((await ralph(['--version'], home)).trim()).toBe(VERSION);
      expect(await ralph(['status'], home)).toContain('no loops yet');
      expect(cached(dir)).toEqual([]);
    });
  }
});
