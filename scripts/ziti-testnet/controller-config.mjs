// Settings written into the quickstart controller's ctrl.yaml before the controller serves the tests.
// Quickstart generates ctrl.yaml and starts the controller in one command, so a network with settings starts
// the controller once (which writes the file and initialises the database), stops it, edits the file and
// starts it again: a quickstart home that already holds a database is run as it is.
import { readFileSync, writeFileSync } from 'node:fs';
import { TestnetError } from './proc.mjs';

/** The controller's floor for edge.api.sessionTimeout; below it v1.x silently uses its 30-minute default. */
const MIN_API_SESSION_TIMEOUT_S = 60;

/**
 * A Go duration of whole seconds, minutes or hours ("90s", "1m", "2h") in seconds, or null.
 * @param {string} value
 */
function durationSeconds(value) {
  const m = /^(\d+)(s|m|h)$/.exec(value);
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[/** @type {'s'|'m'|'h'} */ (m[2])];
}

/**
 * The ctrl.yaml edits a network's start options ask for, as dotted key paths.
 * @param {import('../ziti-testnet-lib.d.mts').StartOptions} options
 * @returns {Record<string, string | number | boolean>}
 */
export function controllerSettings(options) {
  /** @type {Record<string, string | number | boolean>} */
  const settings = { ...options.controllerConfig };
  if (options.apiSessionTimeout !== undefined) {
    const seconds = durationSeconds(options.apiSessionTimeout);
    if (seconds === null || seconds < MIN_API_SESSION_TIMEOUT_S) {
      throw new TestnetError(
        'ZITI_BAD_OPTION',
        `apiSessionTimeout "${options.apiSessionTimeout}" must be a duration of at least 1m (e.g. "1m", "90s")`,
      );
    }
    settings['edge.api.sessionTimeout'] = options.apiSessionTimeout;
  }
  return settings;
}

/**
 * Sets one scalar at a dotted key path in YAML text of nested block mappings (what `ziti create config
 * controller` writes): replaces the value if the key is there, else adds the key (and any missing parent
 * mappings) under the deepest parent that exists.
 * @param {string} text
 * @param {string} path e.g. "edge.api.sessionTimeout"
 * @param {string | number | boolean} value
 */
export function setYamlScalar(text, path, value) {
  const keys = path.split('.');
  const lines = text.split('\n');
  let indent = -1;
  let from = 0;
  let to = lines.length;
  for (let depth = 0; depth < keys.length; depth += 1) {
    const key = keys[depth];
    let found = -1;
    let childIndent = -1;
    for (let i = from; i < to; i += 1) {
      const line = lines[i];
      if (/^\s*(#|$)/.test(line)) continue;
      const lineIndent = line.length - line.trimStart().length;
      if (lineIndent <= indent) break;
      if (childIndent === -1) childIndent = lineIndent;
      if (lineIndent !== childIndent) continue;
      if (line.trimStart().startsWith(`${key}:`)) {
        found = i;
        break;
      }
    }
    if (found === -1) {
      const pad = ' '.repeat(childIndent === -1 ? indent + 2 : childIndent);
      const added = keys.slice(depth).map((k, j) => `${pad}${'  '.repeat(j)}${k}:`);
      added[added.length - 1] += ` ${String(value)}`;
      const atEnd = lines.length - (lines[lines.length - 1] === '' ? 1 : 0);
      lines.splice(depth === 0 ? atEnd : from, 0, ...added);
      return lines.join('\n');
    }
    if (depth === keys.length - 1) {
      const line = lines[found];
      const head = line.slice(0, line.indexOf(':') + 1);
      lines[found] = `${head} ${String(value)}`;
      return lines.join('\n');
    }
    indent = lines[found].length - lines[found].trimStart().length;
    from = found + 1;
    let end = from;
    while (end < lines.length) {
      const line = lines[end];
      if (!/^\s*(#|$)/.test(line) && line.length - line.trimStart().length <= indent) break;
      end += 1;
    }
    to = end;
  }
  return lines.join('\n');
}

/**
 * Writes `settings` into the controller configuration file.
 * @param {string} file
 * @param {Record<string, string | number | boolean>} settings
 */
export function patchControllerConfig(file, settings) {
  let text = readFileSync(file, 'utf8');
  for (const [path, value] of Object.entries(settings)) text = setYamlScalar(text, path, value);
  writeFileSync(file, text);
}
