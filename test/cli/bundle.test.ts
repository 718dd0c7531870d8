/**
 * The built CLI entry is an esbuild bundle (scripts/bundle.mjs). What bundled code finds next to its own
 * file must still be found: yargs' locale files (through the file in node_modules, not the chunk), the
 * runner and the screen worker (through the files tsc wrote; covered by every test that starts a loop).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, ensureCliBuilt } from './built.js';
import { CliSandbox } from './harness.js';

let sb: CliSandbox;
beforeAll(async () => {
  await ensureCliBuilt();
  sb = new CliSandbox();
});
afterAll(async () => {
  await sb.dispose();
});

describe('the bundled CLI entry', () => {
  it('is a bundle: it imports no package by name except the native ones', () => {
    const entry = readFileSync(CLI_MAIN, 'utf8');
    const imported = [...entry.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]);
    expect(imported.length).toBeGreaterThan(0);
    for (const spec of imported) expect(spec).toMatch(/^\.\/chunk-[A-Z0-9]+\.js$/);
  });

  it("yargs still finds its locale files: ralph --help in German names the commands 'Kommandos'", async () => {
    const result = await sb.ralph(['--help'], { env: { LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8' } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Kommandos:');
  });
});
