/**
 * The Ziti contexts this process has opened, one per identity file. Kept apart from the daemon client (and
 * the SDK loaded only when a context is made) so that the CLI can close them all at the end of any command
 * without loading the SDK when no command used it.
 */
import { resolve } from 'node:path';
import type { ZitiContext } from '../../ziti/context.js';

interface Entry {
  /** The logged-in context. */
  ready: Promise<ZitiContext>;
  /** Closes the context, a login still under way included (its request is cut off). */
  close: () => Promise<void>;
}

const contexts = new Map<string, Entry>();

export interface ContextOptions {
  /**
   * A private directory where the controller API session is kept between processes (see session-cache.ts): a
   * valid one there is taken up instead of logging in, and each new one is written there.
   */
  sessionCacheDir?: string | undefined;
}

/**
 * The Ziti context of an identity file, shared by every connection this process makes with it. A failed login
 * is forgotten, so the next call tries again. Its controller and router calls are bounded by `timeoutMs`.
 */
export function zitiContextFor(
  identityFile: string,
  timeoutMs = 10_000,
  options: ContextOptions = {},
): Promise<ZitiContext> {
  const key = resolve(identityFile);
  const known = contexts.get(key);
  if (known !== undefined) return known.ready;
  let made: ZitiContext | undefined;
  let closed = false;
  const ready = (async () => {
    const [{ ZitiContext }, { loadIdentity }] = await Promise.all([
      import('../../ziti/context.js'),
      import('../../ziti/identity.js'),
    ]);
    const identity = await loadIdentity(key);
    if (closed) throw new Error('the Ziti context was closed before it logged in');
    made = new ZitiContext(identity, {
      controller: { timeoutMs },
      connectTimeoutMs: timeoutMs,
      requestTimeoutMs: timeoutMs,
    });
    const cacheDir = options.sessionCacheDir;
    const cache = cacheDir === undefined ? undefined : await import('./session-cache.js');
    const cached = cache === undefined ? undefined : cache.readCachedSession(cacheDir!, identity);
    const resumed = cached !== undefined && made.controller.resumeApiSession(cached);
    if (!resumed) {
      try {
        await made.controller.authenticate();
      } catch (err) {
        await made.close();
        throw err;
      }
    }
    if (cache !== undefined) {
      const ctx = made;
      // The cache only saves a login: one that cannot be written (an unsafe directory, a full disk) costs a
      // login next time and is not this command's failure.
      const keep = (): void => {
        try {
          cache.writeCachedSession(cacheDir!, identity, ctx.controller.apiSessionDetail());
        } catch {
          return;
        }
      };
      if (!resumed) keep();
      for (const event of ['apiSession', 'tokenRefreshed', 'apiSessionLost'] as const)
        ctx.controller.on(event, keep);
    }
    return made;
  })();
  const entry: Entry = {
    ready,
    close: async () => {
      closed = true;
      await made?.close();
    },
  };
  contexts.set(key, entry);
  ready.catch(() => {
    if (contexts.get(key) === entry) contexts.delete(key);
  });
  return ready;
}

/**
 * Closes every Ziti context this process opened (so a command can end); later calls open new ones. A login
 * still under way is cut off rather than waited for; this waits at most `waitMs` for the closing.
 */
export async function closeZitiContexts(waitMs = 500): Promise<void> {
  if (contexts.size === 0) return;
  const all = [...contexts.values()];
  contexts.clear();
  const closing = Promise.all(all.map((entry) => entry.close().catch(() => undefined)));
  let timer: NodeJS.Timeout | undefined;
  const enough = new Promise<void>((resolvePromise) => {
    timer = setTimeout(resolvePromise, waitMs);
    timer.unref();
  });
  await Promise.race([closing, enough]);
  clearTimeout(timer);
}
