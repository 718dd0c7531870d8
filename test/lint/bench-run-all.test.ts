/**
 * `npm run bench` (bench/run-all.mjs) runs every benchmark that writes a summary and has a row builder for each:
 * a benchmark added to bench/ but left out of the one-run report is caught here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli/built.js';

const BENCH = join(ROOT, 'bench');

describe('bench/run-all.mjs', () => {
  const runAll = readFileSync(join(BENCH, 'run-all.mjs'), 'utf8');
  const listed = [...(/const BENCHES = \[([^\]]*)\]/.exec(runAll)?.[1] ?? '').matchAll(/'([^']+)'/g)].map(
    (m) => m[1],
  );
  const scripts = readdirSync(BENCH).filter(
    (f) =>
      f.endsWith('.mjs') &&
      f !== 'run-all.mjs' &&
      /writeSummary\(/.test(readFileSync(join(BENCH, f), 'utf8')),
  );

  it('runs every benchmark that writes a summary', () => {
    expect(scripts).toContain('remote-attach.mjs');
    expect([...listed].sort()).toEqual([...scripts].sort());
  });

  it('turns each benchmark summary into table rows', () => {
    for (const script of scripts) {
      const name = /bench: '([^']+)'/.exec(readFileSync(join(BENCH, script), 'utf8'))?.[1];
      expect(name, script).toBeDefined();
      expect(runAll, script).toContain(`s.bench === '${name}'`);
    }
  });
});
