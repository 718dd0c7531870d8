/**
 * When a connection changes from NDJSON lines to binary frames. The framing layer asks this interface about
 * each parsed message and knows no method by name; the per-loop protocol's rule (an `attach` request asking
 * for `"framing": "binary"`) is one implementation, given to the server and the client that speak it.
 */

export interface FramingSwitch {
  /**
   * True when `message` (a parsed JSON value) asks to switch its connection to binary frames. Whatever
   * follows it is held until its answer has been sent; the switch happens only if the answer is a result.
   */
  asksForFrames(message: unknown): boolean;
}

/** Never switches: the connection speaks NDJSON lines for its whole life. */
export const NO_FRAMING_SWITCH: FramingSwitch = { asksForFrames: () => false };

/** The per-loop protocol's rule: a single `attach` request (with an id) whose params say `"framing": "binary"`. */
export const attachFramingSwitch: FramingSwitch = {
  asksForFrames(value: unknown): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const msg = value as { method?: unknown; id?: unknown; params?: unknown };
    if (msg.method !== 'attach' || msg.id === undefined || msg.id === null) return false;
    const params = msg.params as { framing?: unknown } | null | undefined;
    return typeof params === 'object' && params !== null && params.framing === 'binary';
  },
};
