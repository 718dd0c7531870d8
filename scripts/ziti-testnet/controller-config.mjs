// Patches of the quickstart controller's ctrl.yaml (applied by reconfigureController in controller.mjs):
// setting one scalar at a dotted key path, and the API-session timeout start option.
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
 * The controller configuration patch (see `controllerConfigPatch` in ziti-testnet-lib.d.mts) that sets
 * `edge.api.sessionTimeout`; refuses a value the controller would replace with its default.
 * @param {string} timeout a Go duration, at least "1m"
 * @returns {(yaml: string) => string}
 */
export function apiSessionTimeoutPatch(timeout) {
  const seconds = durationSeconds(timeout);
  if (seconds === null || seconds < MIN_API_SESSION_TIMEOUT_S) {
    throw new TestnetError(
      'ZITI_BAD_OPTION',
      `apiSessionTimeout "${timeout}" must be a duration of at least 1m (e.g. "1m", "90s")`,
    );
  }
  return (yaml) => setYamlScalar(yaml, 'edge.api.sessionTimeout', timeout);
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
