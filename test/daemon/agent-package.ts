/**
 * Fixture npm packages for agent installs: a tarball whose one executable is named like a real agent CLI
 * (test/fixtures/agent-package/agent.mjs under that name) and whose postinstall prints progress lines, so
 * `npm install <tarball>` needs no registry.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

const FIXTURE = new URL('../fixtures/agent-package/', import.meta.url);

/** Builds `<dir>/<name>-1.0.0.tgz` providing the executable `bin`; returns its absolute path. */
export async function agentTarball(dir: string, name: string, bin: string): Promise<string> {
  const root = join(dir, `${name}-src`);
  const pkg = join(root, 'package');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(new URL('agent.mjs', FIXTURE), join(pkg, 'agent.mjs'));
  chmodSync(join(pkg, 'agent.mjs'), 0o755);
  copyFileSync(new URL('postinstall.mjs', FIXTURE), join(pkg, 'postinstall.mjs'));
  const manifest = {
    name,
    version: '1.0.0',
    type: 'module',
    bin: { [bin]: 'agent.mjs' },
    scripts: { postinstall: 'node postinstall.mjs' },
  };
  writeFileSync(join(pkg, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const tarball = join(dir, `${name}-1.0.0.tgz`);
  await execa('tar', ['-czf', tarball, '-C', root, 'package']);
  return tarball;
}

/** A file that is no tarball at all, for a failing install. */
export function brokenTarball(dir: string, name: string): string {
  const file = join(dir, `${name}-1.0.0.tgz`);
  writeFileSync(file, 'this is not a gzip file\n');
  return file;
}
