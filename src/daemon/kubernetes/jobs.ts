/**
 * One daemon's loops on a Kubernetes cluster, kept as labelled Jobs in one namespace: started (Job, launch
 * ConfigMap, data claim), listed and watched with their pods, re-adopted after a daemon restart by listing
 * the labels, stopped by deleting the Job with foreground propagation. Labelled Jobs the daemon does not know
 * are reported as orphans and deleted only when asked.
 */
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Job,
  type V1JobList,
  type V1ObjectMeta,
  type V1OwnerReference,
  type V1Pod,
  type V1PodList,
} from '@kubernetes/client-node';
import { errorMessage } from '../../errors.js';
import {
  ANNOTATIONS,
  LABELS,
  daemonSelector,
  loopObjectName,
  loopObjects,
  RUNNER_CONTAINER,
  type KubernetesExecutorConfig,
  type LoopObjectsInput,
} from './spec.js';
import { clusterLoopState, type ClusterLoopState } from './status.js';

export interface ClusterLoop {
  loopId: number;
  task: string;
  /** The Job's name (also its ConfigMap's and claim's). */
  name: string;
  createdAt: string | null;
  /** The Job is being deleted (a stop, its TTL or a user's delete). */
  deleting: boolean;
  state: ClusterLoopState;
  /** Its newest pod: the name, and whether the runner container runs in it (null: no pod). */
  pod: PodSummary | null;
}

export interface PodSummary {
  name: string;
  running: boolean;
}

function podSummary(pod: V1Pod | undefined): PodSummary | null {
  const name = pod?.metadata?.name;
  if (pod === undefined || name === undefined) return null;
  const runner = pod.status?.containerStatuses?.find((c) => c.name === RUNNER_CONTAINER);
  const running =
    pod.metadata?.deletionTimestamp == null &&
    pod.status?.phase === 'Running' &&
    runner?.state?.running !== undefined;
  return { name, running };
}

export interface AdoptReport {
  /** Labelled Jobs of loops the daemon knows. */
  adopted: ClusterLoop[];
  /** Labelled Jobs of loops it does not know: reported, never deleted unless asked. */
  orphans: ClusterLoop[];
  /** Known loops with no Job left. */
  missing: number[];
}

/** A failed call to the API server, with what was being done and what the server said. */
export class KubernetesError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'KubernetesError';
  }
}

function serverMessage(body: unknown): string | undefined {
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  ) {
    return (body as { message: string }).message;
  }
  if (typeof body !== 'string') return undefined;
  try {
    return serverMessage(JSON.parse(body));
  } catch {
    return body.slice(0, 300) || undefined;
  }
}

function apiError(err: unknown, what: string): KubernetesError {
  if (err instanceof ApiException) {
    const said = serverMessage(err.body);
    return new KubernetesError(`${what}: HTTP ${err.code}${said === undefined ? '' : `: ${said}`}`, err.code);
  }
  return new KubernetesError(`${what}: ${errorMessage(err)}`, null);
}

const isStatus = (err: unknown, code: number): boolean => err instanceof ApiException && err.code === code;

