/**
 * The files in identities.example/ have the shapes the project's own loaders read: the identity examples
 * are marked fake, are refused as they are, and become a valid identity for parseIdentity once real PEM
 * material is put under the same keys; remotes.example.json and daemon.example.jsonc are read by the remotes
 * and daemon-config loaders (when those modules are present) and carry the contract's keys; provision.sh
 * answers --help and refuses bad arguments with one line.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ralphPaths, type RalphPaths } from '../../src/config/paths.js';
import { InvalidIdentityError } from '../../src/ziti/errors.js';
import { parseIdentity } from '../../src/ziti/identity.js';
import { issue, makeCa } from '../ziti/identity/pki.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLES = join(ROOT, 'identities.example');

const DAEMON_CONFIG_MODULE = join(ROOT, 'src', 'daemon', 'config.ts');
const REMOTES_MODULE = join(ROOT, 'src', 'client', 'remote', 'remotes.ts');

interface DaemonConfigModule {
  parseDaemonConfig: (
    text: string,
    file: string,
    paths?: RalphPaths,
  ) => { service: string; workspace: string; roles: Record<string, string>; maxLoops: number };
}
interface RemotesModule {
  loadRemotes: (paths?: RalphPaths) => Array<{ name: string; identity: string; service: string }>;
}

function notice(what: string, module: string): void {
  console.warn(`[examples] SKIPPING the ${what} loader check: ${module} is not in this tree.`);
}

async function readJson(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(EXAMPLES, name), 'utf8')) as Record<string, unknown>;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ralph-examples-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('identity examples', () => {
  for (const name of ['laptop.identity.example.json', 'daemon.identity.example.json']) {
    describe(name, () => {
      it('is marked fake in a field and in every PEM block', async () => {
        const json = await readJson(name);
        expect(json._example).toMatch(/^FAKE: /);
        expect(new URL(json.ztAPI as string).hostname).toMatch(/\.invalid$/);
        const id = json.id as Record<string, string>;
        expect(Object.keys(id).sort()).toEqual(['ca', 'cert', 'key']);
        for (const field of ['ca', 'cert', 'key']) expect(id[field]).toMatch(/^pem:-----BEGIN [^\n]+\nFAKE-/);
      });

      it('is refused by parseIdentity as it is', async () => {
        const text = await readFile(join(EXAMPLES, name), 'utf8');
        await expect(parseIdentity(text, join(dir, name))).rejects.toBeInstanceOf(InvalidIdentityError);
      });

      it('becomes a valid identity for parseIdentity with real PEM material under the same keys', async () => {
        const json = await readJson(name);
        const ca = await makeCa('Example Network CA');
        const leaf = await issue(ca, { cn: 'q8Rk2LmZa' });
        const id = json.id as Record<string, string>;
        json.id = { ...id, cert: `pem:${leaf.certPem}`, key: `pem:${leaf.keyPem}`, ca: `pem:${ca.certPem}` };
        const identity = await parseIdentity(JSON.stringify(json), join(dir, name));
        expect(identity.name).toBe('q8Rk2LmZa');
        expect(identity.ztAPI.href).toBe(json.ztAPI);
        expect(identity.ca).toHaveLength(1);
      });
    });
  }
});

describe('remotes.example.json', () => {
  it('has the contract shape: remotes.<name> = {identity (absolute), service}', async () => {
    const json = await readJson('remotes.example.json');
    expect(Object.keys(json)).toEqual(['remotes']);
    const remotes = json.remotes as Record<string, Record<string, string>>;
    expect(Object.keys(remotes).length).toBeGreaterThan(0);
    for (const entry of Object.values(remotes)) {
      expect(Object.keys(entry).sort()).toEqual(['identity', 'service']);
      expect(entry.identity).toMatch(/^\//);
    }
  });

  const present = existsSync(REMOTES_MODULE);
  if (!present) notice('remotes', REMOTES_MODULE);
  it.skipIf(!present)('is read by the remotes loader', async () => {
    const { loadRemotes } = (await import(REMOTES_MODULE)) as RemotesModule;
    const paths = ralphPaths({ RALPH_HOME: join(dir, 'remotes-home') });
    await mkdir(paths.configDir, { recursive: true });
    await writeFile(
      join(paths.configDir, 'remotes.json'),
      await readFile(join(EXAMPLES, 'remotes.example.json')),
      { mode: 0o600 },
    );
    expect(loadRemotes(paths)).toEqual([
      { name: 'vps1', identity: '/home/me/.config/ralph/identities/laptop.json', service: 'ralph-vps1' },
    ]);
  });
});

describe('daemon.example.jsonc', () => {
  it('has comments and exactly the contract keys', async () => {
    const text = await readFile(join(EXAMPLES, 'daemon.example.jsonc'), 'utf8');
    expect(text).toMatch(/^\s*\/\/ /m);
    const keys = [...text.matchAll(/^ {2}"(\w+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual([
      'identity',
      'service',
      'workspace',
      'maxLoops',
      'roles',
      'socket',
      'audit',
      'journal',
    ]);
    expect(text).toMatch(/"[A-Za-z0-9]+": "control"/);
  });

  const present = existsSync(DAEMON_CONFIG_MODULE);
  if (!present) notice('daemon config', DAEMON_CONFIG_MODULE);
  it.skipIf(!present)('is read by the daemon config loader (with a workspace that exists)', async () => {
    const { parseDaemonConfig } = (await import(DAEMON_CONFIG_MODULE)) as DaemonConfigModule;
    const workspace = join(dir, 'work');
    await mkdir(workspace, { recursive: true });
    const text = (await readFile(join(EXAMPLES, 'daemon.example.jsonc'), 'utf8')).replace(
      '"/home/ralph/work"',
      JSON.stringify(workspace),
    );
    const paths = ralphPaths({ RALPH_HOME: join(dir, 'daemon-home') });
    const config = parseDaemonConfig(text, join(dir, 'daemon.jsonc'), paths);
    expect(config.service).toBe('ralph-vps1');
    expect(config.maxLoops).toBe(8);
    expect(config.roles).toEqual({ q8Rk2LmZa: 'control', x9Yz1AbCd: 'observe' });
  });
});

describe('provision.sh without a network', () => {
  function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        'bash',
        [join(EXAMPLES, 'provision.sh'), ...args],
        { timeout: 30_000 },
        (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
        },
      );
    });
  }

  it('--help names every option and exits 0', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const option of [
      '--controller',
      '--username',
      '--password-file',
      '--ca',
      '--box',
      '--laptop',
      '--role',
      '--out',
      '--no-enroll',
      '--daemon-config',
      '--daemon-identity-path',
      '--workspace',
      '--router-roles',
    ])
      expect(help.stdout).toContain(option);
  });

  it('refuses missing and bad arguments with one line each, before touching a controller', async () => {
    const cases: Array<[string[], string]> = [
      [['--laptop', 'l'], 'provision.sh: --box is required (see --help)'],
      [['--box', 'b'], 'provision.sh: --laptop is required (see --help)'],
      [['--box', 'a b', '--laptop', 'l'], "provision.sh: --box 'a b': use letters, digits, '.', '_' and '-'"],
      [
        ['--box', 'b', '--laptop', 'l', '--role', 'admin'],
        "provision.sh: --role must be control or observe, not 'admin'",
      ],
      [['--box', 'b', '--laptop', 'l', '--bogus', 'x'], 'provision.sh: unknown option --bogus (see --help)'],
      [['--box'], 'provision.sh: --box needs a value (see --help)'],
    ];
    for (const [args, message] of cases) {
      const result = await run(args);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([message]);
    }
  });
});
