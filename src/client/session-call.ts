/** Runs one request against a live loop found by task name, and closes the connection. */
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import type { RpcClient } from '../protocol/index.js';
import { Registry, type SessionRecord } from '../registry/index.js';
import { connectSession } from './connect.js';
import { findSession } from './find.js';

export async function withLoop<T>(
  task: string,
  fn: (client: RpcClient, session: SessionRecord) => Promise<T>,
  paths: RalphPaths = ralphPaths(),
): Promise<T> {
  const registry = Registry.open(paths.registryFile);
  let session: SessionRecord;
  try {
    session = findSession(registry, task, { live: true });
  } finally {
    registry.close();
  }
  const client = await connectSession(session);
  try {
    return await fn(client, session);
  } finally {
    client.close();
  }
}
