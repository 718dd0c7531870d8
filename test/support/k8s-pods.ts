/**
 * What the tests of loops in real pods share: the runner image built with the fake agent in it (and an agent
 * that commits its work, as a coding agent would), imported into the test cluster's real node, and host folders
 * as the loops' volumes, owned by the runner's user.
 */
import { chownSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { gitOk, gitRunner, helperBinDir, type GitRun } from '../git/harness.js';
import { REAL_NODE_LABEL, REAL_NODE_TAINT, type TestCluster } from './k8s-cluster.js';
import { prdJson } from './prd.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Where the image carries the fake agents. */
export const AGENT_DIR = '/opt/fake-agent';
/** The runner's uid and gid in the image. */
export const RALPH_ID = 65532;

/** Runs the fake agent with its arguments, then commits everything in its folder, as a real agent would. */
const COMMIT_AGENT = [
  "import { execFileSync, spawnSync } from 'node:child_process';",
  "const agent = new URL('./fake-agent.mjs', import.meta.url).pathname;",
  "const run = spawnSync(process.execPath, [agent, ...process.argv.slice(2)], { stdio: 'inherit' });",
  'if (run.status !== 0) process.exit(run.status ?? 1);',
  "execFileSync('git', ['add', '-A'], { stdio: 'inherit' });",
  "const message = process.env.COMMIT_MESSAGE ?? 'agent: work in a pod';",
  "execFileSync('git', ['-c', 'user.name=Pod', '-c', 'user.email=pod@example.invalid', 'commit', '-q', '-m', message], { stdio: 'inherit' });",
  '',
].join('\n');

/** The command line of the committing agent in the image, on a script at `script` (a path in the pod). */
export function commitAgentCommand(script: string): string {
  return `node ${AGENT_DIR}/commit-agent.mjs --script ${script}`;
}

/**
 * Builds an image with scripts/build-runner-image.mjs into `work` (the runner's, with the fake agents in
 * AGENT_DIR; or with `daemon`, the daemon's) and imports it into the cluster's real node; its full name.
 */
export async function buildTestImage(
  cluster: TestCluster,
  work: string,
  tag: string,
  options: { daemon?: boolean } = {},
): Promise<string> {
  const extra: string[] = [];
  if (options.daemon === true) extra.push('--daemon');
  else {
    const agents = join(work, `agents-${tag.replace(/[^a-z0-9]+/gi, '-')}`);
    mkdirSync(agents, { recursive: true });
    copyFileSync(join(ROOT, 'test', 'fixtures', 'fake-agent.mjs'), join(agents, 'fake-agent.mjs'));
    writeFileSync(join(agents, 'commit-agent.mjs'), COMMIT_AGENT);
    extra.push('--extra', `${agents}:${AGENT_DIR}`);
  }
  const file = join(work, `${tag.replace(/[^a-z0-9]+/gi, '-')}.oci.tar`);
  const built = await execa(
    process.execPath,
    ['scripts/build-runner-image.mjs', '--out', file, '--tag', tag, ...extra],
    { cwd: ROOT, all: true, reject: false },
  );
  if (built.exitCode !== 0) throw new Error(`build-runner-image failed:\n${built.all}`);
  return cluster.importImage(file);
}

/**
 * A PersistentVolume of `storageClass` on an empty host folder `<work>/<name>`, writable by the runner's user
 * only, for one claim; the folder's path.
 */
export async function addHostVolume(
  cluster: TestCluster,
  work: string,
  name: string,
  storageClass: string,
): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, RALPH_ID, RALPH_ID);
  await cluster.api('POST', '/api/v1/persistentvolumes', {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage: '5Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: storageClass,
      persistentVolumeReclaimPolicy: 'Retain',
      hostPath: { path: dir, type: 'Directory' },
    },
  });
  return dir;
}

/** The executor settings that put loops on the real node (as a daemon's config file has them). */
export function realNodeExecutor(image: string, storageClass: string): Record<string, unknown> {
  return {
    kind: 'kubernetes',
    namespace: 'loops',
    image,
    imagePullPolicy: 'Never',
    resources: { limits: { memory: '1Gi' } },
    storageClass,
    storageSize: '1Gi',
    nodeSelector: { [REAL_NODE_LABEL]: 'true' },
    tolerations: [{ ...REAL_NODE_TAINT, operator: 'Equal' }],
    hostNetwork: true,
    runAsUser: RALPH_ID,
  };
}

/** Who commits on the laptop in these tests. */
export const LAPTOP_GIT_ID = {
  GIT_AUTHOR_NAME: 'Laptop',
  GIT_AUTHOR_EMAIL: 'laptop@example.invalid',
  GIT_COMMITTER_NAME: 'Laptop',
  GIT_COMMITTER_EMAIL: 'laptop@example.invalid',
};

/**
 * The laptop's repository for `ralph start --remote`: `<root>/proj` on `main`, with one committed task folder
 * `tasks/feat` (a one-story prd.json on `branch`, and the fake agent's `script`). Returns the git runner and the
 * repository.
 */
export async function laptopTaskRepo(
  root: string,
  ralphHome: string,
  branch: string,
  script: unknown[],
): Promise<{ git: GitRun; repo: string }> {
  mkdirSync(root, { recursive: true });
  const git = gitRunner(root, helperBinDir(root), { RALPH_HOME: ralphHome });
  const repo = join(root, 'proj');
  await gitOk(git, root, ['init', '-q', '-b', 'main', repo]);
  writeFileSync(join(repo, 'README.md'), 'a project\n');
  const task = join(repo, 'tasks', 'feat');
  mkdirSync(task, { recursive: true });
  writeFileSync(join(task, 'prd.json'), JSON.stringify(prdJson(1, branch), null, 2) + '\n');
  writeFileSync(join(task, 'prompt.md'), '# Fixture prompt\n');
  writeFileSync(join(task, 'script.json'), JSON.stringify(script));
  await gitOk(git, repo, ['add', '-A']);
  await gitOk(git, repo, ['commit', '-q', '-m', 'task feat']);
  return { git, repo };
}
