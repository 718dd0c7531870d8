// A throwaway Kubernetes control plane on loopback for tests and local experiments: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with kwok playing fake nodes (no kubelet). Pods on the fake nodes
// become Running with ready containers; the pod annotation `ralph.test/outcome` ends them as a test asks
// (succeed, oom, evict). Everything lives in one directory that `stop()` removes. The binaries come from
// scripts/install-k8s.sh.
//
// Opt-in (`realNode`), a real node joins too: containerd, runc and a kubelet run pods for real (hostNetwork
// only, images imported from OCI archives, no registry), so that a test can read logs and exec through the API
// server. Its tools come from scripts/install-k8s-node.sh.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, webcrypto } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync } from 'node:fs';
import { readFileSync, readSync, readdirSync, readlinkSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { freePort, isExecutable } from './ziti-testnet/proc.mjs';

export const INSTALL_HINT = 'bash scripts/install-k8s.sh';
export const K8S_VERSION = 'v1.34.4';
/** Pod annotation selecting how a pod on a fake node ends: `succeed`, `oom` or `evict` (else it keeps running). */
export const OUTCOME_ANNOTATION = 'ralph.test/outcome';
/** Pod annotation delaying that outcome after the pod became Running (a Go duration, e.g. `3s`; default 1s). */
export const OUTCOME_DELAY_ANNOTATION = 'ralph.test/outcome-delay';
/** Pod annotation giving the ended containers' termination message (what a runner writes on its way out). */
export const MESSAGE_ANNOTATION = 'ralph.test/message';
/** Label carried by every fake node (value `true`). */
export const FAKE_NODE_LABEL = 'ralph.test/fake';
/** The message of an evicted pod, as the kubelet words a memory eviction. */
export const EVICTION_MESSAGE = 'The node was low on resource: memory.';

const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_IP = '10.96.0.1';
const POD_CIDR = '10.244.0.0/16';
const NODE_CAPACITY = { cpu: '32', memory: '256Gi', pods: '300' };

/** Error raised by the test cluster; `code` is stable, `message` names what failed. */
export class ClusterError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = 'ClusterError';
    this.code = code;
  }
}

/** @param {NodeJS.ProcessEnv} env */
export function defaultBinDir(env = process.env) {
  return env.RALPH_K8S_BIN || join(env.HOME || homedir(), '.cache', 'ralph', `k8s-${K8S_VERSION}`, 'bin');
}

/**
 * The binaries of the cluster in $RALPH_K8S_BIN (default ~/.cache/ralph/k8s-v1.34.4/bin).
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {import('./k8s-testcluster-lib.d.mts').K8sBinaries | null} null when one of the required ones is missing
 */
export function findK8sBinaries(env = process.env) {
  const dir = defaultBinDir(env);
  const path = (/** @type {string} */ name) => join(dir, name);
  const required = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];
  if (!required.every((name) => isExecutable(path(name)))) return null;
  return {
    dir,
    etcd: path('etcd'),
    kubeApiserver: path('kube-apiserver'),
    kubeControllerManager: path('kube-controller-manager'),
    kubeScheduler: path('kube-scheduler'),
    kwok: path('kwok'),
    kubelet: isExecutable(path('kubelet')) ? path('kubelet') : null,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Certificates

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const HOUR = 3_600_000;
const YEAR = 365 * 24 * HOUR;

/** @param {webcrypto.CryptoKey} key */
async function privateKeyPem(key) {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

/** @param {webcrypto.CryptoKey} key */
async function publicKeyPem(key) {
  const der = Buffer.from(await webcrypto.subtle.exportKey('spki', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

function newKeys() {
  return /** @type {Promise<webcrypto.CryptoKeyPair>} */ (
    webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])
  );
}

let serial = 1;
function nextSerial() {
  serial += 1;
  return `${Date.now().toString(16)}${serial.toString(16).padStart(4, '0')}`;
}

/** @param {string} cn */
async function makeCa(cn) {
  const keys = await newKeys();
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: nextSerial(),
      name: `CN=${cn}`,
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + YEAR),
      keys,
      signingAlgorithm: EC,
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      ],
    },
    webcrypto,
  );
  return { cert, keys, pem: `${cert.toString('pem')}\n`, key: await privateKeyPem(keys.privateKey) };
}

/**
 * @param {Awaited<ReturnType<typeof makeCa>>} ca
 * @param {string} subject
 * @param {'server' | 'client'} use
 * @param {Array<{ type: 'dns' | 'ip', value: string }>} [names]
 */
async function issue(ca, subject, use, names) {
  const keys = await newKeys();
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: nextSerial(),
      subject,
      issuer: ca.cert.subject,
      notBefore: new Date(Date.now() - HOUR),
      notAfter: new Date(Date.now() + YEAR),
      signingKey: ca.keys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: EC,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
        new ExtendedKeyUsageExtension([
          use === 'server' ? ExtendedKeyUsage.serverAuth : ExtendedKeyUsage.clientAuth,
        ]),
        ...(names ? [new SubjectAlternativeNameExtension(names)] : []),
      ],
    },
    webcrypto,
  );
  return { pem: `${cert.toString('pem')}\n`, key: await privateKeyPem(keys.privateKey) };
}

/**
 * Writes into `dir`: the cluster CA (ca.crt/.key), the API server's serving certificate (apiserver.crt/.key), the
 * admin client certificate (admin.crt/.key, O=system:masters), the service-account signing key pair
 * (sa.key/sa.pub), and the front proxy CA and client certificate the aggregation layer expects. With `realNode`
 * also the real node's kubelet serving certificate (kubelet.crt/.key, for 127.0.0.1), the kubelet's client
 * certificate (node-client.crt/.key, system:node:<name> in system:nodes) and the API server's client certificate
 * for kubelets (apiserver-kubelet-client.crt/.key, O=system:masters).
 * @param {string} dir
 * @param {{ realNode?: boolean }} [o]
 */
async function writePki(dir, o = {}) {
  mkdirSync(dir, { recursive: true });
  const ca = await makeCa('ralph-test-cluster-ca');
  const frontProxyCa = await makeCa('ralph-test-front-proxy-ca');
  const dns = [
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
  ];
  const server = await issue(ca, 'CN=kube-apiserver', 'server', [
    ...dns.map((value) => ({ type: /** @type {const} */ ('dns'), value })),
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: SERVICE_IP },
  ]);
  const admin = await issue(ca, 'CN=ralph-test-admin, O=system:masters', 'client');
  const frontProxy = await issue(frontProxyCa, 'CN=front-proxy-client', 'client');
  const saKeys = await newKeys();
  const files = {
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    frontProxyCa: join(dir, 'front-proxy-ca.crt'),
    frontProxyCert: join(dir, 'front-proxy-client.crt'),
    frontProxyKey: join(dir, 'front-proxy-client.key'),
  };
  const secret = { mode: 0o600 };
  writeFileSync(files.ca, ca.pem);
  writeFileSync(files.caKey, ca.key, secret);
  writeFileSync(files.apiserverCert, server.pem);
  writeFileSync(files.apiserverKey, server.key, secret);
  writeFileSync(files.adminCert, admin.pem);
  writeFileSync(files.adminKey, admin.key, secret);
  writeFileSync(files.saKey, await privateKeyPem(saKeys.privateKey), secret);
  writeFileSync(files.saPub, await publicKeyPem(saKeys.publicKey));
  writeFileSync(files.frontProxyCa, frontProxyCa.pem);
  writeFileSync(files.frontProxyCert, frontProxy.pem);
  writeFileSync(files.frontProxyKey, frontProxy.key, secret);
  const nodeFiles = {
    kubeletCert: join(dir, 'kubelet.crt'),
    kubeletKey: join(dir, 'kubelet.key'),
    nodeClientCert: join(dir, 'node-client.crt'),
    nodeClientKey: join(dir, 'node-client.key'),
    apiserverKubeletClientCert: join(dir, 'apiserver-kubelet-client.crt'),
    apiserverKubeletClientKey: join(dir, 'apiserver-kubelet-client.key'),
  };
  if (o.realNode) {
    const kubelet = await issue(ca, `CN=${REAL_NODE_NAME}`, 'server', [
      { type: 'ip', value: '127.0.0.1' },
      { type: 'dns', value: 'localhost' },
    ]);
    const nodeClient = await issue(ca, `CN=system:node:${REAL_NODE_NAME}, O=system:nodes`, 'client');
    const kubeletClient = await issue(ca, 'CN=kube-apiserver-kubelet-client, O=system:masters', 'client');
    writeFileSync(nodeFiles.kubeletCert, kubelet.pem);
    writeFileSync(nodeFiles.kubeletKey, kubelet.key, secret);
    writeFileSync(nodeFiles.nodeClientCert, nodeClient.pem);
    writeFileSync(nodeFiles.nodeClientKey, nodeClient.key, secret);
    writeFileSync(nodeFiles.apiserverKubeletClientCert, kubeletClient.pem);
    writeFileSync(nodeFiles.apiserverKubeletClientKey, kubeletClient.key, secret);
  }
  return { ...files, ...nodeFiles };
}

