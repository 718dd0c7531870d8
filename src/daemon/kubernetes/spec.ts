/**
 * The Kubernetes objects of one loop, built from the daemon's executor settings: a Job (one pod, never retried:
 * the runner retries iterations itself), the ConfigMap holding the runner's launch file, and the
 * PersistentVolumeClaim holding the loop's data folder so that it outlives the pod. The ConfigMap and the claim
 * are owned by the Job once it exists, so deleting the Job (by hand, by `stop` or by its TTL) takes them too.
 *
 * Object names come from the daemon's name and the loop's registry id, never from the task name, which is
 * carried in a label when it is a valid label value and always in an annotation.
 */
import type { V1ConfigMap, V1Job, V1PersistentVolumeClaim, V1Toleration } from '@kubernetes/client-node';

/** Labels and annotations the executor reads back; the prefix is ours. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  daemon: 'ralph.dev/daemon',
  loop: 'ralph.dev/loop',
  task: 'ralph.dev/task',
} as const;
export const ANNOTATIONS = { task: 'ralph.dev/task' } as const;
export const MANAGED_BY = 'ralph';

/** The container that runs the runner; its termination message carries how the loop ended. */
export const RUNNER_CONTAINER = 'runner';
/** Where the pod mounts the loop's data folder and its launch file. */
export const DATA_MOUNT = '/var/lib/ralph';
export const LAUNCH_MOUNT = '/etc/ralph';
/** The file the runner writes its final status to; Kubernetes copies it into the container's status. */
export const TERMINATION_LOG = '/dev/termination-log';

export interface ResourceList {
  cpu?: string | undefined;
  memory?: string | undefined;
}

export interface KubernetesExecutorConfig {
  kind: 'kubernetes';
  namespace: string;
  /** The runner image (see docs/kubernetes.md). */
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** A kubeconfig file; null for the in-cluster service account (or the default kubeconfig outside a pod). */
  kubeconfig: string | null;
  resources: { requests?: ResourceList | undefined; limits?: ResourceList | undefined };
  /** Storage class of the loops' data claims; null for the cluster's default class. */
  storageClass: string | null;
  storageSize: string;
  /** A Secret whose keys become the agent's environment (its API keys); null for none. */
  secret: string | null;
  /** How long a finished loop's Job (and with it its data claim) stays for `logs` and `pull`. */
  ttlSecondsAfterFinished: number;
  /** Pods go to nodes with these labels. */
  nodeSelector: Record<string, string>;
  /** Taints of those nodes the pods tolerate. */
  tolerations: V1Toleration[];
  /**
   * Run pods in the node's network namespace, for nodes with no pod network. The runner listens on a Unix socket
   * only, so this opens nothing; the agent's own connections leave from the node's address.
   */
  hostNetwork: boolean;
  /** The uid the runner runs as (never root). */
  runAsUser: number;
  /** How long past the loop's own duration budget the Job's deadline falls: the runner's end comes first. */
  deadlineGraceSeconds: number;
  /** The node binary in the image: the daemon runs it through exec to send files and reach the socket. */
  nodePath: string;
  /** The most bytes a loop's files (its task folder) may hold: they are sent into the pod at its start. */
  maxTaskBytes: number;
  /**
   * How long the runner in a pod waits for its files before it gives up and ends `failed`; null: the runner's
   * default (10 minutes).
   */
  awaitFilesMs: number | null;
}

/** Where the daemon writes, last, the marker that says a loop's files have all arrived in its pod. */
export const DELIVERED_MARKER = `${DATA_MOUNT}/.delivered`;
/** Where the daemon writes, once it has taken a loop's results home, the marker that lets the runner exit. */
export const HOLD_MARKER = `${DATA_MOUNT}/.collected`;
/** Where a runner whose loop ended writes how (its termination message, before it holds). */
export const END_FILE = `${DATA_MOUNT}/.ended`;
/** How long a runner whose loop ended waits for the daemon to take its results (then exits regardless). */
export const HOLD_TIMEOUT_MS = 10 * 60_000;

export interface LoopObjectsInput {
  /** The daemon's name: one cluster namespace may hold the loops of several daemons. */
  daemon: string;
  /** The loop's registry id on the daemon. */
  loopId: number;
  task: string;
  /** The runner's launch file, as JSON text. */
  launch: string;
  /** The loop's duration budget; the Job's deadline is a little past it, so the runner ends it first. */
  maxDurationMs?: number | undefined;
}

export interface LoopObjects {
  job: V1Job;
  configMap: V1ConfigMap;
  claim: V1PersistentVolumeClaim;
}

/** The default of `deadlineGraceSeconds`. */
export const DEADLINE_GRACE_SECONDS = 60;

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)$/;

