// Builds the `ralph web` page into dist/web/: the page's TypeScript bundled by esbuild into one browser
// module (app.js), with the HTML and CSS beside it. Everything the page loads comes from there: no CDN.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'web');
const OUT = join(ROOT, 'dist', 'web');

export async function bundleWeb() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: { app: join(SRC, 'main.ts') },
    outdir: OUT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    tsconfig: join(SRC, 'tsconfig.json'),
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const name of ['index.html', 'style.css']) copyFileSync(join(SRC, name), join(OUT, name));
  return OUT;
}
