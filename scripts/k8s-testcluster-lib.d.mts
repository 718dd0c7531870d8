// Types for k8s-testcluster-lib.mjs.

export declare class ClusterError extends Error {
  /**
   * K8S_NOT_FOUND (binaries missing), K8S_TIMEOUT, K8S_PROCESS_EXITED, K8S_API_ERROR, K8S_DIR_NOT_EMPTY,
   * K8S_NO_PORTS, K8S_SPAWN_FAILED, K8S_START_FAILED.
   */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown });
}

/** `bash scripts/install-k8s.sh`: builds the binaries into the cache folder. */
export declare const INSTALL_HINT: string;
export declare const K8S_VERSION: 'v1.34.4';
/**
 * Pod annotation `ralph.test/outcome`: `succeed` (containers exit 0, phase Succeeded), `oom` (OOMKilled, exit 137,
 * phase Failed) or `evict` (phase Failed, reason Evicted, condition DisruptionTarget); without it a pod keeps
 * running. The outcome is final whatever the pod's restartPolicy: no container restarts are simulated.
 */
export declare const OUTCOME_ANNOTATION: 'ralph.test/outcome';
/** Pod annotation `ralph.test/outcome-delay`: a Go duration between Running and the outcome (default 1s). */
export declare const OUTCOME_DELAY_ANNOTATION: 'ralph.test/outcome-delay';
/** Pod annotation `ralph.test/message`: the termination message of the containers of an ended pod. */
export declare const MESSAGE_ANNOTATION: 'ralph.test/message';
/** Label `ralph.test/fake` (value `true`) on every fake node. */
export declare const FAKE_NODE_LABEL: 'ralph.test/fake';
/** `status.message` of a pod ended with outcome `evict`. */
export declare const EVICTION_MESSAGE: string;
/** The kwok Stage documents the cluster runs kwok with (multi-document YAML). */
export declare const KWOK_STAGES: string;

export type Outcome = 'succeed' | 'oom' | 'evict';

export interface K8sBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  /** Built by install-k8s.sh too, but not used by the cluster (fake nodes have no kubelet). */
  kubelet: string | null;
}

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

export interface ClusterProcess {
  name: ComponentName;
  /** Process group id (the guard shell that runs the component). */
  pid: number;
  logFile: string;
  logTail(lines?: number): string;
  /** Null while running, else how it ended. */
  exited(): { code: number | null } | null;
  /** SIGTERM to the group, SIGKILL after `graceMs` (default 10 000). */
  stop(graceMs?: number): Promise<void>;
}

export interface ApiResponse<T = unknown> {
  status: number;
  /** Parsed JSON when the response is JSON, else the text. */
  body: T;
}

export interface RequestOptions {
  /** Default application/json; e.g. application/merge-patch+json for PATCH. */
  contentType?: string;
  /** Default 15 000. */
  timeoutMs?: number;
}

export interface TestCluster {
  /** Holds pki/, etcd/, logs/, kwok/ and admin.kubeconfig. */
  dir: string;
  /** Admin kubeconfig (client certificate of O=system:masters), data embedded. */
  kubeconfig: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** The namespace created for StartOptions.namespace, if any. */
  namespace: string | undefined;
  logsDir: string;
  logs: Record<ComponentName, string>;
  certs: { ca: string; adminCert: string; adminKey: string };
  /** Names of the fake nodes created so far. */
  nodeNames: string[];
  /** How long startTestCluster took. */
  startupMs: number;
  processes: ClusterProcess[];
  /** A request to the API server as the admin; never throws for an HTTP status. */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options?: RequestOptions,
  ): Promise<ApiResponse<T>>;
  /**
   * Same as request(), but resolves to the body (typed as the caller says) and throws ClusterError
   * K8S_API_ERROR unless the status is 2xx.
   */
  api<T = unknown>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  /**
   * Creates more fake nodes (label ralph.test/fake=true, no taints, capacity cpu 32, memory 256Gi, pods 300)
   * and waits until they are Ready and untainted; resolves to their names.
   */
  addFakeNodes(count: number, options?: { timeoutMs?: number }): Promise<string[]>;
  /** Creates a namespace and waits for its default service account (pods cannot be created before it). */
  createNamespace(name: string, options?: { timeoutMs?: number }): Promise<void>;
  /** Stops the processes it started (kwok and the controllers, then the API server, then etcd) and removes
   * `dir` unless kept. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Directory to run in: created if missing, must be empty, kept by stop(). Default: a fresh temp dir. */
  dir?: string;
  /** Keep `dir` after stop(). Default: false for the temp dir, true for `dir`. */
  keep?: boolean;
  /** Fake nodes to create before resolving (default 2). */
  nodes?: number;
  /** A namespace to create (and wait for its default service account) before resolving. */
  namespace?: string;
  /** Bound on the whole start-up (default 120 000). */
  timeoutMs?: number;
  /** Default: findK8sBinaries(). */
  binaries?: K8sBinaries;
}

/** ${RALPH_K8S_BIN:-$HOME/.cache/ralph/k8s-v1.34.4/bin} */
export declare function defaultBinDir(env?: NodeJS.ProcessEnv): string;
/** The binaries in defaultBinDir(env); null when one of the required ones is missing. */
export declare function findK8sBinaries(env?: NodeJS.ProcessEnv): K8sBinaries | null;
/** Starts the cluster; throws ClusterError (K8S_NOT_FOUND when the binaries are missing). */
export declare function startTestCluster(options?: StartOptions): Promise<TestCluster>;
/** Polls `probe` until truthy; fails at once when one of `watch` exits, with its log tail. */
export declare function waitFor<T>(
  probe: () => Promise<T | null | undefined | false>,
  options: { timeoutMs: number; what: string; intervalMs?: number; watch?: ClusterProcess[] },
): Promise<T>;
export declare function freePort(): Promise<number>;
export declare function logTail(file: string, lines?: number): string;
