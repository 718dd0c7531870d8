/**
 * The remotes configuration: `<configDir>/remotes.json`, `{ "remotes": { "<name>": { "identity": "<abs path>",
 * "service": "<ziti service>" } } }`. Readable by its owner only and replaced atomically, so a crash leaves the
 * old file or the new one. A malformed file is refused with one line naming the file, the entry and the fault.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensurePrivateDir, ralphPaths, type RalphPaths } from '../../config/paths.js';
import { ExitCode, RalphError, errorMessage } from '../../errors.js';
import { loadIdentity, writeFileAtomic } from '../../ziti/identity.js';
import { compareStrings } from '../../util/compare.js';

export interface Remote {
  name: string;
  /** Absolute path of the enrolled Ziti identity file this machine dials the remote with. */
  identity: string;
  /** The Ziti service the remote's daemon binds. */
  service: string;
}

/** Remote names appear in `<remote>:<task>` addresses and in the status table: no colon, no spaces. */
export const REMOTE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** No white space or control characters (the class \s with \p{Cc} covers both). */
export const SERVICE_PATTERN = /^[^\s\p{Cc}]{1,255}$/u;

/**
 * Checks the file's shape: `{"remotes": {<name>: {"identity": <absolute path>, "service": <name>}}}` and
 * nothing else. Written out rather than with a schema library: `ralph status` reads this file on every run,
 * and loading a schema library would cost it more than all its other work.
 */
function checkRemotesFile(json: unknown): Record<string, { identity: string; service: string }> {
  const object = (value: unknown, where: string, keys?: readonly string[]): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`${where}must be an object`);
    }
    const extra = keys && Object.keys(value).find((key) => !keys.includes(key));
    if (extra !== undefined) throw new Error(`${where}unexpected key ${JSON.stringify(extra)}`);
    return value as Record<string, unknown>;
  };
  const list = object(object(json, '', ['remotes']).remotes, 'remotes: ');
  // No prototype: a remote named "__proto__" is an entry like any other (and then refused by its name).
  const out = Object.create(null) as Record<string, { identity: string; service: string }>;
  for (const [name, value] of Object.entries(list)) {
    const { identity, service } = object(value, `remotes.${name}: `, ['identity', 'service']);
    if (typeof identity !== 'string' || identity.length === 0) {
      throw new Error(`remotes.${name}.identity: must be a non-empty string`);
    }
    if (!identity.startsWith('/')) throw new Error(`remotes.${name}.identity: must be an absolute path`);
    if (typeof service !== 'string' || !SERVICE_PATTERN.test(service)) {
      throw new Error(`remotes.${name}.service: must be 1-255 characters without spaces`);
    }
    out[name] = { identity, service };
  }
  return out;
}

export function remotesFile(paths: RalphPaths = ralphPaths()): string {
  return join(paths.configDir, 'remotes.json');
}

/** Every configured remote, sorted by name; none when the file does not exist. */
export function loadRemotes(paths: RalphPaths = ralphPaths()): Remote[] {
  const file = remotesFile(paths);
  if (!existsSync(file)) return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw invalidFile(file, errorMessage(err));
  }
  let remotes: Record<string, { identity: string; service: string }>;
  try {
    remotes = checkRemotesFile(json);
  } catch (err) {
    throw invalidFile(file, errorMessage(err));
  }
  const badName = Object.keys(remotes).find((name) => !REMOTE_NAME_PATTERN.test(name));
  if (badName !== undefined) {
    throw invalidFile(file, `${JSON.stringify(badName)} is not a valid remote name (letters, digits, . _ -)`);
  }
  return Object.entries(remotes)
    .map(([name, r]) => ({ name, identity: r.identity, service: r.service }))
    .sort((a, b) => compareStrings(a.name, b.name));
}

/** The remote called `name`, or REMOTE_NOT_FOUND listing those there are. */
export function getRemote(name: string, paths: RalphPaths = ralphPaths()): Remote {
  const remotes = loadRemotes(paths);
  const remote = remotes.find((r) => r.name === name);
  if (remote === undefined) {
    throw new RalphError('REMOTE_NOT_FOUND', `no remote named ${JSON.stringify(name)}`, {
      hint:
        remotes.length > 0
          ? `configured remotes: ${remotes.map((r) => r.name).join(', ')}`
          : 'add one with: ralph remote add <name> --identity <file> --service <name>',
    });
  }
  return remote;
}

export interface AddRemoteOptions {
  identity: string;
  service: string;
  /** Base for a relative identity path; default the current directory. */
  cwd?: string;
}

/**
 * Adds a remote after checking its name, its service name and that the identity file is a readable, unexpired
 * enrolled identity. Refuses a name already configured (REMOTE_EXISTS).
 */
export async function addRemote(
  name: string,
  options: AddRemoteOptions,
  paths: RalphPaths = ralphPaths(),
): Promise<Remote> {
  validateRemoteName(name);
  if (!SERVICE_PATTERN.test(options.service)) {
    throw invalidRemote(
      `invalid service name ${JSON.stringify(options.service)}: 1-255 characters, no spaces`,
    );
  }
  const identity = resolve(options.cwd ?? process.cwd(), options.identity);
  try {
    await loadIdentity(identity);
  } catch (err) {
    throw invalidRemote(errorMessage(err), 'the identity must be an enrolled Ziti identity JSON file');
  }
  const remotes = loadRemotes(paths);
  if (remotes.some((r) => r.name === name)) {
    throw new RalphError('REMOTE_EXISTS', `a remote named ${name} is already configured`, {
      hint: `remove it first with: ralph remote remove ${name}`,
    });
  }
  const remote: Remote = { name, identity, service: options.service };
  await saveRemotes([...remotes, remote], paths);
  return remote;
}

/** Removes a remote from the configuration (its registry rows stay, as every ended row does). */
export async function removeRemote(name: string, paths: RalphPaths = ralphPaths()): Promise<Remote> {
  const remote = getRemote(name, paths);
  await saveRemotes(
    loadRemotes(paths).filter((r) => r.name !== name),
    paths,
  );
  return remote;
}

export function validateRemoteName(name: string): string {
  if (name === 'local') throw invalidRemote("'local' names this machine (local:<task>); choose another name");
  if (!REMOTE_NAME_PATTERN.test(name)) {
    throw invalidRemote(
      `invalid remote name ${JSON.stringify(name)}: letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit`,
    );
  }
  return name;
}

async function saveRemotes(remotes: Remote[], paths: RalphPaths): Promise<void> {
  ensurePrivateDir(paths.configDir);
  const body: Record<string, { identity: string; service: string }> = {};
  for (const r of [...remotes].sort((a, b) => compareStrings(a.name, b.name))) {
    body[r.name] = { identity: r.identity, service: r.service };
  }
  await writeFileAtomic(remotesFile(paths), `${JSON.stringify({ remotes: body }, null, 2)}\n`, 0o600);
}

function invalidFile(file: string, problem: string): RalphError {
  return new RalphError('INVALID_REMOTES_CONFIG', `${file}: ${problem.split('\n')[0]}`, {
    hint: 'fix or remove the file; ralph remote add writes a valid one',
  });
}

function invalidRemote(message: string, hint?: string): RalphError {
  return new RalphError('INVALID_REMOTE', message.split('\n')[0]!, {
    exitCode: ExitCode.usage,
    ...(hint === undefined ? {} : { hint }),
  });
}
