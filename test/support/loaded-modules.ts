/**
 * Which modules a ralph process loaded: run it with `recordModules(file).env` in its environment
 * (test/fixtures/record-modules.mjs writes the URL of every ES module it loads), then read the files back and the
 * sources the bundle placed in each (its `// node_modules/...` and `// src/...` markers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOOK = join(import.meta.dirname, '..', 'fixtures', 'record-modules.mjs');

export interface ModuleRecord {
  /** The environment that makes a Node process record what it loads into the file. */
  env: { NODE_OPTIONS: string; RECORD_MODULES: string };
  /** The module files loaded (by process `pid` only, when given). */
  files(pid?: number): string[];
  /**
   * The source files bundled into them, as the bundle names them (`src/...`, `node_modules/<pkg>/...`), by
   * process `pid` only when given.
   */
  sources(pid?: number): string[];
  /**
   * The Node built-in modules process `pid` (default: every process recorded) had loaded when it exited. A
   * process whose stdout or stderr is a pipe loads `net` for the recorder itself (its hooks thread's output
   * goes to the main thread's streams, sockets on a pipe): send both to files to see whether the process does.
   */
  builtins(pid?: number): string[];
  /**
   * How many times process `pid` called `Date#toISOString` (JSON.stringify of a Date included); null when it
   * did not record that (it never exited).
   */
  isoStringCalls(pid: number): number | null;
}

export function recordModules(file: string): ModuleRecord {
  /** The third field of each `<kind> <pid> <value>` line of that kind (from process `pid` only, when given). */
  const entries = (kind: string, pid?: number): string[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([k, of]) => k === kind && (pid === undefined || Number(of) === pid))
      .map((fields) => fields[2]!);
  const files = (pid?: number): string[] => entries('module', pid).map((url) => fileURLToPath(url));
  return {
    env: { NODE_OPTIONS: `--import=${HOOK}`, RECORD_MODULES: file },
    files,
    builtins: (pid) => entries('builtin', pid),
    isoStringCalls: (pid) => {
      const counts = entries('toISOString', pid);
      return counts.length === 0 ? null : counts.reduce((sum, n) => sum + Number(n), 0);
    },
    sources: (pid) =>
      files(pid).flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/^\/\/ ((?:node_modules|src)\/\S+)/gm)].map((m) => m[1]!),
      ),
  };
}
