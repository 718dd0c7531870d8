/** One table of exit codes, documented; one table of local error codes, compared only through its type. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, RalphError, isRalphError, localErrors } from '../../src/errors.js';
import { LoopExit } from '../../cli/exit-codes.js';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** Rows `| code | ... |` of the tables in docs/cli.md's "Exit codes" section, as [code, rest of the row]. */
function documentedExitCodes(): [number, string][] {
  const doc = readFileSync(join(root, 'docs', 'cli.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Exit codes'));
  const body = section.slice(0, section.indexOf('\n## ', 3) === -1 ? undefined : section.indexOf('\n## ', 3));
  return [...body.matchAll(/^\| (\d+) +\|(.*)$/gm)].map((m) => [Number(m[1]), m[2]!]);
}

describe('exit codes', () => {
  it('live in one table that the CLI shares', () => {
    expect(LoopExit).toBe(ExitCode);
  });

  it('are all documented in docs/cli.md, the general ones under their names', () => {
    const rows = documentedExitCodes();
    const documented = new Set(rows.map(([code]) => code));
    for (const [name, code] of Object.entries(ExitCode)) {
      expect(documented.has(code), `${name} = ${code} is not in docs/cli.md`).toBe(true);
      if (code > 0 && code < 10) {
        expect(
          rows.some(([c, rest]) => c === code && rest.includes(`\`${name}\``)),
          `${name} row`,
        ).toBe(true);
      }
    }
    for (const code of documented) expect(Object.values(ExitCode)).toContain(code);
  });
});

describe('local error codes', () => {
  it('each name an exit code from the table, which a RalphError takes unless told otherwise', () => {
    const exitCodes = new Set<number>(Object.values(ExitCode));
    for (const [code, spec] of Object.entries(localErrors)) {
      expect(exitCodes.has(spec.exitCode), code).toBe(true);
      expect(spec.summary.length).toBeGreaterThan(0);
    }
    expect(new RalphError('TASK_NOT_FOUND', 'no loop').exitCode).toBe(ExitCode.notFound);
    expect(new RalphError('OFFSET_OUT_OF_RANGE', 'past', { exitCode: ExitCode.usage }).exitCode).toBe(
      ExitCode.usage,
    );
  });

  it('are compared through isRalphError(err, code), never as free strings', () => {
    const err = new RalphError('LOOP_ENDED', 'the loop has ended');
    expect(isRalphError(err, 'LOOP_ENDED')).toBe(true);
    expect(isRalphError(err, 'TASK_NOT_FOUND')).toBe(false);
    expect(isRalphError(new Error('x'))).toBe(false);
    const offenders: string[] = [];
    for (const dir of ['src', 'cli', 'tui']) {
      for (const file of sourceFiles(join(root, dir))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/\.code [!=]== '([A-Z_]+)'/g)) {
          if (Object.hasOwn(localErrors, m[1]!)) offenders.push(`${file.slice(root.length + 1)}: ${m[0]}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