/**
 * @param {{ server: string, ca: string, cert: string, key: string }} o file paths; the data is embedded
 */
function kubeconfigYaml(o) {
  const b64 = (/** @type {string} */ file) => readFileSync(file).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: ralph-test',
    '  cluster:',
    `    server: ${o.server}`,
    `    certificate-authority-data: ${b64(o.ca)}`,
    'users:',
    '- name: ralph-test-admin',
    '  user:',
    `    client-certificate-data: ${b64(o.cert)}`,
    `    client-key-data: ${b64(o.key)}`,
    'contexts:',
    '- name: ralph-test',
    '  context:',
    '    cluster: ralph-test',
    '    user: ralph-test-admin',
    'current-context: ralph-test',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// kwok stages

/**
 * The conditions a healthy kubelet reports (types and wording as the kubelet's), as stage template text.
 * @param {boolean} transition whether to set lastTransitionTime (a heartbeat keeps the existing one)
 */
function nodeConditions(transition) {
  const conditions = [
    ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
    ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
    ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
    ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ];
  const lines = ['', '        {{ $now := Now }}', '        conditions:'];
  for (const [type, status, reason, message] of conditions) {
    lines.push(
      `        - type: ${type}`,
      `          status: "${status}"`,
      `          reason: ${reason}`,
      `          message: ${message}`,
      '          lastHeartbeatTime: {{ $now | Quote }}',
    );
    if (transition) lines.push('          lastTransitionTime: {{ $now | Quote }}');
  }
  return lines.join('\n');
}

/** Every stage keys on a state the previous one leaves behind, so at most one matches an object at a time. */
const NOT_DELETED = `
    - jq: { key: '.metadata.deletionTimestamp', operator: DoesNotExist }`;

/**
 * A stage ending a running pod on a fake node with `outcome`.
 * @param {string} outcome
 * @param {{ phase: string, exitCode: number, reason: string, podReason?: string, message?: string }} end
 */
function outcomeStage(outcome, end) {
  const condition = end.phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
  const indent = (/** @type {string[]} */ lines) => lines.map((l) => `        ${l}`).join('\n');
  // An evicted pod carries the DisruptionTarget condition the kubelet adds.
  const disruption = end.message
    ? indent([
        '- type: DisruptionTarget',
        '  status: "True"',
        '  reason: TerminationByKubelet',
        `  message: ${JSON.stringify(end.message)}`,
        '  lastTransitionTime: {{ $now | Quote }}',
      ])
    : '';
  const podStatus = indent([
    `phase: ${end.phase}`,
    ...(end.podReason ? [`reason: ${end.podReason}`] : []),
    ...(end.message ? [`message: ${JSON.stringify(end.message)}`] : []),
  ]);
  return `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ralph-pod-${outcome}
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:${NOT_DELETED}
    - jq: { key: '.status.phase', operator: In, values: [Running] }
    - jq: { key: '.metadata.annotations["${OUTCOME_ANNOTATION}"]', operator: In, values: [${outcome}] }
  delay:
    durationMilliseconds: 1000
    durationFrom:
      jq: { expression: '.metadata.annotations["${OUTCOME_DELAY_ANNOTATION}"]' }
  steps:
  - patch:
      subresource: status
      root: status
      template: |
        {{ $now := Now }}
        {{ $started := or .status.startTime $now }}
        conditions:
        - type: Ready
          status: "False"
          reason: ${condition}
          lastTransitionTime: {{ $now | Quote }}
        - type: ContainersReady
          status: "False"
          reason: ${condition}
          lastTransitionTime: {{ $now | Quote }}
${disruption}
        containerStatuses:
        {{ range .spec.containers }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          imageID: {{ .image | Quote }}
          ready: false
          started: false
          restartCount: 0
          state:
            terminated:
              exitCode: ${end.exitCode}
              reason: ${end.reason}
              startedAt: {{ $started | Quote }}
              finishedAt: {{ $now | Quote }}
              {{ with index ( or $.metadata.annotations dict ) "${MESSAGE_ANNOTATION}" }}
              message: {{ . | Quote }}
              {{ end }}
        {{ end }}
${podStatus}
`;
}

export const KWOK_STAGES = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ralph-node-initialize
spec:
  resourceRef: { apiGroup: v1, kind: Node }
  selector:
    matchExpressions:
    - jq: { key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: NotIn, values: ['True'] }
  steps:
  - patch:
      subresource: status
      root: status
      template: |${nodeConditions(true)}
        addresses:
        - type: InternalIP
          address: {{ NodeIP | Quote }}
        - type: Hostname
          address: {{ .metadata.name | Quote }}
        nodeInfo:
          architecture: amd64
          operatingSystem: linux
          kernelVersion: kwok
          osImage: kwok
          containerRuntimeVersion: {{ printf "kwok://%s" Version | Quote }}
          kubeletVersion: ${K8S_VERSION}
          kubeProxyVersion: ${K8S_VERSION}
          machineID: ""
          systemUUID: ""
          bootID: ""
        phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ralph-node-heartbeat
spec:
  resourceRef: { apiGroup: v1, kind: Node }
  selector:
    matchExpressions:
    - jq: { key: '.status.phase', operator: In, values: [Running] }
    - jq: { key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: In, values: ['True'] }
  delay:
    durationMilliseconds: 15000
    jitterDurationMilliseconds: 25000
  steps:
  - patch:
      subresource: status
      root: status
      template: |${nodeConditions(false)}
  immediateNextStage: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ralph-pod-ready
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:${NOT_DELETED}
    - jq: { key: '.status.phase', operator: In, values: [Pending] }
    - jq: { key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: NotIn, values: ['True'] }
  steps:
  - patch:
      subresource: status
      root: status
      template: |
        {{ $now := Now }}
        conditions:
        - type: PodReadyToStartContainers
          status: "True"
          lastTransitionTime: {{ $now | Quote }}
        - type: Initialized
          status: "True"
          lastTransitionTime: {{ $now | Quote }}
        - type: Ready
          status: "True"
          lastTransitionTime: {{ $now | Quote }}
        - type: ContainersReady
          status: "True"
          lastTransitionTime: {{ $now | Quote }}
        {{ range .spec.readinessGates }}
        - type: {{ .conditionType | Quote }}
          status: "True"
          lastTransitionTime: {{ $now | Quote }}
        {{ end }}
        initContainerStatuses:
        {{ range .spec.initContainers }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          imageID: {{ .image | Quote }}
          restartCount: 0
          {{ if eq .restartPolicy "Always" }}
          ready: true
          started: true
          state:
            running:
              startedAt: {{ $now | Quote }}
          {{ else }}
          ready: true
          started: false
          state:
            terminated:
              exitCode: 0
              reason: Completed
              startedAt: {{ $now | Quote }}
              finishedAt: {{ $now | Quote }}
          {{ end }}
        {{ end }}
        containerStatuses:
        {{ range .spec.containers }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          imageID: {{ .image | Quote }}
          ready: true
          started: true
          restartCount: 0
          state:
            running:
              startedAt: {{ $now | Quote }}
        {{ end }}
        {{ with NodeIPsWith .spec.nodeName }}
        hostIP: {{ index . 0 | Quote }}
        hostIPs:
        {{ range . }}
        - ip: {{ . | Quote }}
        {{ end }}
        {{ end }}
        {{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
        podIP: {{ index . 0 | Quote }}
        podIPs:
        {{ range . }}
        - ip: {{ . | Quote }}
        {{ end }}
        {{ end }}
        phase: Running
        startTime: {{ $now | Quote }}
---${outcomeStage('succeed', { phase: 'Succeeded', exitCode: 0, reason: 'Completed' })}
---${outcomeStage('oom', { phase: 'Failed', exitCode: 137, reason: 'OOMKilled' })}
---${outcomeStage('evict', {
  phase: 'Failed',
  exitCode: 137,
  reason: 'Error',
  podReason: 'Evicted',
  message: EVICTION_MESSAGE,
})}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ralph-pod-delete
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
    - jq: { key: '.metadata.deletionTimestamp', operator: Exists }
  steps:
  - delete: true
`;

// ---------------------------------------------------------------------------------------------------------
// Processes

export { freePort };

/** @param {number} count */
async function freePorts(count) {
  const ports = new Set();
  for (let attempt = 0; attempt < 50 && ports.size < count; attempt += 1) ports.add(await freePort());
  if (ports.size < count)
    throw new ClusterError('K8S_NO_PORTS', `could not find ${count} free loopback ports`);
  return /** @type {number[]} */ ([...ports]);
}

// Each component runs under a small shell that ends it once the owning Node.js process is gone, so a
// crashed test run leaves nothing behind; the shell exits with the component's status. It is the leader of the
// component's process group. With $RALPH_K8S_ORPHAN_RM set it also deletes that directory once the owner is gone.
// With $RALPH_K8S_SWEEP_NS naming the real node's pid file (written in the new mount namespace by the child
// itself, before it becomes containerd), once the owner is gone it also kills every process of that mount
// namespace (the shims; never its own namespace) and their children (the containers), and removes the cgroups of
// the containers listed in $RALPH_K8S_SWEEP_CGROUPS (runc's state folder, read every second too: the orphaned
// etcd guard may have removed it by then).
const GUARD = [
  'ns= ids=',
  '"$0" "$@" & child=$!',
  'trap \'kill -TERM "$child" 2>/dev/null; wait "$child"; exit\' TERM INT HUP',
  'while kill -0 "$RALPH_K8S_OWNER" 2>/dev/null && kill -0 "$child" 2>/dev/null; do',
  '  if [ -n "$RALPH_K8S_SWEEP_NS" ] && [ -z "$ns" ] && [ "$(cat "$RALPH_K8S_SWEEP_NS" 2>/dev/null)" = "$child" ]; then',
  '    ns=$(readlink "/proc/$child/ns/mnt" 2>/dev/null)',
  '    [ "$ns" != "$(readlink /proc/$$/ns/mnt)" ] || ns=',
  '  fi',
  '  [ -z "$RALPH_K8S_SWEEP_CGROUPS" ] || ids=$(ls "$RALPH_K8S_SWEEP_CGROUPS" 2>/dev/null)',
  '  sleep 1 & wait $!',
  'done',
  'if kill -0 "$child" 2>/dev/null; then',
  '  kill -TERM "$child"; n=0',
  '  while kill -0 "$child" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done',
  '  kill -KILL "$child" 2>/dev/null',
  'fi',
  'wait "$child"; status=$?',
  'if [ -n "$ns" ] && ! kill -0 "$RALPH_K8S_OWNER" 2>/dev/null; then',
  '  for round in 1 2 3 4 5; do',
  '    for p in /proc/[0-9]*; do',
  '      [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] || continue',
  '      pkill -KILL -P "${p#/proc/}"; kill -KILL "${p#/proc/}"',
  '    done 2>/dev/null',
  '    sleep 1',
  '  done',
  '  for id in $ids $(ls "$RALPH_K8S_SWEEP_CGROUPS" 2>/dev/null); do',
  '    rmdir /sys/fs/cgroup/*/k8s.io/"$id" /sys/fs/cgroup/k8s.io/"$id"',
  '  done 2>/dev/null',
  '  rmdir /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/k8s.io 2>/dev/null',
  'fi',
  'if [ -n "$RALPH_K8S_ORPHAN_RM" ] && ! kill -0 "$RALPH_K8S_OWNER" 2>/dev/null; then rm -rf -- "$RALPH_K8S_ORPHAN_RM"; fi',
  'exit "$status"',
].join('\n');

/** @param {number} pgid @param {NodeJS.Signals} signal */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ESRCH') throw err;
  }
}

/** @param {number} pgid */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The last `lines` lines of a log file, for error messages.
 * @param {string} file
 */
export function logTail(file, lines = 30) {
  if (!existsSync(file)) return `(no log at ${file})`;
  const text = readFileSync(file, 'utf8').trimEnd();
  return text ? text.split('\n').slice(-lines).join('\n') : '(empty)';
}

/** Process groups of running clusters, killed when this process exits without stopping them. */
const liveGroups = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

/**
 * Starts `bin args` in its own process group under the guard, logging to `<logs>/<name>.log`.
 * @param {import('./k8s-testcluster-lib.d.mts').ComponentName} name
 * @param {string} bin
 * @param {string[]} args
 * @param {{ logs: string, cwd: string, env?: Record<string, string> }} o
 * @returns {import('./k8s-testcluster-lib.d.mts').ClusterProcess}
 */
function startProcess(name, bin, args, o) {
  const logFile = join(o.logs, `${name}.log`);
  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn('/bin/sh', ['-c', GUARD, bin, ...args], {
      cwd: o.cwd,
      env: { ...process.env, ...o.env, RALPH_K8S_OWNER: String(process.pid) },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pgid = child.pid;
  if (pgid === undefined) throw new ClusterError('K8S_SPAWN_FAILED', `could not start ${name} (${bin})`);
  child.unref();
  liveGroups.add(pgid);
  installExitHook();
  /** @type {number | null} */
  let exitCode = null;
  let exited = false;
  child.once('exit', (code, signal) => {
    exited = true;
    exitCode = code ?? (signal ? 128 : 1);
  });
  return {
    name,
    pid: pgid,
    logFile,
    logTail: (lines) => logTail(logFile, lines),
    exited: () => (exited ? { code: exitCode } : null),
    stop: async (graceMs = 10_000) => {
      signalGroup(pgid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
      signalGroup(pgid, 'SIGKILL');
      for (let i = 0; i < 50 && groupAlive(pgid); i += 1) await sleep(100);
      liveGroups.delete(pgid);
    },
  };
}

/**
 * Polls `probe` until it returns a truthy value, at most `timeoutMs`; fails at once when one of `watch` exits.
 * @template T
 * @param {() => Promise<T | null | undefined | false>} probe
 * @param {{ timeoutMs: number, what: string, intervalMs?: number,
 *   watch?: import('./k8s-testcluster-lib.d.mts').ClusterProcess[] }} options
 * @returns {Promise<T>}
 */
export async function waitFor(probe, options) {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  for (;;) {
    for (const proc of options.watch ?? []) {
      const exit = proc.exited();
      if (exit) {
        throw new ClusterError(
          'K8S_PROCESS_EXITED',
          `${proc.name} exited (code ${exit.code}) while waiting for ${options.what}; last lines of ${proc.logFile}:\n${proc.logTail()}`,
        );
      }
    }
    try {
      const value = await probe();
      if (value) return value;
      lastError = '';
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 250);
  }
  const last = lastError ? ` (last error: ${lastError.split('\n')[0]})` : '';
  const tails = (options.watch ?? [])
    .map((p) => `\n--- last lines of ${p.logFile}:\n${p.logTail()}`)
    .join('');
  throw new ClusterError(
    'K8S_TIMEOUT',
    `timed out after ${options.timeoutMs} ms waiting for ${options.what}${last}${tails}`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

/**
 * One HTTP(S) request; resolves to the status and the body (parsed when JSON).
 * @param {string} url
 * @param {{ method?: string, body?: unknown, contentType?: string, tls?: https.AgentOptions,
 *   timeoutMs?: number }} [o]
 * @returns {Promise<{ status: number, body: any }>}
 */
function httpRequest(url, o = {}) {
  return new Promise((resolveRequest, reject) => {
    const data =
      o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const target = new URL(url);
    const lib = target.protocol === 'https:' ? https : http;
    const req = lib.request(
      target,
      {
        method: o.method ?? 'GET',
        headers: {
          accept: 'application/json',
          ...(data !== undefined
            ? {
                'content-type': o.contentType ?? 'application/json',
                'content-length': Buffer.byteLength(data),
              }
            : {}),
        },
        timeout: o.timeoutMs ?? 15_000,
        ...(target.protocol === 'https:' ? o.tls : {}),
      },
      (res) => {
        const chunks = /** @type {Buffer[]} */ ([]);
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body = text;
          if ((res.headers['content-type'] ?? '').includes('json')) {
            try {
              body = JSON.parse(text);
            } catch {
              // keep the text
            }
          }
          resolveRequest({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${o.method ?? 'GET'} ${url} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

// ---------------------------------------------------------------------------------------------------------
// OCI image archives

/** @param {Buffer} buf @param {number} offset @param {number} length @param {number} value */
function tarOctal(buf, offset, length, value) {
  buf.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

/**
 * One ustar entry: the header and the data padded to 512 bytes.
 * @param {{ path: string, type: 'file' | 'dir' | 'symlink', mode: number, uid: number, gid: number,
 *   data?: Buffer, target?: string }} e
 */
function tarEntry(e) {
  const header = Buffer.alloc(512);
  const full = e.type === 'dir' ? `${e.path.replace(/\/$/, '')}/` : e.path;
  let name = full;
  let prefix = '';
  if (Buffer.byteLength(full) > 100) {
    const cut = full.indexOf('/', Buffer.byteLength(full) - 101);
    if (cut <= 0 || cut > 155)
      throw new ClusterError('K8S_IMAGE_PATH', `path too long for a tar entry: ${full}`);
    prefix = full.slice(0, cut);
    name = full.slice(cut + 1);
  }
  const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  header.write(name, 0, 100, 'utf8');
  tarOctal(header, 100, 8, e.mode);
  tarOctal(header, 108, 8, e.uid);
  tarOctal(header, 116, 8, e.gid);
  tarOctal(header, 124, 12, data.length);
  tarOctal(header, 136, 12, 0);
  header.fill(' ', 148, 156);
  header.write(e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0', 156, 1, 'ascii');
  if (e.target) header.write(e.target, 157, 100, 'utf8');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad]);
}

/**
 * A tar archive of `entries`, parents created as folders (0755) where missing.
 * @param {import('./k8s-testcluster-lib.d.mts').ImageFile[]} entries
 */
function tarArchive(entries) {
  /** @type {Buffer[]} */
  const parts = [];
  const seen = new Set();
  /** @param {string} path */
  const addParents = (path) => {
    const segments = path.split('/').slice(0, -1);
    for (let i = 1; i <= segments.length; i += 1) {
      const dir = segments.slice(0, i).join('/');
      if (seen.has(dir)) continue;
      seen.add(dir);
      parts.push(tarEntry({ path: dir, type: 'dir', mode: 0o755, uid: 0, gid: 0 }));
    }
  };
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '').replace(/\/+$/, '');
    if (!path || path.split('/').includes('..')) {
      throw new ClusterError('K8S_IMAGE_PATH', `not a relative path inside the image: ${e.path}`);
    }
    addParents(path);
    const owner = { uid: e.uid ?? 0, gid: e.gid ?? 0 };
    if (e.symlink !== undefined) {
      parts.push(tarEntry({ path, type: 'symlink', mode: 0o777, target: e.symlink, ...owner }));
    } else if (e.dir) {
      if (seen.has(path)) continue;
      seen.add(path);
      parts.push(tarEntry({ path, type: 'dir', mode: e.mode ?? 0o755, ...owner }));
    } else {
      const data = e.source !== undefined ? readFileSync(e.source) : Buffer.from(e.data ?? '');
      parts.push(tarEntry({ path, type: 'file', mode: e.mode ?? 0o644, data, ...owner }));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** @param {Buffer} data */
function sha256Digest(data) {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The OCI name of this machine's architecture. */
function ociArchitecture() {
  /** @type {Record<string, string>} */
  const names = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return names[process.arch] ?? process.arch;
}

/**
 * Writes a one-layer image for this machine's architecture as an OCI image layout in a tar file, as
 * `ctr images import` (and so TestCluster.importImage) loads it; the image is named by the annotation
 * io.containerd.image.name. The layer is uncompressed and reproducible (time 0, owners from the entries).
 * @param {string} file
 * @param {import('./k8s-testcluster-lib.d.mts').OciImageOptions} o
 */
export function writeOciImage(file, o) {
  if (!/^[a-z0-9][a-z0-9._\-/:]*:[\w][\w.-]{0,127}$/.test(o.name) || o.name.endsWith(':latest')) {
    throw new ClusterError(
      'K8S_IMAGE_NAME',
      `not an image name with a tag other than latest (lower case NAME:TAG): ${o.name}`,
    );
  }
  const layer = tarArchive(o.files);
  const architecture = ociArchitecture();
  const layerDigest = sha256Digest(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: {
        ...(o.entrypoint ? { Entrypoint: o.entrypoint } : {}),
        ...(o.cmd ? { Cmd: o.cmd } : {}),
        Env: o.env ?? ['PATH=/usr/local/bin:/usr/bin:/bin'],
        ...(o.user ? { User: o.user } : {}),
        ...(o.workingDir ? { WorkingDir: o.workingDir } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256Digest(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length },
      ],
    }),
  );
  const digest = sha256Digest(manifest);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest,
          size: manifest.length,
          platform: { architecture, os: 'linux' },
          annotations: {
            'io.containerd.image.name': o.name,
            'org.opencontainers.image.ref.name': o.name.slice(o.name.lastIndexOf(':') + 1),
          },
        },
      ],
    }),
  );
  const blob = (/** @type {Buffer} */ data) => ({
    path: `blobs/sha256/${sha256Digest(data).slice(7)}`,
    data,
  });
  const archive = tarArchive([
    { path: 'oci-layout', data: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { path: 'index.json', data: index },
    blob(config),
    blob(manifest),
    blob(layer),
  ]);
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(`${file}.partial`, archive);
  renameSync(`${file}.partial`, file);
  return { name: o.name, digest };
}

/**
 * The contents of the first entry named `wanted` (at the top) of a tar file, without reading the rest.
 * @param {string} file
 * @param {string} wanted
 */
function readTarEntry(file, wanted) {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(512);
    let offset = 0;
    let longName = '';
    for (;;) {
      if (readSync(fd, header, 0, 512, offset) < 512 || header.every((b) => b === 0)) return null;
      const field = (/** @type {number} */ at, /** @type {number} */ len) =>
        header.toString('utf8', at, at + len).replace(/\0.*$/s, '');
      const size = parseInt(field(124, 12).trim() || '0', 8);
      const type = field(156, 1);
      const prefix = field(257, 5) === 'ustar' ? field(345, 155) : '';
      const name = (longName || (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100))).replace(/^\.\//, '');
      longName = '';
      const dataAt = offset + 512;
      const readData = () => {
        const data = Buffer.alloc(size);
        readSync(fd, data, 0, size, dataAt);
        return data;
      };
      if (type === 'L') longName = readData().toString('utf8').replace(/\0.*$/s, '');
      else if (name === wanted && (type === '0' || type === '' || type === '\0')) return readData();
      offset = dataAt + Math.ceil(size / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The image names an archive for `ctr images import` carries: io.containerd.image.name of an OCI layout's
 * index.json, or the RepoTags of a `docker save` manifest.json.
 * @param {string} file
 */
export function imageNamesInArchive(file) {
  const index = readTarEntry(file, 'index.json');
  if (index) {
    /** @type {{ manifests?: Array<{ annotations?: Record<string, string> }> }} */
    const parsed = JSON.parse(index.toString('utf8'));
    return (parsed.manifests ?? [])
      .map((m) => m.annotations?.['io.containerd.image.name'] ?? '')
      .filter(Boolean);
  }
  const manifest = readTarEntry(file, 'manifest.json');
  if (manifest) {
    /** @type {Array<{ RepoTags?: string[] }>} */
    const parsed = JSON.parse(manifest.toString('utf8'));
    return parsed.flatMap((m) => m.RepoTags ?? []);
  }
  return [];
}

// ---------------------------------------------------------------------------------------------------------
// The real node: containerd and a kubelet

/** Label carried by the real node (value `true`). */
export const REAL_NODE_LABEL = 'ralph.test/real';
/**
 * The real node's name. The kubelet refuses a loopback --node-ip, but takes an IP given as its host name for the
 * node's InternalIP and Hostname addresses: so the API server reaches the kubelet on 127.0.0.1.
 */
export const REAL_NODE_NAME = '127.0.0.1';
/** The taint the real node carries unless RealNodeOptions.taint is false: NoSchedule, key ralph.test/real. */
export const REAL_NODE_TAINT = Object.freeze({ key: REAL_NODE_LABEL, value: 'true', effect: 'NoSchedule' });
/** The sandbox ("pause") image every pod on the real node starts with, imported from the cache folder. */
export const PAUSE_IMAGE = 'localhost/ralph/pause:1.0';
export const NODE_INSTALL_HINT = 'bash scripts/install-k8s-node.sh';

const CRI_NAMESPACE = 'k8s.io';
/** The kernel settings the kubelet wants (it changes the host's when they differ). */
const KUBELET_SYSCTLS = {
  'vm.overcommit_memory': 1,
  'vm.panic_on_oom': 0,
  'kernel.panic': 10,
  'kernel.panic_on_oops': 1,
  'kernel.keys.root_maxkeys': 1000000,
  'kernel.keys.root_maxbytes': 25000000,
};
// Non-hostNetwork pods reach CNI: the node has no pod network, so ADD fails with this message; DEL and CHECK
// succeed so that such a pod can still be torn down.
const NO_POD_NETWORK_MESSAGE = 'the ralph test node has no pod network: pods on it need hostNetwork: true';
const CNI_REFUSER = `#!/bin/sh
case "$CNI_COMMAND" in
  ADD) printf '{"cniVersion":"0.4.0","code":100,"msg":"%s"}\\n' '${NO_POD_NETWORK_MESSAGE}'; exit 1 ;;
  VERSION) printf '{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}\\n' ;;
esac
exit 0
`;

/**
 * @param {string} name
 * @param {NodeJS.ProcessEnv} env
 */
function onPath(name, env) {
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) if (isExecutable(join(dir, name))) return join(dir, name);
  return null;
}

/**
 * Writes the archive of the sandbox image PAUSE_IMAGE: the static program `binary` as /pause, run as 65535.
 * @param {string} binary
 * @param {string} out
 */
export function writePauseImage(binary, out) {
  return writeOciImage(out, {
    name: PAUSE_IMAGE,
    files: [{ path: 'pause', source: binary, mode: 0o755 }],
    entrypoint: ['/pause'],
    env: [],
    user: '65535:65535',
  });
}

/**
 * What the real node needs: root, the kubelet and the pause image archive in the binaries folder, containerd,
 * ctr, containerd-shim-runc-v2 and runc (Debian packages containerd and runc), unshare and nsenter.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {import('./k8s-testcluster-lib.d.mts').NodeToolsCheck}
 */
export function findNodeTools(env = process.env) {
  const dir = defaultBinDir(env);
  /** @type {string[]} */
  const missing = [];
  /** @param {string} name @param {string | null} path */
  const need = (name, path) => {
    if (!path) missing.push(name);
    return path ?? '';
  };
  const inBin = (/** @type {string} */ name) => (isExecutable(join(dir, name)) ? join(dir, name) : null);
  const pauseImage = join(dir, 'pause.oci.tar');
  const tools = {
    kubelet: need(`kubelet (in ${dir})`, inBin('kubelet')),
    pauseImage: need(`pause.oci.tar (in ${dir})`, existsSync(pauseImage) ? pauseImage : null),
    containerd: need('containerd', onPath('containerd', env)),
    ctr: need('ctr', onPath('ctr', env)),
    shim: need('containerd-shim-runc-v2', onPath('containerd-shim-runc-v2', env)),
    runc: need('runc', onPath('runc', env)),
    unshare: need('unshare', onPath('unshare', env)),
    nsenter: need('nsenter', onPath('nsenter', env)),
  };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const problems = [
    ...(root ? [] : ['it must run as root (containerd, mounts)']),
    ...(missing.length ? [`missing: ${missing.join(', ')}`] : []),
  ];
  if (problems.length === 0) return { tools, missing, reason: `kubelet, containerd and runc found` };
  return {
    tools: null,
    missing,
    reason: `the real test node cannot run: ${problems.join('; ')}; install with \`${NODE_INSTALL_HINT}\` (as root)`,
  };
}

/**
 * @param {string} file
 * @param {string[]} args
 * @param {{ timeoutMs: number, env?: NodeJS.ProcessEnv }} o
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function run(file, args, o) {
  return new Promise((resolveRun) => {
    const child = spawn(file, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    /** @type {Buffer[]} */
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    const timer = setTimeout(() => {
      chunks.push(Buffer.from(`\n(killed after ${o.timeoutMs} ms)`));
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.once('error', (err) => {
      chunks.push(Buffer.from(String(err)));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output: Buffer.concat(chunks).toString('utf8').trim() });
    });
  });
}

