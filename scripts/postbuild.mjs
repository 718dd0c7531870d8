// After tsc: bundles the CLI entries (scripts/bundle.mjs) and marks them executable so `npx ralph` and
// `npm link` work, and builds the `ralph web` page into dist/web (scripts/bundle-web.mjs).
import { chmodSync, existsSync } from 'node:fs';
import { bundleCli } from './bundle.mjs';
import { bundleWeb } from './bundle-web.mjs';

const entries = ['ralph.js', 'main.js', 'git-remote-ralph.js'].map(
  (name) => new URL(`../dist/cli/${name}`, import.meta.url),
);
await bundleCli();
await bundleWeb();
for (const entry of entries) if (existsSync(entry)) chmodSync(entry, 0o755);
