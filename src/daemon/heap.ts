/**
 * The daemon's young-generation cap. Node 24's V8 lets the young generation of a heap without pointer
 * compression (Node's builds) grow to a 64 MB semi-space, 128 MB for the pair, and both halves stay resident
 * for as long as allocation goes on; Node 20's stopped at 16 MB. A client that keeps sending requests, even
 * refused ones, keeps it at its largest: 100,000 fuzzed requests left the daemon at 330 MB of RSS on Node 24
 * against 160 MB on Node 20, with under 20 MB of it live. The daemon runs with Node 20's 16 MB instead.
 *
 * V8 reads the flag only when the heap is set up, so the daemon executes itself again with it, as the same
 * process (`process.execve`, Node 22.15 and later; older Nodes go on as they are, Node 20 at 16 MB already).
 * A semi-space size given in the Node options or on the command line is left as it is.
 */

/** Semi-space size, in MB, the daemon runs with unless told otherwise. */
export const DAEMON_SEMI_SPACE_MB = 16;

const FLAG = /^--max[-_]semi[-_]space[-_]size(=|$)/;

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/** The arguments to run this process again with the cap, or null when it has one (or any semi-space size). */
export function cappedArgs(
  execArgv: readonly string[],
  argv: readonly string[],
  nodeOptions: string | undefined,
): string[] | null {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((arg) => FLAG.test(arg))) return null;
  return [`--max-semi-space-size=${DAEMON_SEMI_SPACE_MB}`, ...execArgv, ...argv.slice(1)];
}

/**
 * Replaces this process (same id, same open standard streams) with one that runs the same command with the
 * young generation capped. Returns only when it does not: the cap is there already, this Node cannot
 * execute in place, or executing failed (the daemon then runs uncapped).
 */
export function execWithHeapCap(): void {
  const execve = (process as { execve?: Execve }).execve;
  if (typeof execve !== 'function') return;
  const args = cappedArgs(process.execArgv, process.argv, process.env.NODE_OPTIONS);
  if (args === null) return;
  try {
    execve.call(process, process.execPath, [process.execPath, ...args], process.env);
  } catch {
    // Not possible here (a platform without execve, worker threads running): go on as we are.
  }
}
