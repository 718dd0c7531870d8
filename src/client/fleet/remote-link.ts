/**
 * The link to one remote: every session on that remote shares it. Until this client speaks the remote's
 * transport, opening it fails and the remote's rows show it as unreachable with the reason; it is retried
 * now and then, so a remote that comes back shows up without a restart.
 */
import { errorMessage } from '../../errors.js';
import type { RpcClient } from '../../protocol/index.js';
import type { SessionRecord } from '../../registry/index.js';
import type { LinkHealth } from './types.js';

const RETRY_MS = 30_000;

export class RemoteLink {
  health: LinkHealth = { state: 'connecting' };
  private client: RpcClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    public session: SessionRecord,
    private readonly connect: (session: SessionRecord) => Promise<RpcClient>,
    private readonly onChange: () => void,
  ) {
    void this.open();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.client?.close();
  }

  private async open(): Promise<void> {
    try {
      const client = await this.connect(this.session);
      if (this.closed) return client.close();
      this.client = client;
      this.health = { state: 'live' };
      client.once('close', (reason) => this.retry(reason));
    } catch (err) {
      this.retry(errorMessage(err));
    }
    this.onChange();
  }

  private retry(reason: string): void {
    this.client = null;
    if (this.closed) return;
    this.health = { state: 'unreachable', reason };
    this.timer = setTimeout(() => void this.open(), RETRY_MS);
    this.timer.unref();
    this.onChange();
  }
}
