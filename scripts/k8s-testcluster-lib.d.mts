// Types for k8s-testcluster-lib.mjs.

export declare class ClusterError extends Error {
  /**
   * K8S_NOT_FOUND (binaries missing), K8S_TIMEOUT, K8S_PROCESS_EXITED, K8S_API_ERROR, K8S_DIR_NOT_EMPTY,
   * K8S_NO_PORTS, K8S_SPAWN_FAILED, K8S_START_FAILED; for the real node K8S_NODE_NOT_FOUND (not root, or tools
   * missing), K8S_NODE_PATH, K8S_NODE_CONTAINERD (a containerd plugin failed), K8S_NODE_STOP, K8S_NO_REAL_NODE,
   * K8S_IMAGE_IMPORT, K8S_IMAGE_NAME, K8S_IMAGE_PATH.
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
/** Label `ralph.test/real` (value `true`) on the real node. */
export declare const REAL_NODE_LABEL: 'ralph.test/real';
/** The real node's name, `127.0.0.1`: its InternalIP and Hostname addresses are that too. */
export declare const REAL_NODE_NAME: '127.0.0.1';
/** `ralph.test/real=true:NoSchedule`, on the real node unless RealNodeOptions.taint is false. */
export declare const REAL_NODE_TAINT: Readonly<{
  key: 'ralph.test/real';
  value: 'true';
  effect: 'NoSchedule';
}>;
/** `localhost/ralph/pause:1.0`, containerd's sandbox image on the real node. */
export declare const PAUSE_IMAGE: 'localhost/ralph/pause:1.0';
/** `bash scripts/install-k8s-node.sh`: installs containerd and runc, builds the pause image. */
export declare const NODE_INSTALL_HINT: string;

export type Outcome = 'succeed' | 'oom' | 'evict';

export interface K8sBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  /** Built by install-k8s.sh too; only the real node runs it (fake nodes have no kubelet). */
  kubelet: string | null;
}

export type ControlPlaneComponentName =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
/** The real node's processes. */
export type NodeComponentName = 'containerd' | 'kubelet';
export type ComponentName = ControlPlaneComponentName | NodeComponentName;

/** Absolute paths of what the real node runs. */
export interface NodeTools {
  kubelet: string;
  /** The OCI archive of PAUSE_IMAGE (pause.oci.tar in the binaries folder). */
  pauseImage: string;
  containerd: string;
  ctr: string;
  /** containerd-shim-runc-v2: containerd finds it on PATH. */
  shim: string;
  runc: string;
  unshare: string;
  nsenter: string;
}

export interface NodeToolsCheck {
  /** Null when the node cannot run here (see reason). */
  tools: NodeTools | null;
  /** Names of the missing tools. */
  missing: string[];
  /** What is missing (not root, which tools) and how to install it. */
  reason: string;
}

export interface RealNodeOptions {
  /**
   * Taint the node with REAL_NODE_TAINT so that only pods tolerating it land there (default true): pods meant
   * for the fake nodes never end up on it.
   */
  taint?: boolean;
  /** containerd's snapshotter; default overlayfs when an overlay mount works in the cluster folder, else native. */
  snapshotter?: 'overlayfs' | 'native';
  /** Default: findNodeTools(). */
  tools?: NodeTools;
}

/**
 * A kubelet with containerd and runc joined to the cluster as node 127.0.0.1: its pods really run. Pods need
 * `hostNetwork: true` (there is no pod network: any other pod fails to start with an event saying so), a
 * nodeSelector on REAL_NODE_LABEL, a toleration of REAL_NODE_TAINT, and images imported with importImage() (no
 * registry is reachable; use a tag other than latest, or imagePullPolicy IfNotPresent/Never).
 */