/** Processes of this machine: pid, parent pid, mount namespace (empty for zombies and kernel threads). */
function processTable() {
  /** @type {Array<{ pid: number, ppid: number, mnt: string }>} */
  const rows = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      let mnt = '';
      try {
        mnt = readlinkSync(`/proc/${name}/ns/mnt`);
      } catch {
        // a zombie or a process that just ended
      }
      rows.push({ pid: Number(name), ppid, mnt });
    } catch {
      // ended while listing
    }
  }
  return rows;
}

/**
 * The processes in mount namespace `mnt` and all their descendants (containers run in namespaces of their own,
 * as children of the shims).
 * @param {string} mnt
 */
function namespaceProcesses(mnt) {
  const table = processTable();
  const found = new Set(table.filter((p) => p.mnt === mnt).map((p) => p.pid));
  for (let grown = true; grown;) {
    grown = false;
    for (const p of table) {
      if (!found.has(p.pid) && found.has(p.ppid) && p.mnt) {
        found.add(p.pid);
        grown = true;
      }
    }
  }
  return [...found];
}

/**
 * Kills every process of the node's mount namespace and their descendants, then waits until none is left (the
 * namespace, and every mount made in it, ends with its last process).
 * @param {string} mnt
 * @param {number} timeoutMs
 */
