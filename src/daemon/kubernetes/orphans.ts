/**
 * Labelled Jobs of a daemon that its record of loops does not know, for `ralph daemon orphans`: read while the
 * daemon runs or not (the record is a SQLite file in WAL mode), and deleted only when asked.
 */
import { existsSync } from 'node:fs';
import type { ExecutorConfig } from '../config.js';
import { KubernetesLoops, loadKubeConfig, type ClusterLoop } from './jobs.js';
import { ClusterLoopStore } from './store.js';

type KubernetesConfig = Extract<ExecutorConfig, { kind: 'kubernetes' }>;

function loopsOf(daemon: string, config: KubernetesConfig): KubernetesLoops {
  return new KubernetesLoops(loadKubeConfig(config.kubeconfig), config, daemon);
}

/** The daemon's labelled Jobs whose loop ids its record lacks (all of them when it has no record yet). */
export async function findOrphans(daemon: string, config: KubernetesConfig): Promise<ClusterLoop[]> {
  const known = new Set<number>();
  if (existsSync(config.store)) {
    const store = ClusterLoopStore.open(config.store);
    try {
      for (const row of store.all()) known.add(row.id);
    } finally {
      store.close();
    }
  }
  return (await loopsOf(daemon, config).adopt(known)).orphans;
}

/** Deletes the orphans' Jobs (foreground: pods first, then the Job with its ConfigMap and claim). */
export function cleanOrphans(
  daemon: string,
  config: KubernetesConfig,
  orphans: readonly ClusterLoop[],
): Promise<string[]> {
  return loopsOf(daemon, config).clean(orphans);
}
