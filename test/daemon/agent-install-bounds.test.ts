/**
 * The npm install step on its own, with real npm and a fixture tarball: what reaches a client is bounded
 * (line length, line count, with the rest counted), a failure keeps only npm's last lines, and the package
 * table's override refuses what it cannot use.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  agentPackages,
  INSTALL_TAIL_LINES,
  MAX_INSTALL_LINE_CHARS,
  MAX_INSTALL_LINES,
  npmInstall,
} from '../../src/daemon/agent-install.js';
import { agentTarball, brokenTarball } from './agent-package.js';

const root = mkdtempSync(join(tmpdir(), 'ragent-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    npm_config_cache: join(root, 'npm-cache'),
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_update_notifier: 'false',
    ...extra,
  };
}

describe('npm install of an agent package', () => {
  it('passes on at most 200 lines, each cut to 300 characters, and counts the rest', async () => {
    const tarball = await agentTarball(root, 'fixture-loud', 'amp');
    const prefix = join(root, 'loud');
    const lines: string[] = [];
    const outcome = await npmInstall(
      prefix,
      tarball,
      npmEnv({ FIXTURE_INSTALL_LINES: '1000', FIXTURE_LINE_CHARS: '5000' }),
      (l) => lines.push(l),
    );
    console.log(`loud install: ${lines.length} lines passed on; last: ${lines.at(-1)}`);
    expect(outcome.ok).toBe(true);
    expect(lines).toHaveLength(MAX_INSTALL_LINES + 1);
    expect(lines.at(-1)).toMatch(/^\(\d+ more lines of npm output not shown\)$/);
    expect(Math.max(...lines.map((l) => l.length))).toBe(MAX_INSTALL_LINE_CHARS);
    expect(lines.some((l) => l.startsWith('line 1 xxx') && l.endsWith('…'))).toBe(true);
    expect(readdirSync(join(prefix, 'node_modules', '.bin'))).toEqual(['amp']);
  });

  it("a broken package fails with npm's last lines only", async () => {
    const outcome = await npmInstall(
      join(root, 'broken'),
      brokenTarball(root, 'fixture-bad'),
      npmEnv(),
      () => undefined,
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/failed \(exit code \d+\)/);
    expect(outcome.tail.length).toBeGreaterThan(0);
    expect(outcome.tail.length).toBeLessThanOrEqual(INSTALL_TAIL_LINES);
    expect(outcome.tail.join('\n')).toMatch(/TAR_BAD_ARCHIVE|tar/i);
  });
});

describe('RALPH_AGENT_PACKAGES', () => {
  it('replaces the package of a known agent and keeps the others', () => {
    const table = agentPackages({ RALPH_AGENT_PACKAGES: '{"amp":"/abs/fake-amp-1.0.0.tgz"}' });
    expect(table.amp).toBe('/abs/fake-amp-1.0.0.tgz');
    expect(table.claude).toBe('@anthropic-ai/claude-code');
    expect(table.custom).toBeUndefined();
    expect(table.demo).toBeUndefined();
  });

  it.each([
    ['not json', /RALPH_AGENT_PACKAGES: not JSON/],
    ['["amp"]', /not a JSON object/],
    ['{"evil":"x"}', /'evil' is not an installable agent/],
    ['{"demo":"x"}', /'demo' is not an installable agent/],
    ['{"amp":"--global"}', /must be a non-empty string not starting with '-'/],
    ['{"amp":3}', /must be a non-empty string/],
  ])('refuses %s', (raw, why) => {
    expect(() => agentPackages({ RALPH_AGENT_PACKAGES: raw })).toThrow(why);
  });
});