/** A kubeconfig file, or without one the in-cluster service account (or the default kubeconfig). */
export function loadKubeConfig(file: string | null): KubeConfig {
  const kc = new KubeConfig();
  if (file !== null) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

function loopIdOf(meta: V1ObjectMeta | undefined): number | null {
  const raw = meta?.labels?.[LABELS.loop];
  if (raw === undefined || !/^[1-9][0-9]{0,15}$/.test(raw)) return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : null;
}

function newestPod(pods: V1Pod[]): V1Pod | undefined {
  const time = (p: V1Pod): number => Date.parse(String(p.metadata?.creationTimestamp ?? '')) || 0;
  return pods.reduce<V1Pod | undefined>(
    (best, p) => (best === undefined || time(p) >= time(best) ? p : best),
    undefined,
  );
}

function describe(job: V1Job, pod: V1Pod | undefined, loopId: number): ClusterLoop {
  const meta = job.metadata!;
  const created = meta.creationTimestamp as unknown;
  return {
    loopId,
    task: meta.annotations?.[ANNOTATIONS.task] ?? meta.labels?.[LABELS.task] ?? '',
    name: meta.name ?? '',
    createdAt: created instanceof Date ? created.toISOString() : typeof created === 'string' ? created : null,
    deleting: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    state: clusterLoopState(job, pod),
    pod: podSummary(pod),
  };
}

export interface StopOptions {
  /** How long to wait for the Job (and its pod) to be gone; 0 returns once the delete is accepted. */
  waitMs?: number;
}

export class KubernetesLoops {
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly selector: string;

  constructor(
    private readonly kc: KubeConfig,
    private readonly config: KubernetesExecutorConfig,
    private readonly daemon: string,
  ) {
    this.batch = kc.makeApiClient(BatchV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.selector = daemonSelector(daemon);
  }

  get namespace(): string {
    return this.config.namespace;
  }

  /**
   * Creates the loop's Job suspended, then its ConfigMap and claim owned by the Job, then lets the Job run: a
   * pod never starts without its launch file, and a failed start leaves nothing behind.
   */
  async start(input: LoopObjectsInput): Promise<ClusterLoop> {
    if (input.daemon !== this.daemon)
      throw new Error(`loop of daemon ${input.daemon} given to ${this.daemon}`);
    const { job, configMap, claim } = loopObjects(this.config, input);
    const namespace = this.namespace;
    const name = job.metadata!.name!;
    let created: V1Job;
    try {
      created = await this.batch.createNamespacedJob({
        namespace,
        body: { ...job, spec: { ...job.spec!, suspend: true } },
      });
    } catch (err) {
      throw apiError(err, `cannot create Job ${name} in namespace ${namespace}`);
    }
    const owner: V1OwnerReference = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      name,
      uid: created.metadata!.uid!,
      controller: false,
      blockOwnerDeletion: true,
    };
    try {
      await this.core.createNamespacedConfigMap({
        namespace,
        body: { ...configMap, metadata: { ...configMap.metadata, ownerReferences: [owner] } },
      });
      await this.core.createNamespacedPersistentVolumeClaim({
        namespace,
        body: { ...claim, metadata: { ...claim.metadata, ownerReferences: [owner] } },
      });
      const resumed = await this.batch.patchNamespacedJob(
        { name, namespace, body: { spec: { suspend: false } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return describe(resumed, undefined, input.loopId);
    } catch (err) {
      await this.deleteJob(name, 'Background').catch(() => undefined);
      throw apiError(err, `cannot start loop ${input.task} in namespace ${namespace}`);
    }
  }

  /** Every labelled Job of this daemon with its newest pod, by loop id. */
  async list(): Promise<ClusterLoop[]> {
    const [jobs, pods] = await Promise.all([this.listJobs(), this.listPods()]);
    const podsByLoop = new Map<number, V1Pod[]>();
    for (const pod of pods) {
      const id = loopIdOf(pod.metadata);
      if (id === null) continue;
      const list = podsByLoop.get(id) ?? [];
      list.push(pod);
      podsByLoop.set(id, list);
    }
    const out: ClusterLoop[] = [];
    for (const job of jobs) {
      const id = loopIdOf(job.metadata);
      if (id === null) continue;
      out.push(describe(job, newestPod(podsByLoop.get(id) ?? []), id));
    }
    return out.sort((a, b) => a.loopId - b.loopId);
  }

  /** One loop's Job and pod, or undefined when its Job is gone. */
  async get(loopId: number): Promise<ClusterLoop | undefined> {
    const name = loopObjectName(this.daemon, loopId);
    let job: V1Job;
    try {
      job = await this.batch.readNamespacedJob({ name, namespace: this.namespace });
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw apiError(err, `cannot read Job ${name}`);
    }
    if (loopIdOf(job.metadata) !== loopId) return undefined;
    const pods = await this.listPods(`${LABELS.loop}=${loopId}`);
    return describe(job, newestPod(pods), loopId);
  }

  /** The newest pod of a loop: its name, and whether its runner container runs. */
  async podOf(loopId: number): Promise<PodSummary | undefined> {
    return podSummary(newestPod(await this.listPods(`${LABELS.loop}=${loopId}`))) ?? undefined;
  }

  /** Sorts this daemon's Jobs into the loops it knows (by registry id) and orphans; lists known loops gone. */
  async adopt(known: ReadonlySet<number>): Promise<AdoptReport> {
    const loops = await this.list();
    const seen = new Set(loops.map((l) => l.loopId));
    return {
      adopted: loops.filter((l) => known.has(l.loopId)),
      orphans: loops.filter((l) => !known.has(l.loopId)),
      missing: [...known].filter((id) => !seen.has(id)).sort((a, b) => a - b),
    };
  }

  /**
   * Deletes the loop's Job with foreground propagation (its pod goes first, then the Job, its ConfigMap and
   * claim) and waits, up to `waitMs`, until the Job is gone. False when there was no Job.
   */
  async stop(loopId: number, options: StopOptions = {}): Promise<boolean> {
    const name = loopObjectName(this.daemon, loopId);
    const deleted = await this.deleteJob(name, 'Foreground');
    if (!deleted) return false;
    const waitMs = options.waitMs ?? 30_000;
    const until = Date.now() + waitMs;
    while (waitMs > 0) {
      if ((await this.get(loopId)) === undefined) return true;
      if (Date.now() >= until) {
        throw new KubernetesError(
          `Job ${name} is still being deleted after ${Math.round(waitMs / 1000)} s`,
          null,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return true;
  }

  /** Deletes the Jobs of the given orphans (loops this daemon does not know); returns the names deleted. */
  async clean(orphans: readonly ClusterLoop[]): Promise<string[]> {
    const done: string[] = [];
    for (const orphan of orphans) {
      if (await this.deleteJob(orphan.name, 'Foreground')) done.push(orphan.name);
    }
    return done;
  }

  /**
   * Watches this daemon's Jobs and pods and calls `onChange` with a loop's state whenever either changes
   * (`undefined` state when its Job is gone). Resumes after a dropped watch by listing again. Returns the
   * function that ends the watch.
   */
  async watch(
    onChange: (loopId: number, loop: ClusterLoop | undefined) => void,
    onError: (err: Error) => void = () => undefined,
  ): Promise<() => void> {
    const jobs = new Map<number, V1Job>();
    const pods = new Map<number, Map<string, V1Pod>>();
    const podsOf = (id: number): Map<string, V1Pod> => {
      let forLoop = pods.get(id);
      if (forLoop === undefined) {
        forLoop = new Map<string, V1Pod>();
        pods.set(id, forLoop);
      }
      return forLoop;
    };
    let stopped = false;
    // The current watch of each kind: a watch that ends is followed by a new one, which replaces it.
    const aborts = new Map<'jobs' | 'pods', AbortController>();
    const emit = (id: number, kind: 'jobs' | 'pods'): void => {
      if (stopped) return;
      const job = jobs.get(id);
      if (job === undefined) {
        // Only the Jobs' own stream says a Job is gone: a pod's event may come before its Job's.
        if (kind === 'jobs') onChange(id, undefined);
        return;
      }
      onChange(id, describe(job, newestPod([...(pods.get(id)?.values() ?? [])]), id));
    };
    const watcher = new Watch(this.kc);
    const ns = encodeURIComponent(this.namespace);

    const follow = async (kind: 'jobs' | 'pods'): Promise<void> => {
      const url = kind === 'jobs' ? `/apis/batch/v1/namespaces/${ns}/jobs` : `/api/v1/namespaces/${ns}/pods`;
      const list = kind === 'jobs' ? await this.jobList() : await this.podList();
      if (stopped) return;
      // A fresh list replaces what an earlier watch knew: anything deleted meanwhile goes.
      const before = new Set(kind === 'jobs' ? jobs.keys() : pods.keys());
      if (kind === 'jobs') jobs.clear();
      else pods.clear();
      for (const item of list.items as (V1Job | V1Pod)[]) {
        const id = loopIdOf(item.metadata);
        if (id === null) continue;
        if (kind === 'jobs') jobs.set(id, item as V1Job);
        else podsOf(id).set(item.metadata!.name!, item as V1Pod);
      }
      for (const id of new Set([...before, ...(kind === 'jobs' ? jobs.keys() : pods.keys())])) emit(id, kind);
      const abort = await watcher.watch(
        url,
        {
          labelSelector: this.selector,
          resourceVersion: list.metadata?.resourceVersion,
          allowWatchBookmarks: true,
        },
        (type: string, obj: V1Job | V1Pod) => {
          if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
          const id = loopIdOf(obj.metadata);
          if (id === null) return;
          if (kind === 'jobs') {
            if (type === 'DELETED') jobs.delete(id);
            else jobs.set(id, obj as V1Job);
          } else if (type === 'DELETED') pods.get(id)?.delete(obj.metadata!.name!);
          else podsOf(id).set(obj.metadata!.name!, obj as V1Pod);
          emit(id, kind);
        },
        (err: unknown) => {
          if (stopped) return;
          if (err !== null && err !== undefined) onError(apiError(err, `the watch of ${kind} ended`));
          setTimeout(() => void follow(kind).catch((e: unknown) => retry(kind, e)), 500);
        },
      );
      if (stopped) abort.abort();
      else aborts.set(kind, abort);
    };
    const retry = (kind: 'jobs' | 'pods', err: unknown): void => {
      if (stopped) return;
      onError(err instanceof KubernetesError ? err : apiError(err, `cannot list ${kind}`));
      setTimeout(() => void follow(kind).catch((e: unknown) => retry(kind, e)), 2000);
    };
    await Promise.all([follow('jobs'), follow('pods')]);
    return () => {
      stopped = true;
      for (const a of aborts.values()) a.abort();
    };
  }

  private async listJobs(): Promise<V1Job[]> {
    return (await this.jobList()).items;
  }

  private async listPods(extra?: string): Promise<V1Pod[]> {
    return (await this.podList(extra)).items;
  }

  /** This daemon's Jobs, with the list's resource version (a watch starts from it). */
  private async jobList(): Promise<V1JobList> {
    try {
      return await this.batch.listNamespacedJob({ namespace: this.namespace, labelSelector: this.selector });
    } catch (err) {
      throw apiError(err, `cannot list Jobs in namespace ${this.namespace}`);
    }
  }

  /** This daemon's pods (those matching `extra` too, when given), with the list's resource version. */
  private async podList(extra?: string): Promise<V1PodList> {
    const labelSelector = extra === undefined ? this.selector : `${this.selector},${extra}`;
    try {
      return await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector });
    } catch (err) {
      throw apiError(err, `cannot list pods in namespace ${this.namespace}`);
    }
  }

  /** Deletes a Job; false when it was already gone. */
  private async deleteJob(name: string, propagationPolicy: 'Foreground' | 'Background'): Promise<boolean> {
    try {
      await this.batch.deleteNamespacedJob({ name, namespace: this.namespace, propagationPolicy });
      return true;
    } catch (err) {
      if (isStatus(err, 404)) return false;
      throw apiError(err, `cannot delete Job ${name}`);
    }
  }
}
