/** Timing for the demo agent. RALPH_DEMO_SPEED divides every pause: 1 is real pace, 20 is fast, 0 is instant. */
import { setTimeout as sleep } from 'node:timers/promises';

export function demoSpeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.RALPH_DEMO_SPEED;
  if (raw === undefined || raw.trim() === '') return 1;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : 1;
}

export interface Pacer {
  pause(ms: number): Promise<void>;
  readonly instant: boolean;
}

export function pacer(speed: number): Pacer {
  return {
    instant: speed === 0,
    pause: (ms) => (speed === 0 ? Promise.resolve() : sleep(Math.round(ms / speed))),
  };
}
