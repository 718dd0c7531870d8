/**
 * Loads libsodium once. The package's CommonJS build is used: its ES module build refers to a file the
 * published package does not ship.
 */
import { createRequire } from 'node:module';
import type * as SodiumModule from 'libsodium-wrappers';

export type Sodium = typeof SodiumModule;

let loading: Promise<Sodium> | undefined;

export function loadSodium(): Promise<Sodium> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    const sodium = require('libsodium-wrappers') as Sodium;
    await sodium.ready;
    return sodium;
  })();
  return loading;
}
