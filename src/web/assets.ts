/**
 * The page's files, built by `npm run build` (scripts/bundle-web.mjs) into dist/web/ and shipped in the
 * package. Only the files found there when the server starts are served, by exact name: nothing else on the
 * disk can be reached through a URL.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

export interface Asset {
  body: Buffer;
  type: string;
}

/** dist/web/, next to dist/src/ where this module is built. */
export function defaultAssetsDir(): string {
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

/** Reads every file of `dir` with a known type, keyed by `/assets/<name>`; index.html is the page. */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return assets;
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    const file = join(dir, name);
    if (type === undefined || !statSync(file).isFile()) continue;
    assets.set(`/assets/${name}`, { body: readFileSync(file), type });
  }
  return assets;
}
