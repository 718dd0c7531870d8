/** Finding an executable on PATH without a shell, and asking it for its version. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { AgentDetection } from './types.js';
import { loadExeca } from '../../util/load-execa.js';

export const VERSION_TIMEOUT_MS = 5000;

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    // Missing, unreadable or not executable: not a candidate, the search goes on.
    return false;
  }
}

/** Resolves `binary` the way execvp would: a name with a slash is a path, anything else is searched on PATH. */
export function findOnPath(binary: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (binary === '') return null;
  if (binary.includes('/')) {
    const file = isAbsolute(binary) ? binary : resolve(binary);
    return isExecutableFile(file) ? file : null;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = resolve(join(dir === '' ? '.' : dir, binary));
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** "claude 1.0.5 (Claude Code)" → "1.0.5"; output without a version number gives its first line. */
export function parseVersion(output: string): string | null {
  const semver = /\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?/.exec(output);
  if (semver !== null) return semver[0];
  const line = output.split('\n').find((l) => l.trim() !== '');
  return line === undefined ? null : line.trim().slice(0, 80);
}

/** PATH lookup plus `<binary> --version`, bounded by a timeout. */
export async function detectBinary(
  binary: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs: number = VERSION_TIMEOUT_MS,
): Promise<AgentDetection> {
  const path = findOnPath(binary, env);
  if (path === null) return { installed: false, version: null, path: null };
  const execa = await loadExeca();
  const result = await execa(path, ['--version'], {
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: timeoutMs,
  });
  if (result.timedOut) {
    return {
      installed: false,
      version: null,
      path,
      error: `'${binary} --version' did not answer within ${timeoutMs} ms`,
    };
  }
  if (result.failed) {
    const why = (result.stderr || result.stdout || result.shortMessage || 'failed').split('\n')[0] ?? '';
    return { installed: false, version: null, path, error: `'${binary} --version' failed: ${why}` };
  }
  return { installed: true, version: parseVersion(`${result.stdout}\n${result.stderr}`), path };
}
