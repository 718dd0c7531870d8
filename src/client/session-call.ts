/** Runs one request against a live loop found by task name, and closes the connection. */
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import type { RpcClient } from '../protocol/index.js';
import { Registry, type SessionRecord } from '../registry/index.js';
import { connectSession } from './connect.js';
import { findSession } from './find.js';

/** The registry entry of a live loop, or a typed error saying why there is none. */
export function findLiveSession(task: string, paths: RalphPaths = ralphPaths()): SessionRecord {
  const registry = Registry.open(paths.registryFile);
  try {
    return findSession(registry, task, { live: true });
  } finally {
    registry.close();
  }
}

export async function withLoop<T>(
  task: string,
  fn: (client: RpcClient, session: SessionRecord) => Promise<T>,
  paths: RalphPaths = ralphPaths(),
): Promise<T> {
  const session = findLiveSession(task, paths);
  const client = await connectSession(session);
  try {
    return await fn(client, session);
  } finally {
    client.close();
  }
}
