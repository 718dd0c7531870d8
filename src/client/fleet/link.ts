/**
 * One open connection to one loop for the fleet view: its status, then `state_change`, `output` and
 * `iteration` events as they come. A dropped connection is retried with backoff while the loop should be up.
 */
import { errorMessage } from '../../errors.js';
import {
  isEventOf,
  type MethodName,
  type ParamsInputOf,
  type ResultOf,
  type RpcClient,
  type WireEvent,
} from '../../protocol/index.js';
import type { SessionRecord } from '../../registry/index.js';
import type { LinkHealth, LiveInfo } from './types.js';

export interface LinkOptions {
  connect: (session: SessionRecord) => Promise<RpcClient>;
  requestTimeoutMs: number;
  /** Called whenever health or live data changed. */
  onChange: () => void;
  /** Called when a connection drops, so the registry can be checked for a loop that has died. */
  onLost: (session: SessionRecord) => void;
  now?: () => number;
}

const RETRY_MS = [500, 1000, 2000, 5000, 10_000];

export class LoopLink {
  health: LinkHealth = { state: 'connecting' };
  readonly live: LiveInfo = { iterationSeq: 0 };
  private client: RpcClient | null = null;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    public session: SessionRecord,
    private readonly options: LinkOptions,
  ) {
    void this.open();
  }

  /** A request on the open connection, bounded by the fleet's request timeout unless given another. */
  async request<M extends MethodName>(
    method: M,
    params?: ParamsInputOf<M>,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<ResultOf<M>> {
    const client = this.client;
    if (!client || client.closed) throw new Error(`not connected to ${this.session.task}`);
    return client.request(method, params, { timeoutMs });
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.client?.close();
    this.client = null;
  }

  private async open(): Promise<void> {
    this.setHealth({ state: 'connecting' });
    let client: RpcClient | null = null;
    try {
      client = await this.options.connect(this.session);
      if (this.closed) return client.close();
      client.onEvent((event) => this.onEvent(event));
      const timeoutMs = this.options.requestTimeoutMs;
      await client.request('subscribe', { events: ['state_change', 'output', 'iteration'] }, { timeoutMs });
      const status = await client.request('get_status', undefined, { timeoutMs });
      if (this.closed) return client.close();
      this.live.status = status;
      this.live.lastLine = lastNonBlank(status.recent_output) ?? this.live.lastLine ?? null;
      this.client = client;
      this.failures = 0;
      client.once('close', (reason) => this.onClose(reason));
      this.setHealth({ state: 'live' });
    } catch (err) {
      client?.close();
      this.onClose(errorMessage(err));
    }
  }

  private onClose(reason: string): void {
    this.client = null;
    if (this.closed) return;
    const now = (this.options.now ?? Date.now)();
    const wait = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)]!;
    this.failures += 1;
    this.setHealth({ state: 'lost', reason, retryAt: now + wait });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed) void this.open();
    }, wait);
    this.retryTimer.unref();
    this.options.onLost(this.session);
  }

  private onEvent(event: WireEvent): void {
    if (isEventOf(event, 'state_change')) {
      this.live.status = { ...this.live.status, ...event.data };
    } else if (isEventOf(event, 'output')) {
      if (event.data.line.trim() === '') return;
      this.live.lastLine = event.data.line;
    } else if (isEventOf(event, 'iteration')) {
      this.live.iterationSeq += 1;
    } else {
      return;
    }
    this.options.onChange();
  }

  private setHealth(health: LinkHealth): void {
    this.health = health;
    this.options.onChange();
  }
}

function lastNonBlank(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '') return lines[i];
  return undefined;
}
