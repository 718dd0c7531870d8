/**
 * Paces what the loops say on its way to the screen. Ink draws the whole screen again for any change, however
 * small: at 160x50 a frame costs about 20 ms of CPU (bench/fleet.mjs), so the TUI's CPU follows the number of
 * frames, not the number of events. The fleet's rows and the selected loop's detail each arrive on their own
 * timer; sent through here, whatever arrives within one frame interval is applied in one turn of the event
 * loop, which React renders once. Keys do not come through here: they redraw at once.
 */

/**
 * The least time between two paced frames: twice a second. With 30 loops printing 5 lines a second each on a
 * 160x50 terminal (bench/fleet.mjs) the TUI used 15 % of a core at about 4.6 frames a second, 11 % at 3 and
 * 8 % at 2; with no paced frames at all, what is left (reading the loops' events, the clock) is 4 to 6 %.
 */
export const FRAME_MS = 500;

export class FramePacer {
  /** The latest update of each kind not applied yet; a newer one of the same kind replaces it. */
  private readonly pending = new Map<string, () => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlush = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(private readonly intervalMs = FRAME_MS) {}

  /**
   * Applies `update` with the next frame: at once (on the next turn) when the last paced frame is an interval
   * old, else when it will be. `kind` names what it updates, so that only the newest of each kind is applied.
   */
  schedule(kind: string, update: () => void): void {
    if (this.closed) return;
    this.pending.set(kind, update);
    if (this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Applies every pending update now, together. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    this.lastFlush = Date.now();
    const updates = [...this.pending.values()];
    this.pending.clear();
    for (const update of updates) update();
  }

  /** Drops whatever is pending; later updates are ignored. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
