/**
 * The concurrency fixtures import the built registry from dist/. `npm test` builds before running vitest; when
 * vitest runs alone and the build is missing or older than the sources, build it here with the normal build
 * config (tsc emits JavaScript even when unrelated files fail to typecheck, so only freshness is checked).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

const ROOT = join(import.meta.dirname, '..', '..');

const SOURCES = [
  ...readdirSync(join(ROOT, 'src', 'registry'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => join('src', 'registry', f)),
  join('src', 'util', 'proc.ts'),
  join('src', 'config', 'paths.ts'),
  join('src', 'errors.ts'),
];

function stale(): string[] {
  return SOURCES.filter((src) => {
    const out = join(ROOT, 'dist', src.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, src)).mtimeMs;
  });
}

export const BUILT_REGISTRY = join(ROOT, 'dist', 'src', 'registry', 'index.js');
export const WRITER_FIXTURE = join(ROOT, 'test', 'fixtures', 'registry-writer.mjs');
export const RUNNER_FIXTURE = join(ROOT, 'test', 'fixtures', 'registry-runner.mjs');

export async function ensureBuilt(): Promise<void> {
  if (stale().length === 0) return;
  const result = await execa('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, reject: false });
  const left = stale();
  if (left.length > 0) {
    throw new Error(`build left ${left.join(', ')} stale:\n${result.stdout}\n${result.stderr}`);
  }
}
