/**
 * The CLI tests run the built binary (dist/cli/main.js). When vitest runs alone and the build is missing or
 * older than any source it is made from, build it here exactly as `npm run build` does. tsc emits JavaScript
 * even when an unrelated file fails to typecheck, so only freshness is checked afterwards. A lock directory
 * keeps parallel test files from building over each other.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI_MAIN = join(ROOT, 'dist', 'cli', 'main.js');

const LOCK = join(tmpdir(), `ralph-cli-build-${process.getuid?.() ?? 'user'}.lock`);
const LOCK_STALE_MS = 180_000;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    const isSource =
      entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts');
    return isSource ? [path] : [];
  });
}

/** The bundles the build makes of the sources: the CLI, plain `ralph status`, and the runner every loop runs. */
export const BUNDLES = ['main.js', 'status-entry.js', 'runner.js'].map((name) =>
  join(ROOT, 'dist', 'cli', name),
);

/** Sources whose JavaScript in dist/ is missing or older than they are, or newer than a bundle made of them. */
export function staleSources(): string[] {
  const all = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'cli'))];
  const code = all.filter((src) => {
    const out = join(ROOT, 'dist', relative(ROOT, src).replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
  });
  // `tsc` run alone refreshes dist/src but not the bundles, which a runner or the CLI would then run stale.
  const newest = Math.max(...all.map((src) => statSync(src).mtimeMs));
  const bundles = BUNDLES.filter((file) => !existsSync(file) || statSync(file).mtimeMs < newest);
  return [...code, ...bundles, ...staleWebPage()];
}

/** Files of the `ralph web` page (web/) newer than what the build made of them in dist/web/. */
function staleWebPage(): string[] {
  const dir = join(ROOT, 'web');
  const files = readdirSync(dir).filter((name) => /\.(ts|html|css)$/.test(name));
  return files
    .map((name) => [join(dir, name), join(ROOT, 'dist', 'web', name.endsWith('.ts') ? 'app.js' : name)])
    .filter(([src, out]) => !existsSync(out!) || statSync(out!).mtimeMs < statSync(src!).mtimeMs)
    .map(([src]) => src!);
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`build lock ${LOCK} held for too long`);
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export async function ensureCliBuilt(): Promise<void> {
  if (staleSources().length === 0 && existsSync(CLI_MAIN)) return;
  await withLock(async () => {
    if (staleSources().length === 0 && existsSync(CLI_MAIN)) return;
    const build = await execa('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, reject: false });
    await execa(process.execPath, [join(ROOT, 'scripts', 'postbuild.mjs')], { cwd: ROOT });
    const left = staleSources();
    if (left.length > 0 || !existsSync(CLI_MAIN)) {
      throw new Error(
        `the build left ${left.join(', ') || CLI_MAIN} stale:\n${build.stdout}\n${build.stderr}`,
      );
    }
  });
}
