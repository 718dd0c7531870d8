/** The time now, ticking every `ms`, for ages that count up. */
import { useEffect, useState } from 'react';

export function useClock(ms = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
