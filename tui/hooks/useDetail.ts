/**
 * The selected loop's detail, read again every `intervalMs` while it stays selected and runs (and at once when
 * its row changes). An ended loop's detail does not change, so it is read once. A read never overlaps the
 * previous one, so a slow loop cannot pile requests up. The first answer for a newly selected loop is shown at
 * once; later ones only refresh it, and join the next paced frame rather than drawing one of their own.
 */
import { useEffect, useRef, useState } from 'react';
import type { FleetRow, LoopDetail } from '../../src/client/fleet/index.js';
import { errorMessage } from '../../src/errors.js';
import { useFleet, useFramePacer } from '../state/context.js';

export interface DetailState {
  detail: LoopDetail | null;
  loading: boolean;
}

/** Lines of history asked for: enough to scroll back a few screens. */
export const SCROLLBACK = 500;

export function useDetail(row: FleetRow | null, intervalMs = 1000): DetailState {
  const fleet = useFleet();
  const pacer = useFramePacer();
  const [state, setState] = useState<DetailState>({ detail: null, loading: false });
  const rowRef = useRef(row);
  rowRef.current = row;
  const key = row?.key ?? null;
  const ended = row?.link.state === 'ended';
  // Re-read at once when the loop's state changes (a new iteration, a status, a story, its link). New output
  // alone waits for the next tick: a loop printing fast would otherwise be asked for its screen non-stop.
  const version = row ? `${row.status}|${row.iteration}|${row.currentStory}|${row.link.state}` : '';
  const kick = useRef<() => void>(() => undefined);

  useEffect(() => {
    if (key === null) {
      setState({ detail: null, loading: false });
      return;
    }
    let live = true;
    let busy = false;
    let again = false;
    let shown = false;
    const show = (update: () => void): void => {
      if (!shown) {
        shown = true;
        update();
        return;
      }
      pacer.schedule('detail', () => {
        if (live) update();
      });
    };
    setState({ detail: null, loading: true });
    const read = async (): Promise<void> => {
      const current = rowRef.current;
      if (!current || current.key !== key) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        const detail = await fleet.detail(current, SCROLLBACK);
        if (live) show(() => setState({ detail, loading: false }));
      } catch (err) {
        if (live) {
          show(() =>
            setState((s) => ({
              detail: s.detail && { ...s.detail, problems: [errorMessage(err)] },
              loading: false,
            })),
          );
        }
      } finally {
        busy = false;
        if (again && live) {
          again = false;
          void read();
        }
      }
    };
    kick.current = () => void read();
    void read();
    const timer = ended ? null : setInterval(() => void read(), intervalMs);
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [fleet, pacer, key, ended, intervalMs]);

  useEffect(() => {
    kick.current();
  }, [version]);

  return state;
}
