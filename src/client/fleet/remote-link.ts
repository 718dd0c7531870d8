/**
 * The link to one remote: one daemon connection, shared by every row of that remote. It lists the remote's
 * loops, then follows its event journal; each event (debounced), and a quiet spell of 5 s, lists them again; every list is handed to
 * the fleet to record in the registry. A dropped or failed connection shows the remote's rows as unreachable,
 * with the reason, and is retried with backoff, so a remote that comes back shows up without a restart.
 */
import { errorMessage } from '../../errors.js';
import { DaemonClient } from '../remote/daemon-client.js';
import type { LoopSummary } from '../remote/daemon-types.js';
import type { Remote } from '../remote/remotes.js';
import type { LinkHealth } from './types.js';

const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];
const RELIST_DEBOUNCE_MS = 200;
/** Lists again at least this often, for changes no event told of. */
const RELIST_EVERY_MS = 5000;

export interface RemoteLinkOptions {
  /** Health changed. */
  onChange: () => void;
  /** The remote listed its loops (after connecting, and after events). */
  onLoops: (remote: Remote, loops: LoopSummary[]) => void;
  /** Bound on opening the connection and on each request; default 5 s. */
  timeoutMs?: number;
}

export class RemoteLink {
  health: LinkHealth = { state: 'connecting' };
  private daemon: DaemonClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private relistTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private failures = 0;
  private lastSeq: number | undefined;

  constructor(
    public remote: Remote,
    private readonly options: RemoteLinkOptions,
  ) {
    void this.open();
  }

  /** The open daemon connection, for requests forwarded to one of this remote's loops. */
  get client(): DaemonClient | null {
    return this.daemon !== null && !this.daemon.closed ? this.daemon : null;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.relistTimer) clearTimeout(this.relistTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.daemon?.close();
    this.daemon = null;
  }

  private async open(): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? 5000;
    let daemon: DaemonClient | null = null;
    try {
      daemon = await DaemonClient.open(this.remote, { timeoutMs, requestTimeoutMs: timeoutMs });
      if (this.closed) return daemon.close();
      const opened = daemon;
      opened.rpc.once('close', (reason) => {
        if (this.daemon === opened) this.retry(reason);
      });
      this.daemon = opened;
      await this.relist();
      const sub = await opened.subscribeEvents((event) => {
        this.lastSeq = event.seq;
        this.relistSoon();
      }, this.lastSeq);
      this.lastSeq = Math.max(this.lastSeq ?? 0, sub.seq);
      this.failures = 0;
      this.pollTimer ??= setInterval(() => this.relistSoon(), RELIST_EVERY_MS);
      this.pollTimer.unref();
      this.health = { state: 'live' };
      this.options.onChange();
    } catch (err) {
      daemon?.close();
      if (this.daemon === daemon || this.daemon === null) this.retry(errorMessage(err));
    }
  }

  private async relist(): Promise<void> {
    const daemon = this.client;
    if (daemon === null) return;
    const { loops } = await daemon.listLoops();
    if (!this.closed) this.options.onLoops(this.remote, loops);
  }

  private relistSoon(): void {
    if (this.relistTimer || this.closed || this.client === null) return;
    this.relistTimer = setTimeout(() => {
      this.relistTimer = null;
      this.relist().catch(() => undefined); // a dropped connection is handled by its close
    }, RELIST_DEBOUNCE_MS);
  }

  private retry(reason: string): void {
    this.daemon = null;
    if (this.closed || this.timer) return;
    const wait = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)]!;
    this.failures += 1;
    this.health = { state: 'unreachable', reason };
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.open();
    }, wait);
    this.timer.unref();
    this.options.onChange();
  }
}
