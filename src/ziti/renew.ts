/**
 * Certificate renewal. Before the identity's certificate expires (`marginMs`, default 7 days), or at once when
 * the controller asks for it (`isCertExtendRequested` / the `z_cer` claim), the renewer:
 *
 * 1. makes a new EC P-256 key and CSR and sends it to `POST /current-identity/authenticators/{id}/extend` (over
 *    TLS with the current certificate); the controller answers with the new certificate, still pending;
 * 2. copies the identity file to `<file>.bak`, then rewrites the file atomically (mode 0600) with the new key and
 *    certificate (see `saveIdentity`);
 * 3. confirms with `POST …/extend-verify`: from then on the controller accepts only the new certificate (if this
 *    fails, the backup is put back, since the old certificate is still the valid one);
 * 4. switches the controller client to the new material and logs in with it; only then is the backup deleted.
 *
 * A failed attempt is retried after `retryMs` (default 30 s), doubling up to an hour.
 */
import { chmod, copyFile, rename, unlink } from 'node:fs/promises';
import type { ControllerClient } from './controller/client.js';
import { generateKeyAndCsr } from './controller/csr.js';
import { isRecord, str } from './controller/envelope.js';
import { MAX_TIMER_MS } from './controller/refresh.js';
import type { ApiSessionDetail, RenewOptions, RenewedInfo } from './controller/types.js';
import { ZitiError } from './errors.js';
import { identityFromPem, saveIdentity, type ZitiIdentity } from './identity.js';

export const DEFAULT_RENEW_MARGIN_MS = 7 * 24 * 60 * 60 * 1000;
const DEFAULT_RETRY_MS = 30_000;
const MAX_RETRY_MS = 60 * 60 * 1000;

/** A renewal step failed; `step` names it (extend, write, verify, login). */
export class RenewalFailedError extends ZitiError {
  readonly step: string;
  constructor(identity: string, step: string, detail: string, options: { cause?: unknown } = {}) {
    super('ZITI_RENEWAL_FAILED', `renewing the certificate of "${identity}" failed at ${step}: ${detail}`, {
      hint: 'the identity keeps its current certificate; the renewal is retried',
      ...options,
    });
    this.step = step;
  }
}

/** The backup kept while a renewal is under way. */
export function backupFileOf(file: string): string {
  return `${file}.bak`;
}

export class CertificateRenewer {
  private readonly client: ControllerClient;
  private readonly marginMs: number;
  private readonly retryMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RenewedInfo> | undefined;
  private failures = 0;
  /** After a renewal, no automatic one before this time (a margin longer than a certificate's life never loops). */
  private quietUntil = 0;
  private stopped = false;

  constructor(client: ControllerClient, options: RenewOptions) {
    this.client = client;
    this.marginMs = options.marginMs ?? DEFAULT_RENEW_MARGIN_MS;
    this.retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
  }

  /** Called for every new or refreshed API session: starts the timer, or renews now when the controller asks. */
  sessionChanged(session: ApiSessionDetail): void {
    if (this.stopped || this.running !== undefined) return;
    if (session.certExtendRequested === true && Date.now() >= this.quietUntil) this.scheduleIn(0);
    else if (this.timer === undefined) this.scheduleAt(this.dueAt());
  }

  /** Renews now; concurrent callers share one attempt. */
  renewNow(): Promise<RenewedInfo> {
    this.running ??= this.renew().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  private dueAt(): number {
    return Math.max(this.client.identity.notAfter.getTime() - this.marginMs, this.quietUntil);
  }

  private scheduleAt(when: number): void {
    this.scheduleIn(when - Date.now());
  }

  private scheduleIn(delayMs: number): void {
    this.clearTimer();
    if (this.stopped) return;
    const delay = Math.min(Math.max(delayMs, 0), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (delayMs > MAX_TIMER_MS) this.scheduleAt(this.dueAt());
      else this.attempt();
    }, delay);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private attempt(): void {
    this.renewNow().then(
      () => {
        this.failures = 0;
        this.scheduleAt(this.dueAt());
      },
      (err: unknown) => {
        this.failures += 1;
        this.client.emit('renewFailed', err instanceof Error ? err : new Error(String(err)));
        this.scheduleIn(Math.min(this.retryMs * 2 ** Math.min(this.failures - 1, 16), MAX_RETRY_MS));
      },
    );
  }

  private async renew(): Promise<RenewedInfo> {
    const client = this.client;
    const old = client.identity;
    const session = client.apiSessionDetail() ?? (await client.authenticate());
    const authId = session.authenticatorId;
    if (authId === undefined) {
      throw new RenewalFailedError(
        old.name,
        'extend',
        'the controller did not name the certificate authenticator',
      );
    }
    const base = `/current-identity/authenticators/${encodeURIComponent(authId)}`;
    const { keyPem, csrPem } = await generateKeyAndCsr(old.name);
    const answer = await step(old, 'extend', () => client.post(`${base}/extend`, { clientCertCsr: csrPem }));
    const certPem = isRecord(answer) ? str(answer.clientCert) : undefined;
    if (!certPem) throw new RenewalFailedError(old.name, 'extend', 'the answer holds no clientCert');
    const next = await step(old, 'extend', () => Promise.resolve(renewedIdentity(old, certPem, keyPem)));

    const backup = backupFileOf(old.file);
    const hadFile = await step(old, 'write', () => copyPrivate(old.file, backup));
    await step(old, 'write', () => saveIdentity(old.file, next));
    try {
      await client.post(`${base}/extend-verify`, { clientCert: certPem });
    } catch (err) {
      if (hadFile) await rename(backup, old.file).catch(() => undefined);
      throw new RenewalFailedError(old.name, 'verify', (err as Error).message, { cause: err });
    }
    client.replaceIdentity(next);
    this.quietUntil = Date.now() + (next.notAfter.getTime() - Date.now()) / 2;
    // Keep the backup if the new certificate cannot log in: it is all there is to investigate with.
    await step(old, 'login', () => client.reauthenticate());
    if (hadFile) await unlink(backup).catch(() => undefined);
    const info: RenewedInfo = { file: old.file, previousNotAfter: old.notAfter, notAfter: next.notAfter };
    client.emit('identity', next);
    client.emit('renewed', info);
    return info;
  }
}

function renewedIdentity(old: ZitiIdentity, certPem: string, keyPem: string): ZitiIdentity {
  return identityFromPem({
    file: old.file,
    ztAPI: old.ztAPI,
    ztAPIs: old.ztAPIs,
    cert: certPem,
    key: keyPem,
    ca: old.ca,
  });
}

/** Copies `from` to `to` with mode 0600; false when `from` does not exist (an identity never saved to disk). */
async function copyPrivate(from: string, to: string): Promise<boolean> {
  try {
    await copyFile(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await chmod(to, 0o600);
  return true;
}

async function step<T>(identity: ZitiIdentity, name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RenewalFailedError) throw err;
    throw new RenewalFailedError(identity.name, name, (err as Error).message, { cause: err });
  }
}
