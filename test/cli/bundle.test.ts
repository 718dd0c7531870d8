/**
 * The built CLI entry is an esbuild bundle (scripts/bundle.mjs). What bundled code finds next to its own
 * file must still be found: yargs' locale files (through the file in node_modules, not the chunk), the
 * runner and the screen worker (through the files tsc wrote; covered by every test that starts a loop).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { CLI_MAIN } from './built.js';
import { recordModules } from '../support/loaded-modules.js';
import { useCliSandbox } from './harness.js';

const sb = useCliSandbox();

/** The files the bundler wrote: the three entries and their chunks (dist/cli also holds tsc's files). */
function bundledFiles(): string[] {
  return readdirSync(dirname(CLI_MAIN)).filter(
    (name) =>
      /^chunk-[a-z0-9]+\.js$/.test(name) ||
      ['main.js', 'status-entry.js', 'runner.js', 'git-remote-ralph.js'].includes(name),
  );
}

describe('the bundled CLI entry', () => {
  it('is a bundle: it imports no package by name except the native ones', () => {
    const entry = readFileSync(CLI_MAIN, 'utf8');
    const imported = [...entry.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+["']([^"']+)["']/gm)].map(
      (m) => m[1],
    );
    expect(imported.length).toBeGreaterThan(0);
    for (const spec of imported) expect(spec).toMatch(/^\.\/chunk-[a-z0-9]+\.js$/);
  });

  it('imports no Node built-in module statically: each is read when first used (node:v8 included)', () => {
    const dir = dirname(CLI_MAIN);
    const files = bundledFiles();
    expect(files).toContain('runner.js');
    for (const name of files) {
      const text = readFileSync(join(dir, name), 'utf8');
      const specs = [...text.matchAll(/^\s*import\b[^;]*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]!);
      expect(
        specs.filter((spec) => spec.startsWith('node:') || builtinModules.includes(spec)),
        name,
      ).toEqual([]);
    }
  });

  it('loads no heavy package before a command asks for it (status never pays for zod, Ink or yargs)', () => {
    // Every chunk the entry imports statically, transitively: what every command, status included, loads.
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, 'utf8');
      for (const m of code.matchAll(
        /^(?:import|export)\b[^;]*?(?:from\s+)?["'](\.\/chunk-[a-z0-9]+\.js)["']/gm,
      )) {
        visit(join(dirname(CLI_MAIN), m[1]!));
      }
    };
    visit(CLI_MAIN);
    const modules = [...seen].flatMap((file) =>
      [
        ...readFileSync(file, 'utf8').matchAll(/^\/\/ ((?:node_modules\/(?:@[^/]+\/)?[^/]+)|src\/[a-z-]+)/gm),
      ].map((m) => m[1]!),
    );
    expect(modules).toContain('src/errors');
    for (const heavy of [
      'node_modules/zod',
      'node_modules/ink',
      'node_modules/react',
      'node_modules/yargs',
    ]) {
      expect(modules).not.toContain(heavy);
    }
    expect(modules.filter((m) => m === 'src/ziti' || m.includes('sodium'))).toEqual([]);
  });

  it('ralph status, run, loads no heavy package either (its own imports included)', async () => {
    const record = recordModules(join(sb().root, 'modules.txt'));
    const result = await sb().ralph(['status'], { env: record.env });
    expect(result.exitCode).toBe(0);
    // The dynamic imports of the status command itself are in the list, not only the entry's static graph.
    expect(record.files().filter((file) => file.startsWith(dirname(CLI_MAIN))).length).toBeGreaterThan(3);
    const packages = new Set(
      record
        .sources()
        .filter((s) => s.startsWith('node_modules/'))
        .map((s) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)![1]!),
    );
    for (const heavy of ['zod', 'ink', 'react', 'yargs', '@xterm/headless', 'libsodium-wrappers-sumo']) {
      expect([...packages], heavy).not.toContain(heavy);
    }
  });

  it("runs React's production build whatever NODE_ENV says: no bundled file reads it at run time", () => {
    const dir = dirname(CLI_MAIN);
    const files = readdirSync(dir).filter((name) => name.endsWith('.js'));
    expect(files.some((name) => readFileSync(join(dir, name), 'utf8').includes('react.production'))).toBe(
      true,
    );
    for (const name of files)
      expect(readFileSync(join(dir, name), 'utf8')).not.toContain('process.env.NODE_ENV');
  });

  it('has no top-level await that waits for a chunk which imports its module back (Node would exit 13)', () => {
    const dir = dirname(CLI_MAIN);
    const files = readdirSync(dir).filter((name) => name.endsWith('.js'));
    const code = new Map(files.map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
    // esbuild refuses top-level await when asked for CommonJS: a parser's answer, not a text search.
    const awaitsAtTopLevel = (source: string): boolean => {
      try {
        transformSync(source, { format: 'cjs', loader: 'js', logLevel: 'silent' });
        return false;
      } catch (err) {
        const errors = (err as { errors?: { text: string }[] }).errors ?? [];
        if (errors.some((e) => /top-level await/i.test(e.text))) return true;
        throw err;
      }
    };
    expect(awaitsAtTopLevel('await 1; export {};')).toBe(true);
    expect(awaitsAtTopLevel('export async function f() { await 1; }')).toBe(false);
    const statics = (name: string): string[] =>
      [...code.get(name)!.matchAll(/^(?:import|export)\b[^;]*?(?:from\s+)?["']\.\/([^"']+\.js)["']/gm)].map(
        (m) => m[1]!,
      );
    const closure = (name: string, seen = new Set<string>()): Set<string> => {
      if (seen.has(name)) return seen;
      seen.add(name);
      for (const next of statics(name)) closure(next, seen);
      return seen;
    };
    // The entries: a chunk a command loads may import code the bundle placed in them.
    for (const entry of ['main.js', 'status-entry.js', 'runner.js', 'git-remote-ralph.js']) {
      expect(awaitsAtTopLevel(code.get(entry)!), entry).toBe(false);
    }
    // Any other module that awaits at its top level must not wait for a chunk that needs it evaluated first.
    for (const name of files.filter((n) => awaitsAtTopLevel(code.get(n)!))) {
      for (const m of code.get(name)!.matchAll(/\bimport\(\s*["']\.\/([^"']+\.js)["']\s*\)/g)) {
        expect(
          [...closure(m[1]!)],
          `${name} awaits at its top level and imports ${m[1]} which imports it`,
        ).not.toContain(name);
      }
    }
  });

  it('is ASCII throughout, so V8 keeps each module one byte per character (comments included)', () => {
    const dir = dirname(CLI_MAIN);
    const bundled = bundledFiles();
    expect(bundled).toContain('runner.js');
    for (const name of bundled) {
      const nonAscii = [...readFileSync(join(dir, name), 'utf8')].filter((c) => c.codePointAt(0)! > 0x7f);
      expect(nonAscii, name).toEqual([]);
    }
    // The sources have comments with typographic characters; they are there, escaped.
    const escaped = bundled.filter((name) => /\\u\{2014\}/.test(readFileSync(join(dir, name), 'utf8')));
    expect(escaped.length).toBeGreaterThan(0);
  });

  it("carries zod's English messages only, not its other languages", () => {
    let carriers = 0;
    for (const name of bundledFiles()) {
      const text = readFileSync(join(dirname(CLI_MAIN), name), 'utf8');
      const locales = [...text.matchAll(/^\/\/ node_modules\/zod\/v4\/locales\/(\S+)/gm)].map((m) => m[1]);
      // Every file that carries zod (the runner's method table among them) carries English alone.
      if (!/^\/\/ node_modules\/zod\//m.test(text)) continue;
      carriers++;
      expect(locales.sort(), name).toEqual(['en.js', 'index.js']);
    }
    expect(carriers).toBeGreaterThan(0);
  });

  it("yargs still finds its locale files: ralph --help in German names the commands 'Kommandos'", async () => {
    const result = await sb().ralph(['--help'], { env: { LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8' } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Kommandos:');
  });
});
