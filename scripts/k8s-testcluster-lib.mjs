// A throwaway Kubernetes control plane on loopback for tests and local experiments: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with kwok playing fake nodes (no kubelet). Pods on the fake nodes
// become Running with ready containers; the pod annotation `ralph.test/outcome` ends them as a test asks
// (succeed, oom, evict). Everything lives in one directory that `stop()` removes. The binaries come from
// scripts/install-k8s.sh.
import { spawn } from 'node:child_process';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync } from 'node:fs';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

/** @param {string} file */
function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
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
 * (sa.key/sa.pub), and the front proxy CA and client certificate the aggregation layer expects.
 * @param {string} dir
 */
async function writePki(dir) {
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
  return files;
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

/** Asks the kernel for a free TCP port on 127.0.0.1 and releases it. */
export function freePort() {
  return /** @type {Promise<number>} */ (
    new Promise((resolvePort, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolvePort(port));
      });
    })
  );
}

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
const GUARD = [
  '"$0" "$@" & child=$!',
  'trap \'kill -TERM "$child" 2>/dev/null; wait "$child"; exit\' TERM INT HUP',
  'while kill -0 "$RALPH_K8S_OWNER" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1 & wait $!; done',
  'if kill -0 "$child" 2>/dev/null; then',
  '  kill -TERM "$child"; n=0',
  '  while kill -0 "$child" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done',
  '  kill -KILL "$child" 2>/dev/null',
  'fi',
  'wait "$child"; status=$?',
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
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const byName = (/** @type {string} */ n) => procs.filter((p) => p.name === n);
    const clients = procs.filter((p) => p.name !== 'kube-apiserver' && p.name !== 'etcd');
    await Promise.all(clients.map((p) => p.stop(5_000)));
    await Promise.all(byName('kube-apiserver').map((p) => p.stop(10_000)));
    await Promise.all(byName('etcd').map((p) => p.stop(10_000)));
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const pki = await writePki(join(dir, 'pki'));
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

    return {
      dir,
      kubeconfig,
      server,
      namespace: options.namespace,
      logsDir,
      logs: /** @type {Record<import('./k8s-testcluster-lib.d.mts').ComponentName, string>} */ (
        Object.fromEntries(all.map((p) => [p.name, p.logFile]))
      ),
      certs: { ca: pki.ca, adminCert: pki.adminCert, adminKey: pki.adminKey },
      nodeNames,
      startupMs: Date.now() - started,
      processes: all,
      request,
      api,
      addFakeNodes,
      createNamespace,
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
