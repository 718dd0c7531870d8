/**
 * The daemon connections a link keeps warm: one `DaemonClient` per remote (name, identity file and service:
 * a remote whose definition changed gets a connection of its own), opened on first use and opened again after
 * a loss. A call never waits past its own timeout, but an open it started goes on in the background and is
 * kept for the next call. A warm connection that fails a call (closed, or silent past the timeout) is dropped,
 * so the next call dials afresh rather than trusting it again. Nothing a daemon answered is kept.
 */
import { ExitCode, RalphError, errorMessage, isRalphError } from '../../../errors.js';
import { RpcError } from '../../../protocol/errors.js';
import { DaemonClient } from '../daemon-client.js';
import type { Remote } from '../remotes.js';

export type ConnectionState = 'connected' | 'connecting' | 'closed';

export interface PoolEntryView {
  name: string;
  service: string;
  identity: string;
  state: ConnectionState;
  connected_at: string | null;
  calls: number;
  last_error: string | null;
}

interface Entry {
  remote: Remote;
  client: DaemonClient | null;
  opening: Promise<DaemonClient> | null;
  connectedAt: Date | null;
  calls: number;
  lastError: string | null;
  lastUsed: number;
}

export interface PoolOptions {
  /** Where the controller API session is kept between processes (shared with `ralph status`). */
  sessionCacheDir?: string | undefined;
  /** Bound on one open (login, dial, greeting, authenticate), whatever the call that started it; default 10 s. */
  openTimeoutMs?: number;
  /** Connections kept at most; the least recently used one is closed to make room. Default 32. */
  maxEntries?: number;
  log?: (msg: string, ctx?: object) => void;
}

const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_ENTRIES = 32;
/** Opens one call may try (see `connected`), and the pause between two. */
const MAX_OPEN_ATTEMPTS = 5;
const RETRY_PAUSE_MS = 50;

function keyOf(remote: Remote): string {
  return `${remote.name}\n${remote.identity}\n${remote.service}`;
}

/** What a call that could not be answered says: the same words `ralph status` uses on its direct path. */
export function failureText(err: unknown): string {
  return isRalphError(err) ? err.message : errorMessage(err);
}

