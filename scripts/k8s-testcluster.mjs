#!/usr/bin/env node
// Runs the loopback Kubernetes test cluster by hand.
//
//   node scripts/k8s-testcluster.mjs start [--dir D] [--nodes N] [--keep]   start it, run until Ctrl-C
//          [--real-node [--image FILE]...]                               with a real node (root)
//   node scripts/k8s-testcluster.mjs check                                 tell whether the binaries are built
//   node scripts/k8s-testcluster.mjs pause-image [--binary B] [--out F]    write the real node's sandbox image
import { join } from 'node:path';
import {
  INSTALL_HINT,
  defaultBinDir,
  findK8sBinaries,
  findNodeTools,
  startTestCluster,
  writePauseImage,
} from './k8s-testcluster-lib.mjs';

const USAGE = `usage: node scripts/k8s-testcluster.mjs <start|check|pause-image> [options]

  start   start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1 with
          fake nodes, print the admin kubeconfig path, and keep running until Ctrl-C (SIGINT) or SIGTERM;
          then stop everything and delete the temporary directory
            --dir D        run in directory D (created, must be empty; kept afterwards)
            --nodes N      fake nodes to create (default 2)
            --keep         keep the temporary directory after stopping
            --timeout S    bound on the start-up in seconds (default 120)
            --real-node    also start containerd and a kubelet: a real node (127.0.0.1, label
                           ralph.test/real=true, taint ralph.test/real=true:NoSchedule) running
                           hostNetwork pods; needs root and scripts/install-k8s-node.sh
            --image FILE   with --real-node: import this OCI image archive into its containerd (repeatable)
  check   print where the binaries are, or how to build them (exit status 1); the real node's tools too
  pause-image [--binary B] [--out F]
          write the OCI archive of the real node's sandbox image from the static pause program
          (default: pause and pause.oci.tar in the binaries folder)`;

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ dir?: string, nodes?: number, keep?: boolean, timeoutMs?: number, realNode?: boolean,
   *   images: string[], binary?: string, out?: string }} */
  const opts = { images: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const v = argv[i + 1];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      i += 1;
      return v;
    };
    const count = (/** @type {string} */ v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${arg} needs a whole number, got ${v}`);
      return n;
    };
    if (arg === '--dir') opts.dir = value();
    else if (arg === '--nodes') opts.nodes = count(value());
    else if (arg === '--timeout') opts.timeoutMs = count(value()) * 1000;
    else if (arg === '--keep') opts.keep = true;
    else if (arg === '--real-node') opts.realNode = true;
    else if (arg === '--image') opts.images.push(value());
    else if (arg === '--binary') opts.binary = value();
    else if (arg === '--out') opts.out = value();
    else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

function check() {
  const bins = findK8sBinaries();
  if (!bins) {
    process.stderr.write(
      `Kubernetes test binaries not found in ${defaultBinDir()}; run \`${INSTALL_HINT}\`\n`,
    );
    return 1;
  }
  for (const [name, path] of Object.entries(bins))
    process.stdout.write(`${name}: ${path ?? '(not built)'}\n`);
  const node = findNodeTools();
  process.stdout.write(`real node: ${node.tools ? 'ready' : node.reason}\n`);
  return 0;
}

/** @param {ReturnType<typeof parseArgs>} opts */
function pauseImage(opts) {
  const binary = opts.binary ?? join(defaultBinDir(), 'pause');
  const out = opts.out ?? join(defaultBinDir(), 'pause.oci.tar');
  const image = writePauseImage(binary, out);
  process.stdout.write(`${out}: ${image.name} ${image.digest}\n`);
  return 0;
}

/** @param {ReturnType<typeof parseArgs>} opts */
async function start(opts) {
  process.stderr.write('starting the Kubernetes test cluster on 127.0.0.1 ...\n');
  // Until it is up, a signal just exits: the components' guards end them once this process is gone.
  /** @param {NodeJS.Signals} signal */
  const early = (signal) => {
    process.stderr.write(`\n${signal} during start-up: abandoning the test cluster\n`);
    process.exit(130);
  };
  const signals = /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM', 'SIGHUP']);
  for (const signal of signals) process.on(signal, early);
  if (opts.images.length > 0 && !opts.realNode) throw new Error('--image needs --real-node');
  const cluster = await startTestCluster({
    dir: opts.dir,
    nodes: opts.nodes,
    keep: opts.keep,
    timeoutMs: opts.timeoutMs,
    realNode: opts.realNode,
  });
  try {
    for (const image of opts.images) {
      process.stderr.write(`imported ${image}: ${await cluster.importImage(image)}\n`);
    }
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  for (const signal of signals) process.removeListener(signal, early);
  process.stdout.write(`${cluster.kubeconfig}\n`);
  process.stderr.write(
    [
      '',
      `ready in ${(cluster.startupMs / 1000).toFixed(1)}s: API server ${cluster.server}`,
      `fake nodes: ${cluster.nodeNames.join(', ') || '(none)'}`,
      ...(cluster.realNode
        ? [
            `real node: ${cluster.realNode.name} (ready in ${(cluster.realNode.readyMs / 1000).toFixed(1)}s, snapshotter ${cluster.realNode.snapshotter})`,
            `containerd: ctr --address ${cluster.realNode.containerdSocket} --namespace k8s.io ...`,
          ]
        : []),
      `logs: ${cluster.logsDir}`,
      `export KUBECONFIG=${cluster.kubeconfig}`,
      'press Ctrl-C to stop',
      '',
    ].join('\n'),
  );
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  /** @param {NodeJS.Signals} signal */
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the test cluster ...\n`);
    cluster
      .stop()
      .then(() => {
        clearInterval(keepAlive);
        process.stderr.write('stopped\n');
        process.exit(0);
      })
      .catch((/** @type {unknown} */ err) => {
        process.stderr.write(`error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      });
  };
  for (const signal of signals) process.on(signal, () => shutdown(signal));
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'check') process.exit(check());
  else if (command === 'start') await start(parseArgs(rest));
  else if (command === 'pause-image') process.exit(pauseImage(parseArgs(rest)));
  else {
    process.stderr.write(`${USAGE}\n`);
    process.exit(command === '--help' || command === '-h' ? 0 : 2);
  }
} catch (err) {
  process.stderr.write(`k8s-testcluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
