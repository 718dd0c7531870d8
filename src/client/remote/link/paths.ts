/**
 * Where the link lives: its own private folder in the user's run directory (0700, like the loops' sockets), so
 * that its socket can never be mistaken for a loop's `<task>.sock`. The folder holds the socket (0600) and the
 * link's diagnostics log.
 */
import { join } from 'node:path';
import type { RalphPaths } from '../../../config/paths.js';

/** Turns the link off for a command (any non-empty value but `0`). */
export const NO_LINK_ENV = 'RALPH_NO_LINK';
/** How long the link waits with no client before it exits (milliseconds; default 10 minutes). */
export const LINK_IDLE_ENV = 'RALPH_LINK_IDLE_MS';
export const DEFAULT_LINK_IDLE_MS = 10 * 60_000;

export function linkDir(paths: RalphPaths): string {
  return join(paths.runDir, 'link');
}

export function linkSocketPath(paths: RalphPaths): string {
  return join(linkDir(paths), 'link.sock');
}

export function linkLogFile(paths: RalphPaths): string {
  return join(linkDir(paths), 'link.log');
}

/** Whether the environment turns the link off. */
export function linkDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[NO_LINK_ENV];
  return value !== undefined && value !== '' && value !== '0';
}

/** The idle period from the environment: a whole number of milliseconds from 100 to one day, else the default. */
export function linkIdleMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[LINK_IDLE_ENV];
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) return DEFAULT_LINK_IDLE_MS;
  const ms = Number(raw);
  return ms >= 100 && ms <= 86_400_000 ? ms : DEFAULT_LINK_IDLE_MS;
}