export interface RealNode {
  name: typeof REAL_NODE_NAME;
  label: typeof REAL_NODE_LABEL;
  /** The taint it carries, or null. */
  taint: { key: string; value: string; effect: string } | null;
  /** containerd's socket: `ctr --address <it> --namespace k8s.io ...` */
  containerdSocket: string;
  snapshotter: 'overlayfs' | 'native';
  /** The port of the kubelet's API on 127.0.0.1. */
  kubeletPort: number;
  /** `<cluster dir>/node`: containerd's and the kubelet's folders and configuration. */
  dir: string;
  /** From starting containerd to the node being Ready. */
  readyMs: number;
  /** Same as TestCluster.importImage(). */
  importImage(ociArchive: string): Promise<string>;
}

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
  /** Holds pki/, etcd/, logs/, kwok/, admin.kubeconfig, and node/ for the real node. */
  dir: string;
  /** Admin kubeconfig (client certificate of O=system:masters), data embedded. */
  kubeconfig: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** The namespace created for StartOptions.namespace, if any. */
  namespace: string | undefined;
  logsDir: string;
  /** The log file of each component; containerd and kubelet only with the real node. */
  logs: Record<ControlPlaneComponentName, string> & Partial<Record<NodeComponentName, string>>;
  certs: { ca: string; adminCert: string; adminKey: string };
  /** Names of the fake nodes created so far. */
  nodeNames: string[];
  /** The real node, when started with StartOptions.realNode. */
  realNode: RealNode | undefined;
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
  /**
   * Imports an image archive (an OCI image layout in a tar, e.g. from writeOciImage(), or `docker save`
   * output) into the real node's containerd (`ctr images import`, namespace k8s.io) and resolves to the image's
   * name as containerd stores it. Rejects with K8S_NO_REAL_NODE without a real node, K8S_IMAGE_IMPORT when the
   * archive names no image or ctr fails.
   */
  importImage(ociArchive: string): Promise<string>;
  /**
   * Stops the processes it started and removes `dir` unless kept. Idempotent. With the real node, first the
   * kubelet, then containerd, then every process left in the node's mount namespace and its children (the
   * shims and containers: SIGKILL), the containers' cgroups, and any mount under `dir`; then kwok and the
   * controllers, then the API server, then etcd.
   */
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
  /**
   * Also start a real node (containerd, runc, kubelet; needs root and scripts/install-k8s-node.sh) once the
   * control plane is up; `true` for the defaults. Throws K8S_NODE_NOT_FOUND when it cannot run here.
   */
  realNode?: boolean | RealNodeOptions;
}

/**
 * One entry of an image's file system for writeOciImage(); parent folders are added (0755) when missing, so list
 * a folder before what it holds to give it a mode of its own.
 */
export interface ImageFile {
  /** Relative to the image's root, e.g. `bin/sh`. */
  path: string;
  /** Copy this file of this machine. */
  source?: string;
  /** Or this content. */
  data?: string | Buffer;
  /** Or a symbolic link to this target. */
  symlink?: string;
  /** Or a folder. */
  dir?: boolean;
  /** Default 0644 for files, 0755 for folders. */
  mode?: number;
  /** Default 0. */
  uid?: number;
  /** Default 0. */
  gid?: number;
}

export interface OciImageOptions {
  /** NAME:TAG in lower case, tag not `latest` (e.g. `localhost/ralph/busybox:test`). */
  name: string;
  files: ImageFile[];
  entrypoint?: string[];
  cmd?: string[];
  /** Default ['PATH=/usr/local/bin:/usr/bin:/bin']. */
  env?: string[];
  /** e.g. `65532:65532`. */
  user?: string;
  workingDir?: string;
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
/** What the real node needs, or why it cannot run here (not root, tools missing). */
export declare function findNodeTools(env?: NodeJS.ProcessEnv): NodeToolsCheck;
/**
 * Writes a one-layer image (this machine's architecture, uncompressed, reproducible) as an OCI image layout in a
 * tar file, named by the annotation io.containerd.image.name; returns the name and the manifest digest.
 */
export declare function writeOciImage(
  file: string,
  options: OciImageOptions,
): { name: string; digest: string };
/** Writes the archive of PAUSE_IMAGE holding the static program `binary` as /pause. */
export declare function writePauseImage(binary: string, out: string): { name: string; digest: string };
/** The image names an import archive carries (OCI index annotations, or docker RepoTags). */
export declare function imageNamesInArchive(file: string): string[];
/** An image name as containerd stores it (docker.io/library/ and :latest added where missing). */
export declare function normalizeImageName(name: string): string;
