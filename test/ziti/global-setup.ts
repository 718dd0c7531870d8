/**
 * Vitest globalSetup: starts one OpenZiti test network for the whole run and publishes its
 * description file in $RALPH_ZITI_TESTNET, which acquireTestNetwork() in the test files picks up.
 * Does nothing (the tests then skip with a notice) when there is no `ziti` CLI, unless
 * $RALPH_REQUIRE_ZITI=1.
 *
 * With $RALPH_ZITI_LOG_SUMMARY naming a file, the teardown appends one line to it: how often the router and
 * the controller logged the events that delay binds and dials (rate limiting, a busy controller, a data model
 * that could not be applied), so that a run's end says whether the network itself was struggling. With
 * $RALPH_ZITI_LOG_TAIL naming a file, it also appends the last warnings and errors each of them logged (CI
 * prints that file when a run failed: the network is gone by then, and a late router is told by its log).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import {
  TESTNET_ENV,
  findZitiBinary,
  startTestNetwork,
  zitiTestsEnabled,
  type TestNetwork,
} from './network.js';

const NOTABLE: Array<[string, RegExp]> = [
  ['rate limiter hit', /rate limiter hit/],
  ['rate limit work expired', /rate limit work expired/],
  ['controller too busy', /too busy/],
  ['change set not applied', /could not apply change set/],
  ['errors', /"level":"(error|fatal)"/],
];

/** Each log of the network that could be read, as its lines. */
function readLogs(network: TestNetwork): Array<[name: string, lines: string[]]> {
  return Object.entries(network.logs).flatMap(([name, log]): Array<[string, string[]]> => {
    try {
      return [[name, readFileSync(log, 'utf8').split('\n')]];
    } catch {
      return [];
    }
  });
}

function summarizeLogs(network: TestNetwork, file: string): void {
  const parts: string[] = [];
  for (const [name, lines] of readLogs(network)) {
    const counts = NOTABLE.map(([label, re]) => `${label} ${lines.filter((l) => re.test(l)).length}`);
    parts.push(`${name}: ${counts.join(', ')}`);
  }
  appendFileSync(file, `  ziti test network logs (node ${process.version}): ${parts.join('; ')}\n`);
}

/** Lines of each log's warnings and errors kept for a failed run, and the characters kept of each. */
const TAIL_LINES = 25;
const TAIL_CHARS = 400;

/** A JSON log line as `time level msg key=value …`, without the Go source location. */
function logLine(line: string): string {
  try {
    const {
      time,
      level,
      msg,
      file: _file,
      func: _func,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest).map(
      ([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`,
    );
    return [time, level, msg, ...fields].join(' ');
  } catch {
    return line;
  }
}

function tailLogs(network: TestNetwork, file: string): void {
  const parts: string[] = [];
  for (const [name, lines] of readLogs(network)) {
    const notable = lines.filter((l) => /"level":"(warning|error|fatal)"/.test(l));
    parts.push(
      `  ${name} (node ${process.version}): ${notable.length} warnings and errors, the last ${Math.min(
        TAIL_LINES,
        notable.length,
      )}:`,
      ...notable.slice(-TAIL_LINES).map((l) => `    ${logLine(l).slice(0, TAIL_CHARS)}`),
    );
  }
  appendFileSync(file, `${parts.join('\n')}\n`);
}

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[TESTNET_ENV]) return undefined;
  if (findZitiBinary() === null && !zitiTestsEnabled()) return undefined;
  const network = await startTestNetwork();
  process.env[TESTNET_ENV] = network.descriptionFile;
  return async () => {
    delete process.env[TESTNET_ENV];
    const summary = process.env.RALPH_ZITI_LOG_SUMMARY;
    if (summary) summarizeLogs(network, summary);
    const tail = process.env.RALPH_ZITI_LOG_TAIL;
    if (tail) tailLogs(network, tail);
    await network.stop();
  };
}
