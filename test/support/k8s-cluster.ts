/**
 * The loopback Kubernetes test cluster for vitest: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler on 127.0.0.1, with kwok fake nodes. The logic lives in scripts/k8s-testcluster-lib.mjs so that
 * `node scripts/k8s-testcluster.mjs start` runs the same cluster by hand.
 *
 * Tests skip with a notice when the binaries are not built (`bash scripts/install-k8s.sh`), unless
 * $RALPH_REQUIRE_K8S=1: then they run and fail with K8S_NOT_FOUND. Tests of the real node (startTestCluster({
 * realNode: true })) use k8sNodeSuite() instead: it skips as well when the node cannot run here (not root, or
 * containerd, runc or the pause image missing: `bash scripts/install-k8s-node.sh`), unless
 * $RALPH_REQUIRE_K8S_NODE=1. Use as
 *
 *   describe.skipIf(!k8sSuite().available)('...', () => {
 *     let cluster: TestCluster;
 *     beforeAll(async () => { cluster = await startTestCluster({ namespace: 'demo' }); }, 180_000);
 *     afterAll(async () => { await cluster?.stop(); });
 *   });
 */
import {
  INSTALL_HINT,
  defaultBinDir,
  findK8sBinaries,
  findNodeTools,
} from '../../scripts/k8s-testcluster-lib.mjs';

export {
  ClusterError,
  EVICTION_MESSAGE,
  FAKE_NODE_LABEL,
  INSTALL_HINT,
  MESSAGE_ANNOTATION,
  NODE_INSTALL_HINT,
  OUTCOME_ANNOTATION,
  OUTCOME_DELAY_ANNOTATION,
  PAUSE_IMAGE,
  REAL_NODE_LABEL,
  REAL_NODE_NAME,
  REAL_NODE_TAINT,
  findK8sBinaries,
  findNodeTools,
  startTestCluster,
  waitFor,
  writeOciImage,
} from '../../scripts/k8s-testcluster-lib.mjs';
export type {
  ApiResponse,
  ClusterProcess,
  ImageFile,
  K8sBinaries,
  OciImageOptions,
  Outcome,
  RealNode,
  RealNodeOptions,
  StartOptions,
  TestCluster,
} from '../../scripts/k8s-testcluster-lib.mjs';

/** Set to 1 to make the Kubernetes tests fail, instead of being skipped, when the binaries are missing. */
export const REQUIRE_K8S_ENV = 'RALPH_REQUIRE_K8S';

export interface K8sSuite {
  /** Whether the tests should run: the binaries are there, or $RALPH_REQUIRE_K8S=1. */
  available: boolean;
  /** Where the binaries are, or why they are missing and how to build them. */
  reason: string;
}

/** Whether the Kubernetes tests should run, without printing anything. */
export function k8sAvailability(env: NodeJS.ProcessEnv = process.env): K8sSuite {
  const bins = findK8sBinaries(env);
  if (bins) return { available: true, reason: `binaries in ${bins.dir}` };
  const reason = `the Kubernetes test binaries were not found in ${defaultBinDir(env)}; build them with \`${INSTALL_HINT}\``;
  if (env[REQUIRE_K8S_ENV] === '1') return { available: true, reason: `${reason} (${REQUIRE_K8S_ENV}=1)` };
  return { available: false, reason };
}

let warned = false;

/**
 * Same as k8sAvailability(), and prints a notice once per process when the tests are skipped. Use as
 * `describe.skipIf(!k8sSuite().available)(...)`.
 */
export function k8sSuite(env: NodeJS.ProcessEnv = process.env): K8sSuite {
  const suite = k8sAvailability(env);
  if (!suite.available && !warned) {
    warned = true;
    console.warn(
      `[k8s] SKIPPING the Kubernetes cluster tests: ${suite.reason}. ` +
        `Set ${REQUIRE_K8S_ENV}=1 to make their absence a failure.`,
    );
  }
  return suite;
}

/** Set to 1 to make the real-node tests fail, instead of being skipped, when the node cannot run here. */
export const REQUIRE_K8S_NODE_ENV = 'RALPH_REQUIRE_K8S_NODE';

/**
 * Whether the real-node tests should run: the control plane binaries and the node's tools are there and this
 * runs as root, or $RALPH_REQUIRE_K8S_NODE=1.
 */
export function k8sNodeAvailability(env: NodeJS.ProcessEnv = process.env): K8sSuite {
  const plane = k8sAvailability({ ...env, [REQUIRE_K8S_ENV]: '' });
  const node = findNodeTools(env);
  if (plane.available && node.tools) return { available: true, reason: `${plane.reason}; ${node.reason}` };
  const reason = [plane.available ? '' : plane.reason, node.tools ? '' : node.reason]
    .filter(Boolean)
    .join('; ');
  if (env[REQUIRE_K8S_NODE_ENV] === '1') {
    return { available: true, reason: `${reason} (${REQUIRE_K8S_NODE_ENV}=1)` };
  }
  return { available: false, reason };
}

let nodeWarned = false;

/**
 * Same as k8sNodeAvailability(), and prints a notice once per process when the tests are skipped. Use as
 * `describe.skipIf(!k8sNodeSuite().available)(...)`.
 */
export function k8sNodeSuite(env: NodeJS.ProcessEnv = process.env): K8sSuite {
  const suite = k8sNodeAvailability(env);
  if (!suite.available && !nodeWarned) {
    nodeWarned = true;
    console.warn(
      `[k8s] SKIPPING the real-node Kubernetes tests: ${suite.reason}. ` +
        `Set ${REQUIRE_K8S_NODE_ENV}=1 to make their absence a failure.`,
    );
  }
  return suite;
}
