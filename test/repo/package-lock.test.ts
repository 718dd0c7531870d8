/**
 * package-lock.json must be what npm itself writes, or `npm install` on a fresh clone rewrites a tracked file.
 * npm records `hasInstallScript: true` on every package that has an install, preinstall or postinstall script
 * (or a binding.gyp, which implies `node-gyp rebuild`). This checks each installed package against its lock
 * entry: a lock edited by hand, or written by another npm, fails here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

interface LockEntry {
  version?: string;
  hasInstallScript?: boolean;
  link?: boolean;
}

function installScript(dir: string): boolean {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const scripts = manifest.scripts ?? {};
  return (
    ['preinstall', 'install', 'postinstall'].some((name) => scripts[name] !== undefined) ||
    existsSync(join(dir, 'binding.gyp'))
  );
}

describe('package-lock.json', () => {
  it('marks exactly the installed packages that have install scripts with hasInstallScript', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const checked: string[] = [];
    const mismatches: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.link === true) continue;
      const dir = join(ROOT, path);
      if (!existsSync(join(dir, 'package.json'))) continue; // an optional package for another platform
      const expected = installScript(dir);
      checked.push(path);
      if ((entry.hasInstallScript === true) !== expected) {
        mismatches.push(
          `${path}: lock says ${entry.hasInstallScript === true}, the package says ${expected}`,
        );
      }
    }
    expect(mismatches).toEqual([]);
    // The native modules this project builds are among those checked.
    expect(checked).toEqual(
      expect.arrayContaining([
        'node_modules/better-sqlite3',
        'node_modules/better-sqlite3-napi',
        'node_modules/node-pty',
      ]),
    );
  });
});
