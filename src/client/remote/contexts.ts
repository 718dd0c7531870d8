/**
 * The Ziti contexts this process has opened, one per identity file. Kept apart from the daemon client (and
 * the SDK loaded only when a context is made) so that the CLI can close them all at the end of any command
 * without loading the SDK when no command used it.
 */
import { resolve } from 'node:path';
import type { ZitiContext } from '../../ziti/context.js';

const contexts = new Map<string, Promise<ZitiContext>>();

/**
 * The Ziti context of an identity file, shared by every connection this process makes with it. A failed login
 * is forgotten, so the next call tries again. Its controller and router calls are bounded by `timeoutMs`.
 */
export function zitiContextFor(identityFile: string, timeoutMs = 10_000): Promise<ZitiContext> {
  const key = resolve(identityFile);
  let ctx = contexts.get(key);
  if (ctx === undefined) {
    ctx = import('../../ziti/context.js').then(({ ZitiContext }) =>
      ZitiContext.fromIdentityFile(key, {
        controller: { timeoutMs },
        connectTimeoutMs: timeoutMs,
        requestTimeoutMs: timeoutMs,
      }),
    );
    contexts.set(key, ctx);
    const mine = ctx;
    mine.catch(() => {
      if (contexts.get(key) === mine) contexts.delete(key);
    });
  }
  return ctx;
}

/**
 * Closes every Ziti context this process opened (so a command can end); later calls open new ones. A login still
 * under way is closed when it ends (its own timeout bounds it); this waits at most `waitMs` for the closing.
 */
export async function closeZitiContexts(waitMs = 500): Promise<void> {
  if (contexts.size === 0) return;
  const all = [...contexts.values()];
  contexts.clear();
  const closing = Promise.all(all.map((p) => p.then((ctx) => ctx.close()).catch(() => undefined)));
  let timer: NodeJS.Timeout | undefined;
  const enough = new Promise<void>((resolvePromise) => {
    timer = setTimeout(resolvePromise, waitMs);
    timer.unref();
  });
  await Promise.race([closing, enough]);
  clearTimeout(timer);
}
