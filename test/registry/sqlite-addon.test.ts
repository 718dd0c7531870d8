/**
 * The registry loads SQLite's compiled addon itself (src/registry/sqlite.ts). An install whose SQLite package
 * has its JavaScript but no addon (a failed native build, a copied node_modules) gets one clear error naming
 * the files it looked for and what to run, not a stack trace from inside the package.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './built.js';

const ROOT = join(import.meta.dirname, '..', '..');
const napi = Number(process.versions.node.split('.')[0]) >= 22;
const packageName = napi ? 'better-sqlite3-napi' : 'better-sqlite3';

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ralph-sqlite-addon-'));
  // The built registry's SQLite module and what it imports, next to a node_modules whose SQLite package has
  // its JavaScript (the real files) and nothing compiled.
  mkdirSync(join(dir, 'src', 'registry'), { recursive: true });
  for (const file of ['registry/sqlite.js', 'errors.js', 'error-codes.js', 'exit-codes.js']) {
    copyFileSync(join(ROOT, 'dist', 'src', file), join(dir, 'src', file));
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  // Both SQLite packages are imported (each Node uses one); neither has anything compiled here.
  for (const name of ['better-sqlite3', 'better-sqlite3-napi']) {
    const pkg = join(dir, 'node_modules', name);
    mkdirSync(pkg, { recursive: true });
    copyFileSync(join(ROOT, 'node_modules', name, 'package.json'), join(pkg, 'package.json'));
    // A copy, not a link: Node resolves a package through links to where its files really are.
    cpSync(join(ROOT, 'node_modules', name, 'lib'), join(pkg, 'lib'), { recursive: true });
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("SQLite's compiled addon", () => {
  it('missing: one clear error that names where it looked and what to run', async () => {
    const script = [
      `const { nativeBinding } = await import(${JSON.stringify(join(dir, 'src', 'registry', 'sqlite.js'))});`,
      'try { nativeBinding(); console.log("loaded"); }',
      'catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message, hint: err.hint })); }',
    ].join('\n');
    const run = await execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
    expect(run.stderr).toBe('');
    const error = JSON.parse(run.stdout) as { code: string; message: string; hint: string };
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(error.message).toBe(`${packageName} has no compiled addon for this Node.js`);
    const pkg = join(dir, 'node_modules', packageName);
    expect(error.hint).toContain(join(pkg, 'build', 'Release', 'better_sqlite3.node'));
    if (napi) expect(error.hint).toContain(join(pkg, 'prebuilds', `linux-${process.arch}.node`));
    expect(error.hint).toContain(`npm rebuild ${packageName}`);
  });

  it('present: the same module loads it from the real package', async () => {
    const script = [
      `const { nativeBinding, Database } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'registry', 'sqlite.js'))});`,
      'const db = new Database(":memory:", { nativeBinding: nativeBinding() });',
      'console.log(db.prepare("SELECT 6 * 7 AS n").get().n); db.close();',
    ].join('\n');
    const run = await execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('42');
  });
});
