/**
 * execa, imported when a command is first run: a runner that runs no `--verify`, `--on-end` or notification
 * command never loads it (see src/loop/stall.ts for why that matters). In a bundled install it comes from a
 * chunk file of its own, which a runner started before ralph was reinstalled may no longer find; that failure
 * says so instead of surfacing as a bare "Cannot find module".
 */
import type { execa } from 'execa';
import { errorMessage } from '../errors.js';

export type Execa = typeof execa;

export async function loadExeca(): Promise<Execa> {
  try {
    return (await import('execa')).execa;
  } catch (err) {
    throw new Error(
      `cannot load execa to run a command (${errorMessage(err)}); was ralph reinstalled while the loop ran?`,
      { cause: err },
    );
  }
}