/** True when `value` can be a label value (at most 63 characters, alphanumeric at both ends). */
export function isLabelValue(value: string): boolean {
  return LABEL_VALUE.test(value);
}

/** The name of a loop's Job (and of its ConfigMap and claim): `ralph-<daemon>-<loop id>`, DNS-1123. */
export function loopObjectName(daemon: string, loopId: number): string {
  return `ralph-${dnsLabelPart(daemon, 40)}-${loopId}`;
}

/** Lower-cased, other characters as '-', trimmed to `max` and to alphanumeric ends; 'x' when nothing is left. */
function dnsLabelPart(value: string, max: number): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
  return cleaned === '' ? 'x' : cleaned;
}

/** The label selector of one daemon's loops. */
export function daemonSelector(daemon: string): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.daemon}=${daemonLabel(daemon)}`;
}

/** The daemon's name as a label value (cleaned the way object names are). */
export function daemonLabel(daemon: string): string {
  return isLabelValue(daemon) ? daemon : dnsLabelPart(daemon, 63);
}

function labelsOf(input: LoopObjectsInput): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.daemon]: daemonLabel(input.daemon),
    [LABELS.loop]: String(input.loopId),
  };
  if (isLabelValue(input.task)) labels[LABELS.task] = input.task;
  return labels;
}

function resourcesOf(config: KubernetesExecutorConfig): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const kind of ['requests', 'limits'] as const) {
    const list = config.resources[kind];
    if (list === undefined) continue;
    const entries = Object.entries(list).filter((e): e is [string, string] => e[1] !== undefined);
    if (entries.length > 0) out[kind] = Object.fromEntries(entries);
  }
  return out;
}

/** The loop's Job, its launch ConfigMap and its data claim. */
export function loopObjects(config: KubernetesExecutorConfig, input: LoopObjectsInput): LoopObjects {
  if (!Number.isSafeInteger(input.loopId) || input.loopId <= 0) {
    throw new Error(`loop id must be a positive integer, not ${input.loopId}`);
  }
  const name = loopObjectName(input.daemon, input.loopId);
  const labels = labelsOf(input);
  const annotations = { [ANNOTATIONS.task]: input.task };
  const metadata = { name, namespace: config.namespace, labels, annotations };
  const budget = input.maxDurationMs ?? 0;
  const deadline = budget > 0 ? Math.ceil(budget / 1000) + config.deadlineGraceSeconds : undefined;

  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    data: { 'launch.json': input.launch },
  };
  const claim: V1PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata,
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: config.storageSize } },
      ...(config.storageClass === null ? {} : { storageClassName: config.storageClass }),
    },
  };
  const job: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata,
    spec: {
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
      ...(deadline === undefined ? {} : { activeDeadlineSeconds: deadline }),
      template: {
        metadata: { labels, annotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(Object.keys(config.nodeSelector).length > 0 ? { nodeSelector: config.nodeSelector } : {}),
          ...(config.tolerations.length > 0 ? { tolerations: config.tolerations } : {}),
          ...(config.hostNetwork ? { hostNetwork: true } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: config.runAsUser,
            runAsGroup: config.runAsUser,
            fsGroup: config.runAsUser,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: RUNNER_CONTAINER,
              image: config.image,
              imagePullPolicy: config.imagePullPolicy,
              args: [`${LAUNCH_MOUNT}/launch.json`],
              env: [
                { name: 'RALPH_HOME', value: `${DATA_MOUNT}/home` },
                { name: 'RALPH_TERMINATION_LOG', value: TERMINATION_LOG },
                { name: 'RALPH_AWAIT_FILE', value: DELIVERED_MARKER },
                { name: 'RALPH_HOLD_FILE', value: HOLD_MARKER },
                { name: 'RALPH_END_FILE', value: END_FILE },
                { name: 'RALPH_HOLD_TIMEOUT_MS', value: String(HOLD_TIMEOUT_MS) },
                // git and the agents keep their own settings under HOME: the data volume, as the root is read-only.
                { name: 'HOME', value: DATA_MOUNT },
                ...(config.awaitFilesMs === null
                  ? []
                  : [{ name: 'RALPH_AWAIT_TIMEOUT_MS', value: String(config.awaitFilesMs) }]),
              ],
              ...(config.secret === null ? {} : { envFrom: [{ secretRef: { name: config.secret } }] }),
              resources: resourcesOf(config),
              terminationMessagePath: TERMINATION_LOG,
              terminationMessagePolicy: 'File',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'data', mountPath: DATA_MOUNT },
                { name: 'launch', mountPath: LAUNCH_MOUNT, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: name } },
            { name: 'launch', configMap: { name, defaultMode: 0o444 } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
  return { job, configMap, claim };
}