async function sweepNamespace(mnt, timeoutMs) {
  if (mnt === readlinkSync('/proc/self/ns/mnt')) {
    throw new ClusterError('K8S_NODE_STOP', `refusing to sweep this process's own mount namespace ${mnt}`);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = namespaceProcesses(mnt);
    if (pids.length === 0) return [];
    if (Date.now() >= deadline) return pids;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
}

/** Mount points under `dir` in this process's mount namespace, deepest first. @param {string} dir */
function mountsUnder(dir) {
  const unescape = (/** @type {string} */ s) =>
    s.replace(/\\([0-7]{3})/g, (_, oct) => String.fromCharCode(parseInt(oct, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => unescape(line.split(' ')[4] ?? ''))
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Starts containerd and the kubelet of the real node in `<dir>/node`, both in one private mount namespace: the
 * mounts they make (overlay snapshots, pod volumes, the kubelet's shared root folder) stay out of the host's
 * mount table and end with the namespace; /run/containerd and /var/log/containers are private tmpfs folders
 * there; and the kernel settings the kubelet would change host-wide read, there, as it wants them.
 * @param {{ dir: string, logsDir: string, tools: import('./k8s-testcluster-lib.d.mts').NodeTools,
 *   pki: Awaited<ReturnType<typeof writePki>>, server: string, options: import('./k8s-testcluster-lib.d.mts').RealNodeOptions,
 *   api: import('./k8s-testcluster-lib.d.mts').TestCluster['api'], apiserver: import('./k8s-testcluster-lib.d.mts').ClusterProcess,
 *   timeoutMs: number }} ctx
 * @returns {Promise<{ node: import('./k8s-testcluster-lib.d.mts').RealNode, processes: import('./k8s-testcluster-lib.d.mts').ClusterProcess[], stop: () => Promise<void> }>}
 */
async function startRealNode(ctx) {
  const { tools, pki } = ctx;
  const started = Date.now();
  const deadline = started + ctx.timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  const base = join(ctx.dir, 'node');
  const paths = {
    containerdRoot: join(base, 'containerd', 'root'),
    containerdState: join(base, 'containerd', 'state'),
    socket: join(base, 'containerd', 'containerd.sock'),
    runcRoot: join(base, 'runc'),
    cniBin: join(base, 'cni', 'bin'),
    cniConf: join(base, 'cni', 'net.d'),
    kubeletRoot: join(base, 'kubelet'),
    podLogs: join(base, 'pod-logs'),
    volumePlugins: join(base, 'volume-plugins'),
    sysctls: join(base, 'sysctls'),
    pidFile: join(base, 'namespace.pid'),
    containerdConfig: join(base, 'containerd.toml'),
    kubeletConfig: join(base, 'kubelet.json'),
    kubeletKubeconfig: join(base, 'kubelet.kubeconfig'),
  };
  const folders = [paths.containerdRoot, paths.containerdState, paths.runcRoot, paths.cniBin, paths.cniConf];
  folders.push(paths.kubeletRoot, paths.podLogs, paths.volumePlugins, paths.sysctls);
  for (const folder of folders) mkdirSync(folder, { recursive: true });
  // The socket path must fit in sockaddr_un (108 bytes) with containerd's ".ttrpc" suffix.
  if (Buffer.byteLength(paths.socket) > 100) {
    throw new ClusterError(
      'K8S_NODE_PATH',
      `the cluster folder is too deep for containerd's socket: ${paths.socket}`,
    );
  }

  const snapshotter =
    ctx.options.snapshotter ?? (await overlayWorks(join(base, 'overlay-check'), tools.unshare));
  const [kubeletPort, healthzPort] = await freePorts(2);
  const env = {
    PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  };

  writeFileSync(paths.containerdConfig, containerdConfig({ ...paths, runc: tools.runc, snapshotter }));
  writeFileSync(join(paths.cniBin, 'ralph-no-pod-network'), CNI_REFUSER, { mode: 0o755 });
  writeFileSync(join(paths.cniBin, 'loopback'), CNI_REFUSER, { mode: 0o755 });
  writeFileSync(
    join(paths.cniConf, '10-ralph-no-pod-network.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: 'ralph-no-pod-network',
      plugins: [{ type: 'ralph-no-pod-network' }],
    }),
  );
  for (const [name, want] of Object.entries(KUBELET_SYSCTLS)) {
    const current = readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim();
    if (current !== String(want)) writeFileSync(join(paths.sysctls, name), `${want}\n`);
  }
  // Runs in the new mount namespace, then becomes containerd.
  const enter = [
    'set -e',
    'mkdir -p /run/containerd /var/log/containers',
    'mount -t tmpfs -o mode=0711,size=64m ralph-node-run /run/containerd',
    'mount -t tmpfs -o mode=0755,size=16m ralph-node-logs /var/log/containers',
    'for f in "$RALPH_NODE_SYSCTLS"/*; do',
    '  [ -e "$f" ] || continue',
    '  mount --bind "$f" "/proc/sys/$(basename "$f" | tr . /)"',
    'done',
    'echo "$$" >"$RALPH_NODE_PIDFILE"',
    'exec "$0" "$@"',
  ].join('\n');
  const common = { logs: ctx.logsDir, cwd: base };
  const containerd = startProcess(
    'containerd',
    tools.unshare,
    [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      enter,
      tools.containerd,
      `--config=${paths.containerdConfig}`,
    ],
    {
      ...common,
      env: {
        ...env,
        RALPH_NODE_SYSCTLS: paths.sysctls,
        RALPH_NODE_PIDFILE: paths.pidFile,
        RALPH_K8S_SWEEP_NS: paths.pidFile,
        RALPH_K8S_SWEEP_CGROUPS: join(paths.runcRoot, CRI_NAMESPACE),
      },
    },
  );
  /** @type {import('./k8s-testcluster-lib.d.mts').ClusterProcess[]} */
  const processes = [containerd];
  let mnt = '';
  /** @type {import('./k8s-testcluster-lib.d.mts').ClusterProcess | undefined} */
  let kubelet;

  const stop = async () => {
    if (kubelet) await kubelet.stop(10_000);
    await containerd.stop(10_000);
    const survivors = mnt ? await sweepNamespace(mnt, 15_000) : [];
    // runc removes a container's cgroups when it deletes the container; the sweep killed them instead.
    const ids = existsSync(join(paths.runcRoot, CRI_NAMESPACE))
      ? readdirSync(join(paths.runcRoot, CRI_NAMESPACE))
      : [];
    await removeCgroups(ids);
    for (const point of mountsUnder(ctx.dir))
      spawnSync('umount', ['-l', point], { stdio: 'ignore', timeout: 10_000 });
    if (survivors.length) {
      throw new ClusterError(
        'K8S_NODE_STOP',
        `processes of the real node survived SIGKILL: ${survivors.join(', ')}`,
      );
    }
  };

  try {
    const ctrArgs = ['--address', paths.socket, '--namespace', CRI_NAMESPACE];
    await waitFor(
      async () => {
        if (!mnt && existsSync(paths.pidFile)) {
          // The pid file's process is containerd (or the shell about to become it) in its own namespace.
          const pid = readFileSync(paths.pidFile, 'utf8').trim();
          const ours = pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(paths.containerdConfig);
          const ns = ours ? readlinkSync(`/proc/${pid}/ns/mnt`) : '';
          if (ns && ns !== readlinkSync('/proc/self/ns/mnt')) mnt = ns;
        }
        if (!mnt || !existsSync(paths.socket)) return false;
        const res = await run(tools.ctr, [...ctrArgs, 'version'], { timeoutMs: 5000, env });
        if (res.code !== 0) throw new Error(res.output);
        return true;
      },
      {
        timeoutMs: Math.min(left(), 30_000),
        what: `containerd to serve ${paths.socket}`,
        watch: [containerd],
      },
    );
    // containerd serves even when a plugin failed to load: the CRI one, and the snapshotter it uses, must have.
    const plugins = await run(tools.ctr, [...ctrArgs, 'plugins', 'ls'], { timeoutMs: 10_000, env });
    const pluginOk = (/** @type {string} */ type, /** @type {string} */ id) =>
      plugins.output.split('\n').some((line) => {
        const cols = line.trim().split(/\s+/);
        return cols[0] === type && cols[1] === id && cols[cols.length - 1] === 'ok';
      });
    const broken = [
      ['io.containerd.grpc.v1', 'cri'],
      ['io.containerd.snapshotter.v1', snapshotter],
    ].filter(([type, id]) => !pluginOk(/** @type {string} */ (type), /** @type {string} */ (id)));
    if (plugins.code !== 0 || broken.length > 0) {
      throw new ClusterError(
        'K8S_NODE_CONTAINERD',
        `containerd did not load ${broken.map(([t, id]) => `${t}.${id}`).join(' and ') || 'its plugins'} (ctr plugins ls: exit ${plugins.code}); last lines of ${containerd.logFile}:\n${containerd.logTail()}`,
      );
    }

    /** @param {string} file */
    const importImage = async (file) => {
      const names = imageNamesInArchive(file).map(normalizeImageName);
      if (names.length === 0) {
        throw new ClusterError(
          'K8S_IMAGE_IMPORT',
          `${file} names no image (no io.containerd.image.name annotation in index.json, no RepoTags in manifest.json)`,
        );
      }
      const importArgs = [...ctrArgs, 'images', 'import', `--snapshotter=${snapshotter}`, file];
      const res = await run(tools.ctr, importArgs, { timeoutMs: 300_000, env });
      const listed = await run(tools.ctr, [...ctrArgs, 'images', 'ls', '-q'], { timeoutMs: 30_000, env });
      const present = new Set(listed.output.split('\n').map((l) => l.trim()));
      const absent = names.filter((n) => !present.has(n));
      if (res.code !== 0 || absent.length > 0) {
        throw new ClusterError(
          'K8S_IMAGE_IMPORT',
          `ctr images import ${file} failed (exit ${res.code}${absent.length ? `, not in the store: ${absent.join(', ')}` : ''}):\n${res.output}\n--- last lines of ${containerd.logFile}:\n${containerd.logTail()}`,
        );
      }
      return /** @type {string} */ (names[0]);
    };
    await importImage(tools.pauseImage);

    writeFileSync(
      paths.kubeletKubeconfig,
      kubeconfigYaml({ server: ctx.server, ca: pki.ca, cert: pki.nodeClientCert, key: pki.nodeClientKey }),
      { mode: 0o600 },
    );
    writeFileSync(
      paths.kubeletConfig,
      JSON.stringify(
        kubeletConfiguration({ ...paths, pki, kubeletPort, healthzPort, taint: ctx.options.taint ?? true }),
        null,
        2,
      ),
    );
    kubelet = startProcess(
      'kubelet',
      tools.nsenter,
      [
        `--mount=/proc/${readFileSync(paths.pidFile, 'utf8').trim()}/ns/mnt`,
        '--',
        tools.kubelet,
        `--config=${paths.kubeletConfig}`,
        `--kubeconfig=${paths.kubeletKubeconfig}`,
        `--hostname-override=${REAL_NODE_NAME}`,
        `--node-labels=${REAL_NODE_LABEL}=true`,
        `--root-dir=${paths.kubeletRoot}`,
        '--v=1',
      ],
      { ...common, env },
    );
    processes.push(kubelet);
    const watch = [containerd, kubelet, ctx.apiserver];
    await waitFor(
      async () => {
        const res = await httpRequest(`http://127.0.0.1:${healthzPort}/healthz`, { timeoutMs: 2000 });
        return res.status === 200;
      },
      {
        timeoutMs: left(),
        what: `the kubelet to be healthy (http://127.0.0.1:${healthzPort}/healthz)`,
        watch,
      },
    );
    await waitFor(
      async () => {
        /** @type {any} */
        const node = await ctx.api('GET', `/api/v1/nodes/${REAL_NODE_NAME}`);
        const ready = (node.status?.conditions ?? []).some(
          (/** @type {any} */ c) => c.type === 'Ready' && c.status === 'True',
        );
        const tainted = (node.spec?.taints ?? []).some((/** @type {any} */ t) =>
          String(t.key).startsWith('node.kubernetes.io/'),
        );
        return ready && !tainted;
      },
      {
        timeoutMs: left(),
        what: `the real node ${REAL_NODE_NAME} to be Ready and without node.kubernetes.io taints`,
        watch,
      },
    );
    return {
      processes,
      stop,
      node: {
        name: REAL_NODE_NAME,
        label: REAL_NODE_LABEL,
        taint: ctx.options.taint === false ? null : { ...REAL_NODE_TAINT },
        containerdSocket: paths.socket,
        snapshotter,
        kubeletPort,
        dir: base,
        readyMs: Date.now() - started,
        importImage,
      },
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/**
 * Whether an overlay mount works on the file system of `scratch` (tried in a throwaway mount namespace):
 * containerd's overlayfs snapshotter if so, else its native one (full copies).
 * @param {string} scratch
 * @param {string} unshare
 * @returns {Promise<'overlayfs' | 'native'>}
 */
async function overlayWorks(scratch, unshare) {
  const sub = (/** @type {string} */ name) => join(scratch, name);
  for (const name of ['lower', 'upper', 'work', 'merged']) mkdirSync(sub(name), { recursive: true });
  const options = `lowerdir=${sub('lower')},upperdir=${sub('upper')},workdir=${sub('work')}`;
  const res = await run(
    unshare,
    [
      '--mount',
      '--propagation',
      'private',
      'mount',
      '-t',
      'overlay',
      '-o',
      options,
      'ralph-overlay-check',
      sub('merged'),
    ],
    { timeoutMs: 10_000 },
  );
  rmSync(scratch, { recursive: true, force: true });
  return res.code === 0 ? 'overlayfs' : 'native';
}

/**
 * @param {{ containerdRoot: string, containerdState: string, socket: string, runcRoot: string, runc: string,
 *   cniBin: string, cniConf: string, snapshotter: string }} p
 */
function containerdConfig(p) {
  const q = JSON.stringify;
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${q(p.containerdRoot)}
state = ${q(p.containerdState)}
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = ${q(p.socket)}

[ttrpc]
  address = ${q(`${p.socket}.ttrpc`)}

[metrics]
  address = ""

${cri}]
  sandbox_image = ${q(PAUSE_IMAGE)}
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true

${cri}.containerd]
  snapshotter = ${q(p.snapshotter)}
  default_runtime_name = "runc"

${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

${cri}.containerd.runtimes.runc.options]
  BinaryName = ${q(p.runc)}
  Root = ${q(p.runcRoot)}
  SystemdCgroup = false

${cri}.cni]
  bin_dir = ${q(p.cniBin)}
  conf_dir = ${q(p.cniConf)}

${cri}.registry]
  config_path = ""
`;
}

/**
 * @param {{ socket: string, podLogs: string, volumePlugins: string, kubeletPort: number, healthzPort: number,
 *   taint: boolean, pki: Awaited<ReturnType<typeof writePki>> }} p
 */
function kubeletConfiguration(p) {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: '127.0.0.1',
    port: p.kubeletPort,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: p.healthzPort,
    tlsCertFile: p.pki.kubeletCert,
    tlsPrivateKeyFile: p.pki.kubeletKey,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    // The API server calls in with its kubelet client certificate (O=system:masters); the kubelet asks the API
    // server (SubjectAccessReview) whether that user may.
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: p.pki.ca },
    },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${p.socket}`,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    // The kernel settings it wants read as it wants them in its mount namespace (see startRealNode): it never
    // changes the host's.
    protectKernelDefaults: true,
    podLogsDir: p.podLogs,
    volumePluginDir: p.volumePlugins,
    registerNode: true,
    registerWithTaints: p.taint ? [REAL_NODE_TAINT] : [],
    evictionHard: {
      'memory.available': '1Mi',
      'nodefs.available': '1%',
      'nodefs.inodesFree': '1%',
      'imagefs.available': '1%',
      'imagefs.inodesFree': '1%',
    },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    resolvConf: existsSync('/etc/resolv.conf') ? '/etc/resolv.conf' : '',
    staticPodPath: '',
  };
}

/**
 * Removes the cgroups runc made for containers `ids` (the CRI puts them at /k8s.io/<id> in every hierarchy when
 * the kubelet gives no pod cgroup, as with cgroupsPerQOS false), retrying while the kernel still counts their
 * ended processes.
 * @param {string[]} ids
 */
async function removeCgroups(ids) {
  const top = '/sys/fs/cgroup';
  if (ids.length === 0 || !existsSync(top)) return;
  const roots = [
    top,
    ...readdirSync(top, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(top, d.name)),
  ];
  const paths = roots
    .flatMap((root) => ids.map((id) => join(root, CRI_NAMESPACE, id)))
    .filter((p) => existsSync(p));
  for (let attempt = 0; attempt < 30 && paths.length > 0; attempt += 1) {
    for (const path of [...paths]) {
      try {
        rmdirSync(path);
        paths.splice(paths.indexOf(path), 1);
      } catch (err) {
        if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT')
          paths.splice(paths.indexOf(path), 1);
      }
    }
    if (paths.length > 0) await sleep(100);
  }
  // The shared parents go too once empty (rmdir refuses a cgroup with children: another node's stay).
  for (const root of roots) {
    try {
      rmdirSync(join(root, CRI_NAMESPACE));
    } catch {
      // in use, or never made
    }
  }
}

/**
 * An image name as containerd stores it: docker.io/library/ added to a short name, :latest to an untagged one.
 * @param {string} name
 */
export function normalizeImageName(name) {
  const first = name.split('/')[0] ?? '';
  const domain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const full = domain ? name : `docker.io/${name.includes('/') ? '' : 'library/'}${name}`;
  const last = full.slice(full.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@') ? full : `${full}:latest`;
}

// ---------------------------------------------------------------------------------------------------------
// The cluster

/**
 * @param {import('./k8s-testcluster-lib.d.mts').StartOptions} [options]
 * @returns {Promise<import('./k8s-testcluster-lib.d.mts').TestCluster>}
 */
export async function startTestCluster(options = {}) {
  const bins = options.binaries ?? findK8sBinaries();
  if (!bins) {
    throw new ClusterError(
      'K8S_NOT_FOUND',
      `the Kubernetes test binaries (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) were not found in ${defaultBinDir()}; build them with \`${INSTALL_HINT}\``,
    );
  }
  const nodeOptions = options.realNode
    ? /** @type {import('./k8s-testcluster-lib.d.mts').RealNodeOptions} */ (
        options.realNode === true ? {} : options.realNode
      )
    : null;
  /** @type {import('./k8s-testcluster-lib.d.mts').NodeTools | null} */
  let nodeTools = null;
  if (nodeOptions) {
    const check = nodeOptions.tools ? { tools: nodeOptions.tools, reason: '' } : findNodeTools();
    if (!check.tools) throw new ClusterError('K8S_NODE_NOT_FOUND', check.reason);
    nodeTools = check.tools;
  }
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = started + timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());

  let dir;
  let ownDir = false;
  if (options.dir) {
    dir = resolve(options.dir);
    mkdirSync(dir, { recursive: true });
    if (readdirSync(dir).length > 0) throw new ClusterError('K8S_DIR_NOT_EMPTY', `${dir} is not empty`);
  } else {
    dir = mkdtempSync(join(tmpdir(), 'ralph-k8s-'));
    ownDir = true;
  }
  const keep = options.keep ?? !ownDir;
  const logsDir = join(dir, 'logs');
  mkdirSync(logsDir, { recursive: true });

  /** @type {import('./k8s-testcluster-lib.d.mts').ClusterProcess[]} */
  const procs = [];
  /** @type {(() => Promise<void>) | null} */
  let stopNode = null;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    /** @type {unknown} */
    let nodeError;
    // The real node first: its kubelet must not restart the containers being killed.
    if (stopNode) await stopNode().catch((/** @type {unknown} */ err) => (nodeError = err));
    const byName = (/** @type {string} */ n) => procs.filter((p) => p.name === n);
    const clients = procs.filter((p) => p.name !== 'kube-apiserver' && p.name !== 'etcd');
    await Promise.all(clients.map((p) => p.stop(5_000)));
    await Promise.all(byName('kube-apiserver').map((p) => p.stop(10_000)));
    await Promise.all(byName('etcd').map((p) => p.stop(10_000)));
    if (!keep) rmSync(dir, { recursive: true, force: true });
    if (nodeError) throw nodeError;
  };

  try {
    const pki = await writePki(join(dir, 'pki'), { realNode: Boolean(nodeOptions) });
    const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort] = await freePorts(5);
    const server = `https://127.0.0.1:${apiPort}`;
    const tls = {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.adminCert),
      key: readFileSync(pki.adminKey),
    };
    const common = { logs: logsDir, cwd: dir };

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = startProcess(
      'etcd',
      bins.etcd,
      [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster-state=new',
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      { ...common, env: ownDir && !keep ? { RALPH_K8S_ORPHAN_RM: dir } : {} },
    );
    procs.push(etcd);
    await waitFor(
      async () => {
        const res = await httpRequest(`${etcdUrl}/health`, { timeoutMs: 2000 });
        const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
        return res.status === 200 && /"health":\s*"true"/.test(text);
      },
      { timeoutMs: Math.min(left(), 30_000), what: `etcd on ${etcdUrl} to be healthy`, watch: [etcd] },
    );

    const apiserver = startProcess(
      'kube-apiserver',
      bins.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // The `kubernetes` Service gets no endpoints: an Endpoints address may not be a loopback one.
        '--endpoint-reconciler-type=none',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'apiserver')}`,
        `--tls-cert-file=${pki.apiserverCert}`,
        `--tls-private-key-file=${pki.apiserverKey}`,
        `--client-ca-file=${pki.ca}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--authorization-mode=Node,RBAC',
        `--requestheader-client-ca-file=${pki.frontProxyCa}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        `--proxy-client-cert-file=${pki.frontProxyCert}`,
        `--proxy-client-key-file=${pki.frontProxyKey}`,
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
        // Nodes are reached by their InternalIP (127.0.0.1) only: never a name looked up in DNS.
        '--kubelet-preferred-address-types=InternalIP',
        ...(nodeOptions
          ? [
              // exec, attach, port-forward and logs go through the kubelet: the API server authenticates with
              // its kubelet client certificate and checks the kubelet's serving one against the cluster CA.
              `--kubelet-client-certificate=${pki.apiserverKubeletClientCert}`,
              `--kubelet-client-key=${pki.apiserverKubeletClientKey}`,
              `--kubelet-certificate-authority=${pki.ca}`,
            ]
          : []),
      ],
      common,
    );
    procs.push(apiserver);
    await waitFor(
      async () => {
        const res = await httpRequest(`${server}/readyz`, { tls, timeoutMs: 5000 });
        return res.status === 200;
      },
      { timeoutMs: left(), what: `kube-apiserver on ${server} to be ready (/readyz)`, watch: [apiserver] },
    );

    const kubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(
      kubeconfig,
      kubeconfigYaml({ server, ca: pki.ca, cert: pki.adminCert, key: pki.adminKey }),
      { mode: 0o600 },
    );
    const kubeconfigs = [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
    ];
    const kcm = startProcess(
      'kube-controller-manager',
      bins.kubeControllerManager,
      [
        ...kubeconfigs,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(dir, 'kube-controller-manager')}`,
        '--leader-elect=false',
        '--controllers=*',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.ca}`,
        `--cluster-signing-cert-file=${pki.ca}`,
        `--cluster-signing-key-file=${pki.caKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--profiling=false',
      ],
      common,
    );
    procs.push(kcm);
    const scheduler = startProcess(
      'kube-scheduler',
      bins.kubeScheduler,
      [
        ...kubeconfigs,
        '--bind-address=127.0.0.1',
        `--secure-port=${schedPort}`,
        '--leader-elect=false',
        '--profiling=false',
      ],
      common,
    );
    procs.push(scheduler);
    const kwokDir = join(dir, 'kwok');
    mkdirSync(kwokDir, { recursive: true });
    const stagesFile = join(kwokDir, 'stages.yaml');
    writeFileSync(stagesFile, KWOK_STAGES);
    const kwok = startProcess(
      'kwok',
      bins.kwok,
      [
        `--kubeconfig=${kubeconfig}`,
        `--config=${stagesFile}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        '--node-ip=127.0.0.1',
        `--cidr=${POD_CIDR}`,
        '--node-lease-duration-seconds=40',
      ],
      // kwok reads $KWOK_WORKDIR/kwok.yaml (default ~/.kwok) too: keep it inside the cluster directory.
      { ...common, env: { KWOK_WORKDIR: kwokDir } },
    );
    procs.push(kwok);
    const all = [etcd, apiserver, kcm, scheduler, kwok];

    /** @type {import('./k8s-testcluster-lib.d.mts').TestCluster['request']} */
    const request = (method, path, body, o = {}) =>
      httpRequest(`${server}${path}`, {
        method,
        body,
        tls,
        contentType: o.contentType,
        timeoutMs: o.timeoutMs,
      });

    /** @type {import('./k8s-testcluster-lib.d.mts').TestCluster['api']} */
    const api = async (method, path, body, o) => {
      const res = await request(method, path, body, o);
      /** @type {any} */
      const resBody = res.body;
      if (res.status >= 200 && res.status < 300) return resBody;
      const detail = typeof resBody === 'object' && resBody ? resBody.message : String(resBody).slice(0, 300);
      throw new ClusterError('K8S_API_ERROR', `${method} ${path}: HTTP ${res.status}: ${detail}`);
    };

    for (const [name, port] of /** @type {const} */ ([
      ['kube-controller-manager', kcmPort],
      ['kube-scheduler', schedPort],
    ])) {
      const proc = name === 'kube-scheduler' ? scheduler : kcm;
      await waitFor(
        async () => {
          const res = await httpRequest(`https://127.0.0.1:${port}/healthz`, {
            tls: { rejectUnauthorized: false },
            timeoutMs: 3000,
          });
          return res.status === 200;
        },
        {
          timeoutMs: left(),
          what: `${name} to be healthy (/healthz on port ${port})`,
          watch: [proc, apiserver],
        },
      );
    }

    /** @type {string[]} */
    const nodeNames = [];
    /** @param {string[]} names @param {number} waitMs */
    const waitNodesReady = (names, waitMs) =>
      waitFor(
        async () => {
          for (const name of names) {
            /** @type {any} */
            const node = await api('GET', `/api/v1/nodes/${name}`);
            const ready = (node.status?.conditions ?? []).some(
              (/** @type {any} */ c) => c.type === 'Ready' && c.status === 'True',
            );
            const tainted = (node.spec?.taints ?? []).some((/** @type {any} */ t) =>
              String(t.key).startsWith('node.kubernetes.io/'),
            );
            if (!ready || tainted) return false;
          }
          return true;
        },
        {
          timeoutMs: waitMs,
          what: `fake nodes ${names.join(', ')} to be Ready and untainted (kwok marks them Ready, the node lifecycle controller lifts the not-ready taint)`,
          watch: [kwok, kcm, apiserver],
        },
      );
    /** @type {import('./k8s-testcluster-lib.d.mts').TestCluster['addFakeNodes']} */
    const addFakeNodes = async (count, o = {}) => {
      /** @type {string[]} */
      const names = [];
      for (let i = 0; i < count; i += 1) {
        const name = `ralph-fake-node-${nodeNames.length + names.length}`;
        await api('POST', '/api/v1/nodes', {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name,
            annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
            labels: {
              [FAKE_NODE_LABEL]: 'true',
              'kubernetes.io/hostname': name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              type: 'kwok',
            },
          },
          spec: {},
          status: { capacity: NODE_CAPACITY, allocatable: NODE_CAPACITY },
        });
        names.push(name);
      }
      nodeNames.push(...names);
      await waitNodesReady(names, o.timeoutMs ?? 60_000);
      return names;
    };

    /** @type {import('./k8s-testcluster-lib.d.mts').TestCluster['createNamespace']} */
    const createNamespace = async (name, o = {}) => {
      await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      await waitFor(
        async () =>
          (await request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200,
        {
          timeoutMs: o.timeoutMs ?? 30_000,
          what: `the default service account of namespace ${name} (kube-controller-manager's serviceaccount controller)`,
          watch: [kcm, apiserver],
        },
      );
    };

    await addFakeNodes(options.nodes ?? 2, { timeoutMs: left() });
    await waitFor(
      async () => (await request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      {
        timeoutMs: left(),
        what: 'the default service account in namespace default (kube-controller-manager)',
        watch: [kcm, apiserver],
      },
    );
    if (options.namespace) await createNamespace(options.namespace, { timeoutMs: left() });

    /** @type {import('./k8s-testcluster-lib.d.mts').RealNode | undefined} */
    let realNode;
    if (nodeOptions && nodeTools) {
      const node = await startRealNode({
        dir,
        logsDir,
        tools: nodeTools,
        pki,
        server,
        options: nodeOptions,
        api,
        apiserver,
        timeoutMs: left(),
      });
      stopNode = node.stop;
      realNode = node.node;
      all.push(...node.processes);
    }

    return {
      dir,
      kubeconfig,
      server,
      namespace: options.namespace,
      logsDir,
      logs: /** @type {import('./k8s-testcluster-lib.d.mts').TestCluster['logs']} */ (
        Object.fromEntries(all.map((p) => [p.name, p.logFile]))
      ),
      certs: { ca: pki.ca, adminCert: pki.adminCert, adminKey: pki.adminKey },
      nodeNames,
      realNode,
      startupMs: Date.now() - started,
      processes: all,
      request,
      api,
      addFakeNodes,
      createNamespace,
      importImage: (file) => {
        if (!realNode) {
          return Promise.reject(
            new ClusterError('K8S_NO_REAL_NODE', 'importImage needs a cluster started with realNode'),
          );
        }
        return realNode.importImage(file);
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    if (err instanceof ClusterError) throw err;
    throw new ClusterError('K8S_START_FAILED', `starting the test cluster failed: ${String(err)}`, {
      cause: err,
    });
  }
}
