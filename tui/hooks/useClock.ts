/**
 * The time now, for ages that count up: read afresh at every render, and a render forced only when nothing
 * else has redrawn for `ms`. A busy fleet already redraws twice a second; a clock of its own would
 * add a whole frame every second on top.
 */
import { useEffect, useState } from 'react';

export function useClock(ms = 1000): number {
  const [, setTick] = useState(0);
  const now = Date.now();
  // No dependency list: the timer starts again after every render, whatever caused it.
  useEffect(() => {
    const timer = setTimeout(() => setTick((tick) => tick + 1), ms);
    return () => clearTimeout(timer);
  });
  return now;
}
