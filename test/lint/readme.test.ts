/**
 * The README points at the remote-loop guides, and the commands its "Run a loop on a remote box" section shows are commands
 * the built `ralph` knows (each answers `--help`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, ROOT, ensureCliBuilt } from '../cli/built.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README.md', () => {
  beforeAll(async () => {
    await ensureCliBuilt();
  });

  it('links the remote setup and security guides, and they exist', () => {
    for (const doc of ['docs/remote-setup.md', 'docs/security.md']) {
      expect(readme).toContain(`](${doc})`);
      expect(existsSync(join(ROOT, doc)), doc).toBe(true);
    }
  });

  it('shows at most five remote-loop commands, each one ralph knows', () => {
    const section = /## Run a loop on a remote box\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const commands = block
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.replace(/#.*$/, '').trim());
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.length).toBeLessThanOrEqual(5);
    for (const command of commands) {
      const words = command.split(/\s+/);
      expect(words[0]).toBe('ralph');
      const sub = words[1] === 'remote' ? words.slice(1, 3) : words.slice(1, 2);
      const help = spawnSync(process.execPath, [CLI_MAIN, ...sub, '--help'], { encoding: 'utf8' });
      expect(help.status, `ralph ${sub.join(' ')} --help`).toBe(0);
    }
  });
});