export class DaemonPool {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly options: PoolOptions = {}) {}

  /** Asks `remote`'s daemon `method` (no params); rejects with the daemon's error or a RalphError. */
  async call(remote: Remote, method: string, timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    const entry = this.entry(remote);
    entry.calls += 1;
    for (let attempt = 0; ; attempt++) {
      const warm = entry.client !== null && !entry.client.closed;
      const client = await this.connected(entry, deadline, timeoutMs);
      try {
        return await client.rpc.call(method, {}, { timeoutMs: Math.max(1, deadline - Date.now()) });
      } catch (err) {
        const lost =
          err instanceof RpcError && (err.kind === 'CONNECTION_CLOSED' || err.kind === 'REQUEST_TIMEOUT');
        if (lost) this.drop(entry, client, failureText(err));
        // A connection that was already open may have died unnoticed: one fresh try while time is left.
        if (lost && warm && attempt === 0 && deadline - Date.now() > 1 && !this.closed) continue;
        if (err instanceof RpcError && err.kind === 'REQUEST_TIMEOUT') throw noAnswer(remote, timeoutMs);
        throw err;
      }
    }
  }

  /** Opens a connection to `remote` in the background, unless one is open or opening; never fails. */
  warm(remote: Remote): void {
    const entry = this.entry(remote);
    if (this.closed || entry.opening !== null || (entry.client !== null && !entry.client.closed)) return;
    entry.opening = this.open(entry);
  }

  /** One line per connection, for `link_status`. */
  view(): PoolEntryView[] {
    return [...this.entries.values()].map((e) => ({
      name: e.remote.name,
      service: e.remote.service,
      identity: e.remote.identity,
      state:
        e.client !== null && !e.client.closed ? 'connected' : e.opening !== null ? 'connecting' : 'closed',
      connected_at: e.client !== null && !e.client.closed ? (e.connectedAt?.toISOString() ?? null) : null,
      calls: e.calls,
      last_error: e.lastError,
    }));
  }

  /** Closes every connection; opens still under way are closed as they finish. */
  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) entry.client?.close();
    this.entries.clear();
  }

  private entry(remote: Remote): Entry {
    const key = keyOf(remote);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      this.makeRoom();
      entry = {
        remote: { name: remote.name, identity: remote.identity, service: remote.service },
        client: null,
        opening: null,
        connectedAt: null,
        calls: 0,
        lastError: null,
        lastUsed: Date.now(),
      };
      this.entries.set(key, entry);
    }
    entry.lastUsed = Date.now();
    return entry;
  }

  private makeRoom(): void {
    const max = this.options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    while (this.entries.size >= max) {
      let oldest: [string, Entry] | undefined;
      for (const item of this.entries)
        if (oldest === undefined || item[1].lastUsed < oldest[1].lastUsed) oldest = item;
      if (oldest === undefined) return;
      oldest[1].client?.close();
      this.entries.delete(oldest[0]);
    }
  }

  /**
   * The entry's open connection, or the one being opened, waited for until the call's deadline at most. A call
   * answers with a failure only when it is what this call, made on its own, would have met: an open it did not
   * start (an earlier call's, or the start's) that failed, or one that gave up waiting (a login or greeting
   * timed out under a longer bound than this call's, or one shared with an earlier open) is tried again while
   * this call has time; only a refusal of an open it started itself is answered as is.
   */
  private async connected(entry: Entry, deadline: number, timeoutMs: number): Promise<DaemonClient> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(noAnswer(entry.remote, timeoutMs)), Math.max(1, deadline - Date.now()));
    });
    try {
      for (let attempt = 1; ; attempt++) {
        if (entry.client !== null && !entry.client.closed) return entry.client;
        const joined = entry.opening !== null;
        entry.opening ??= this.open(entry);
        try {
          return await Promise.race([entry.opening, late]);
        } catch (err) {
          const again = joined || gaveUpWaiting(err);
          if (!again || attempt >= MAX_OPEN_ATTEMPTS || Date.now() >= deadline || this.closed) throw err;
          await Promise.race([new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS)), late]);
        }
      }
    } finally {
      clearTimeout(timer);
      late.catch(() => undefined);
    }
  }

  private open(entry: Entry): Promise<DaemonClient> {
    const { remote } = entry;
    const opening = DaemonClient.open(remote, {
      timeoutMs: this.options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
      sessionCacheDir: this.options.sessionCacheDir,
    }).then(
      (client) => {
        entry.opening = null;
        // The link stopped, or the entry was evicted, while this open was under way.
        if (this.closed || this.entries.get(keyOf(remote)) !== entry) {
          client.close();
          throw new RalphError('DAEMON_UNREACHABLE', `remote ${remote.name}: the link is closing`, {
            exitCode: ExitCode.unavailable,
          });
        }
        entry.client = client;
        entry.connectedAt = new Date();
        entry.lastError = null;
        this.options.log?.(`connected to remote ${remote.name} (${remote.service})`);
        client.rpc.once('close', (reason) => {
          if (entry.client !== client) return;
          entry.client = null;
          entry.lastError = `connection closed: ${reason}`;
          this.options.log?.(`connection to remote ${remote.name} closed: ${reason}`);
        });
        return client;
      },
      (err: unknown) => {
        entry.opening = null;
        entry.lastError = failureText(err);
        this.options.log?.(`cannot open remote ${remote.name}: ${entry.lastError}`);
        throw err;
      },
    );
    // Nobody may be waiting for it any more (the call that started it timed out): never unhandled.
    opening.catch(() => undefined);
    return opening;
  }

  private drop(entry: Entry, client: DaemonClient, why: string): void {
    if (entry.client !== client) return;
    entry.client = null;
    entry.lastError = why;
    client.close();
  }
}

/** A failure that comes from waiting too long for something, rather than from a refusal. */
function gaveUpWaiting(err: unknown): boolean {
  if (isRalphError(err) && err.exitCode === ExitCode.timeout) return true;
  return /no answer within|timed out|no greeting within/.test(failureText(err));
}

function noAnswer(remote: Remote, timeoutMs: number): RalphError {
  return new RalphError(
    'DAEMON_UNREACHABLE',
    `cannot reach remote ${remote.name} (${remote.service}): no answer within ${timeoutMs} ms`,
    { exitCode: ExitCode.timeout },
  );
}
