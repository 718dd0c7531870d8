// After tsc: bundles the CLI entry (scripts/bundle.mjs) and marks it executable so `npx ralph` and
// `npm link` work.
import { chmodSync, existsSync } from 'node:fs';
import { bundleCli } from './bundle.mjs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
await bundleCli();
if (existsSync(entry)) chmodSync(entry, 0o755);
