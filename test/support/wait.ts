/** Bounded waits shared by the test suites: every wait has a deadline and names what it waited for. */

/** Polls `probe` until it returns a truthy value; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with `promise`, or rejects naming `what` after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lets a producer that writes in a tight loop wait for a reader that is reading: when `conn` has more than
 * `highBytes` queued, waits (bounded) until it reports that its queue has drained. Over a slower transport
 * (an overlay) a tight loop otherwise outruns even a reader that keeps up.
 */
export async function keepUp(
  conn: { queuedBytes: number; once(event: 'drain', listener: () => void): unknown },
  highBytes = 2 * 1024 * 1024,
): Promise<void> {
  if (conn.queuedBytes <= highBytes) return;
  await within(new Promise<void>((resolve) => conn.once('drain', resolve)), 'the reader to catch up');
}
