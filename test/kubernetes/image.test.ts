/**
 * The runner image (scripts/build-runner-image.mjs), built from dist/ and files on this machine: an OCI image
 * layout whose digests hold, a layer holding only what was meant to go in, owned as meant; and, as root, the
 * layer unpacked and run from its own files only (chroot, as the ralph user, in a mount and pid namespace of its
 * own): Node starts, the native addons load, the runner entry reaches its own errors, and a loop with a fake
 * agent runs to completion as it would in a pod. The chroot part is skipped with a notice when not root or when
 * unshare/chroot cannot be used.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareLoop } from '../../src/client/start.js';
import { ralphPaths } from '../../src/config/paths.js';
import { RpcClient } from '../../src/protocol/index.js';
import { Registry } from '../../src/registry/index.js';
import { ensureCliBuilt, ROOT } from '../cli/built.js';
import { waitFor, within } from '../support/wait.js';
import { prdJson } from '../support/prd.js';

const SCRIPT = join(ROOT, 'scripts', 'build-runner-image.mjs');
const FAKE_AGENT = join(ROOT, 'test', 'fixtures', 'fake-agent.mjs');
const TAG = 'ralph-runner:image-test';
const RALPH_ID = 65532;
/** Where the fake agent goes in the image (--extra), with a link to it and a file whose path ustar cannot hold. */
const AGENT_DIR = '/opt/fake-agent';
const AGENT_LINK = { path: 'bin/fake-agent', target: '../fake-agent.mjs' };
const LONG_PATH = `notes/${'n'.repeat(60)}/${'é'.repeat(30)}/readme.txt`;
/** The pod's mounts and environment (src/daemon/kubernetes/spec.ts: DATA_MOUNT, LAUNCH_MOUNT). */
const DATA_MOUNT = '/var/lib/ralph';
const LAUNCH_FILE = '/etc/ralph/launch.json';
const OCI_ARCH: Partial<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };

interface TarEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  data: Buffer;
}

/** Reads a tar archive (ustar, with PAX path records), checking every header's checksum. */
function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let pax: Record<string, string> = {};
  let offset = 0;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const text = (start: number, length: number): string =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0[^]*$/, '');
    const number = (start: number, length: number): number => parseInt(text(start, length).trim() || '0', 8);
    let sum = 0;
    header.forEach((byte, i) => (sum += i >= 148 && i < 156 ? 32 : byte));
    if (sum !== number(148, 8)) throw new Error(`bad tar header checksum at ${offset}`);
    if (text(257, 6) !== 'ustar') throw new Error(`not a ustar header at ${offset}`);
    const size = number(124, 12);
    const type = text(156, 1) || '0';
    const data = archive.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      for (const record of data.toString('utf8').split('\n').filter(Boolean)) {
        const [key = '', ...value] = record.slice(record.indexOf(' ') + 1).split('=');
        pax[key] = value.join('=');
      }
      continue;
    }
    const prefix = text(345, 155);
    const name = pax.path ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
    const linkname = pax.linkpath ?? text(157, 100);
    entries.push({
      path: name,
      type,
      mode: number(100, 8),
      uid: number(108, 8),
      gid: number(116, 8),
      mtime: number(136, 12),
      linkname,
      data,
    });
    pax = {};
  }
  return entries;
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The program interpreter (dynamic loader) a 64-bit little-endian ELF executable names. */
function elfInterpreter(elf: Buffer): string {
  expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 3) continue;
    const offset = Number(elf.readBigUInt64LE(ph + 8));
    const size = Number(elf.readBigUInt64LE(ph + 32));
    return elf.subarray(offset, offset + size - 1).toString('latin1');
  }
  throw new Error('no PT_INTERP: not a dynamically linked executable');
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

interface ImageConfig {
  architecture: string;
  os: string;
  config: { User: string; Env: string[]; Entrypoint: string[]; WorkingDir: string };
  rootfs: { type: string; diff_ids: string[] };
}

let work: string;
let imageFile: string;
let buildOutput: string;
let layout: Map<string, TarEntry>;
let layer: TarEntry[];
let layerBlob: Buffer;
let config: ImageConfig;

/** A blob of the layout, checked against its descriptor's digest and size. */
function blob(desc: Descriptor): Buffer {
  const entry = layout.get(`blobs/sha256/${desc.digest.replace(/^sha256:/, '')}`);
  expect(entry, `blob ${desc.digest}`).toBeDefined();
  expect(sha256(entry!.data)).toBe(desc.digest);
  expect(entry!.data.length).toBe(desc.size);
  return entry!.data;
}

beforeAll(async () => {
  await ensureCliBuilt();
  work = mkdtempSync(join(tmpdir(), 'ralph-image-test-'));
  const agentDir = join(work, 'agent');
  mkdirSync(agentDir);
  copyFileSync(FAKE_AGENT, join(agentDir, 'fake-agent.mjs'));
  mkdirSync(join(agentDir, 'bin'));
  symlinkSync(AGENT_LINK.target, join(agentDir, AGENT_LINK.path));
  mkdirSync(dirname(join(agentDir, LONG_PATH)), { recursive: true });
  writeFileSync(join(agentDir, LONG_PATH), 'a long path\n');
  imageFile = join(work, 'ralph-runner.oci.tar');
  const args = [SCRIPT, '--out', imageFile, '--tag', TAG, '--extra', `${agentDir}:${AGENT_DIR}`];
  const build = await execa(process.execPath, args, { cwd: ROOT, all: true, reject: false });
  buildOutput = build.all;
  if (build.exitCode !== 0) throw new Error(`build-runner-image failed:\n${build.all}`);

  layout = new Map(readTar(readFileSync(imageFile)).map((e) => [e.path, e]));
  const index = JSON.parse(layout.get('index.json')!.data.toString()) as { manifests: Descriptor[] };
  const manifest = JSON.parse(blob(index.manifests[0]!).toString()) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  config = JSON.parse(blob(manifest.config).toString()) as ImageConfig;
  layerBlob = blob(manifest.layers[0]!);
  layer = readTar(gunzipSync(layerBlob));
}, 300_000);

afterAll(() => {
  if (work === undefined) return;
  // The chroot's mounts are made in namespaces of their own; one seen here would be a leak: never delete through it.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4]?.startsWith(work));
  if (mounts.length > 0) throw new Error(`mounts left under ${work}, not removing it:\n${mounts.join('\n')}`);
  rmSync(work, { recursive: true, force: true });
});

describe('the runner image', () => {
  it('is an OCI image layout: index, manifest, config and layer match their digests', () => {
    expect([...layout.keys()]).toEqual([...layout.keys()].sort());
    expect([...layout.keys()].filter((p) => !p.startsWith('blobs/sha256/') || p.endsWith('/'))).toEqual([
      'blobs/',
      'blobs/sha256/',
      'index.json',
      'oci-layout',
    ]);
    for (const entry of layout.values()) expect([entry.uid, entry.gid, entry.mtime]).toEqual([0, 0, 0]);
    expect(JSON.parse(layout.get('oci-layout')!.data.toString())).toEqual({ imageLayoutVersion: '1.0.0' });

    const index = JSON.parse(layout.get('index.json')!.data.toString()) as {
      schemaVersion: number;
      mediaType: string;
      manifests: Descriptor[];
    };
    expect(index).toMatchObject({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect(index.manifests).toHaveLength(1);
    const top = index.manifests[0]!;
    expect(top.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(top.annotations).toEqual({
      'io.containerd.image.name': `docker.io/library/${TAG}`,
      'org.opencontainers.image.ref.name': TAG,
    });
    const architecture = OCI_ARCH[process.arch] ?? process.arch;
    expect(top.platform).toEqual({ architecture, os: 'linux' });

    const manifest = JSON.parse(blob(top).toString()) as {
      schemaVersion: number;
      mediaType: string;
      config: Descriptor;
      layers: Descriptor[];
    };
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    });
    expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip']);
    // Every blob is one the manifest names.
    const named = [top, manifest.config, ...manifest.layers].map((d) => `blobs/sha256/${d.digest.slice(7)}`);
    expect([...layout.keys()].filter((p) => /^blobs\/sha256\/./.test(p)).sort()).toEqual(named.sort());

    expect(config).toMatchObject({
      architecture,
      os: 'linux',
      config: {
        User: `${RALPH_ID}:${RALPH_ID}`,
        Entrypoint: ['/usr/local/bin/node', '/app/dist/cli/runner.js'],
        WorkingDir: DATA_MOUNT,
      },
      rootfs: { type: 'layers' },
    });
    expect(config.config.Env).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
    expect(config.rootfs.diff_ids).toEqual([sha256(gunzipSync(layerBlob))]);
    expect(buildOutput).toContain(`digest ${top.digest}`);
  });

  it('holds only what was meant to go in, owned by root but for the ralph home', () => {
    const paths = layer.map((e) => e.path.replace(/\/$/, ''));
    expect(paths).toEqual([...paths].sort());
    expect(new Set(paths).size).toBe(paths.length);
    for (const entry of layer) {
      expect(entry.path).not.toMatch(/^\/|(^|\/)\.\.?(\/|$)/);
      expect(entry.mtime, entry.path).toBe(0);
      const home = entry.path === 'var/lib/ralph/';
      expect([entry.uid, entry.gid], entry.path).toEqual(home ? [RALPH_ID, RALPH_ID] : [0, 0]);
      // Files and folders; the links are the extra folder's, kept as it was written, and git's exec path.
      const link =
        entry.path === `${AGENT_DIR.slice(1)}/${AGENT_LINK.path}` ||
        /^usr\/bin\/git-(upload-pack|receive-pack|upload-archive)$/.test(entry.path) ||
        /^usr\/lib\/git-core\/git(-upload-pack|-receive-pack|-upload-archive)?$/.test(entry.path);
      expect(entry.type, entry.path).toMatch(link ? /^2$/ : /^[05]$/);
    }
    const top = new Set(paths.map((p) => p.split('/')[0]));
    expect(
      [...top].filter((t) => !['app', 'etc', 'lib', 'lib64', 'opt', 'tmp', 'usr', 'var'].includes(t!)),
    ).toEqual([]);

    const entry = (path: string): TarEntry => {
      const found = layer.find((e) => e.path === path);
      expect(found, path).toBeDefined();
      return found!;
    };
    expect(entry('tmp/').mode).toBe(0o1777);
    expect(entry('var/lib/ralph/').mode).toBe(0o755);
    expect(entry('etc/ralph/').type).toBe('5');
    expect(entry('usr/local/bin/node').mode).toBe(0o755);
    // git, for the agents' commits and the bundle that takes them home, and its exec path for its helpers.
    expect(entry('usr/bin/git').mode).toBe(0o755);
    expect(entry('usr/lib/git-core/git').linkname).toBe('/usr/bin/git');
    expect(entry('usr/bin/git-upload-pack').linkname).toBe('git');
    expect(entry('etc/passwd').data.toString()).toContain(
      `ralph:x:${RALPH_ID}:${RALPH_ID}:ralph:${DATA_MOUNT}:`,
    );
    expect(entry('etc/group').data.toString()).toContain(`ralph:x:${RALPH_ID}:`);
    for (const made of ['etc/passwd', 'etc/group', 'app/package.json']) {
      expect(entry(made).data.toString(), made).not.toContain(ROOT);
    }
    expect(JSON.parse(entry('app/package.json').data.toString())).toMatchObject({
      name: 'ralph-supervisor',
      type: 'module',
    });
    expect(entry('app/dist/cli/runner.js').data.length).toBeGreaterThan(0);
    expect(entry('app/dist/src/loop/screen-worker.js').data.length).toBeGreaterThan(0);
    expect(entry(`${AGENT_DIR.slice(1)}/fake-agent.mjs`).data).toEqual(readFileSync(FAKE_AGENT));
    expect(entry(`${AGENT_DIR.slice(1)}/${AGENT_LINK.path}`).linkname).toBe(AGENT_LINK.target);
    expect(entry(`${AGENT_DIR.slice(1)}/${LONG_PATH}`).data.toString()).toBe('a long path\n');
    expect(paths.filter((p) => p.endsWith('.oci.tar'))).toEqual([]);

    // The dynamic loader sits exactly where the Node binary asks for it.
    const loader = elfInterpreter(entry('usr/local/bin/node').data);
    expect(entry(loader.slice(1)).mode).toBe(0o755);

    // Outside /app, only the system files, git, the fake agent and shared libraries.
    const files = layer.filter((e) => e.type === '0' && !e.path.startsWith('app/')).map((e) => e.path);
    const known = new Set([
      'etc/group',
      'etc/passwd',
      'usr/local/bin/node',
      'usr/bin/git',
      `${AGENT_DIR.slice(1)}/fake-agent.mjs`,
      `${AGENT_DIR.slice(1)}/${LONG_PATH}`,
    ]);
    const libraries = files.filter((p) => !known.has(p));
    expect(libraries.length).toBeGreaterThan(0);
    for (const lib of libraries) expect(lib).toMatch(/^(usr\/)?lib(64|32)?\/([^/]+\/)?[^/]+\.so(\.[0-9]+)*$/);

    // node_modules: the packages the runner loads, and no more.
    const sqlite =
      Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';
    const packages = new Set(
      paths
        .filter((p) => p.startsWith('app/node_modules/'))
        .map((p) => /^app\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1])
        .filter((p) => p !== undefined && p !== '@xterm'),
    );
    expect([...packages].sort()).toEqual(['@xterm/headless', sqlite, 'node-pty'].sort());
    expect(paths.filter((p) => /\.(map|d\.ts)$/.test(p) && p.startsWith('app/node_modules/'))).toEqual([]);
  });
});

/** Why the image cannot be run in a chroot here, or null when it can. */
function chrootUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root';
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', '--pid', '--fork', 'true'], {
    encoding: 'utf8',
  });
  if (probe.error || probe.status !== 0)
    return `unshare failed: ${(probe.error?.message ?? probe.stderr).trim()}`;
  if (chrootPath() === '') return 'chroot is not installed';
  return null;
}

function chrootPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v chroot'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : '';
}

const chrootReason = chrootUnavailableReason();
if (chrootReason !== null) {
  console.warn(
    `[image] SKIPPING the runs of the runner image in a chroot (${chrootReason}): run the tests as root on ` +
      'Linux with unshare and chroot (util-linux, coreutils)',
  );
}

/**
 * Mounts what a container runtime provides (a /dev with null, random, tty and a private devpts, and /proc) in
 * a mount namespace of its own, then runs the command: the mounts go with the namespace.
 */
const SETUP = [
  'set -e',
  'root=$1; shift',
  'mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"',
  'for n in null zero full random urandom tty; do touch "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"; done',
  'mkdir "$root/dev/pts"',
  'mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"',
  'ln -s pts/ptmx "$root/dev/ptmx"',
  'mount -t proc proc "$root/proc"',
  // Not exec: this shell stays the namespace's first process, as root, so when unshare dies (killed) the kernel
  // kills it (--kill-child), and with it everything in the namespace. chroot --userspec would clear that signal.
  '"$@"',
].join('\n');

describe.skipIf(chrootReason !== null)('the runner image, run from its own files only (chroot)', () => {
  let rootfs: string;

  /**
   * Runs `argv` in the image as its user, with only the image's environment (and HOME, as runtimes add) and
   * `env`. The working folder is /, not the image's WorkingDir: chroot has no say in it, and the runner uses
   * absolute paths only.
   */
  function inImage(argv: string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
    const environment = [
      ...config.config.Env,
      `HOME=${DATA_MOUNT}`,
      ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
    ];
    const namespaces = ['--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child'];
    const chroot = [chrootPath(), `--userspec=${config.config.User}`, rootfs];
    // env -i leaves the command nothing of this process's environment.
    return execa(
      'unshare',
      [...namespaces, 'sh', '-c', SETUP, 'sh', rootfs, 'env', '-i', ...environment, ...chroot, ...argv],
      {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        extendEnv: false,
        reject: false,
        timeout: timeoutMs,
        // unshare --fork ignores SIGTERM; SIGKILL takes the namespace down with it (see SETUP).
        killSignal: 'SIGKILL',
        stdin: 'ignore',
      },
    );
  }

  beforeAll(async () => {
    rootfs = join(work, 'rootfs');
    mkdirSync(rootfs, { mode: 0o755 });
    const layerFile = join(work, 'layer.tar.gz');
    writeFileSync(layerFile, layerBlob);
    // GNU tar, as root: owners and modes as the layer says.
    await execa('tar', ['-xzpf', layerFile, '-C', rootfs, '--numeric-owner']);
    rmSync(layerFile);
    expect(statSync(join(rootfs, 'var', 'lib', 'ralph')).uid).toBe(RALPH_ID);
    expect(readlinkSync(join(rootfs, AGENT_DIR, AGENT_LINK.path))).toBe(AGENT_LINK.target);
    expect(readFileSync(join(rootfs, AGENT_DIR, LONG_PATH), 'utf8')).toBe('a long path\n');
    // The mount points a container runtime creates.
    mkdirSync(join(rootfs, 'dev'));
    mkdirSync(join(rootfs, 'proc'));
  });

  it('runs git as the ralph user: a commit, and a bundle of it (which runs git pack-objects from its exec path)', async () => {
    const script = [
      "const { execFileSync } = require('node:child_process');",
      "const git = (...args) => execFileSync('/usr/bin/git', args, { cwd: '/tmp/repo', encoding: 'utf8' });",
      "require('node:fs').mkdirSync('/tmp/repo');",
      "git('init', '-q', '-b', 'main');",
      "require('node:fs').writeFileSync('/tmp/repo/a.txt', 'a\\n');",
      "git('add', '-A');",
      "git('-c', 'user.name=Pod', '-c', 'user.email=pod@example.invalid', 'commit', '-q', '-m', 'one');",
      "git('bundle', 'create', '--quiet', '/tmp/one.bundle', 'main');",
      "console.log(JSON.stringify({ version: git('--version').trim(), verified: git('bundle', 'verify', '--quiet', '/tmp/one.bundle') }));",
    ].join('\n');
    const run = await inImage(['/usr/local/bin/node', '-e', script], { HOME: '/tmp' });
    // git bundle verify says "okay" on stderr; nothing else may be there (no missing templates, no errors).
    expect(run.stderr.trim()).toBe('/tmp/one.bundle is okay');
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ version: expect.stringMatching(/^git version \d/) });
  });

  it('starts Node and loads SQLite and node-pty from /app/node_modules, as the ralph user', async () => {
    // What src/registry/sqlite.ts does: resolve the package from the app, hand its JavaScript the addon by path.
    const probe = `
      const { createRequire } = require('node:module');
      const { dirname, join } = require('node:path');
      const os = require('node:os');
      const appRequire = createRequire('/app/dist/src/registry/sqlite.js');
      const sqlitePackage = Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';
      const packageDir = join(dirname(appRequire.resolve(sqlitePackage)), '..');
      const addon = ['build/Release/better_sqlite3.node', 'prebuilds/linux-' + process.arch + '.node']
        .map((f) => join(packageDir, f))
        .find((f) => require('node:fs').existsSync(f));
      const Database = appRequire(sqlitePackage);
      const db = new Database(':memory:', { nativeBinding: addon });
      const sqlite = db.prepare('select sqlite_version() as v').get().v;
      db.close();
      const pty = appRequire('node-pty');
      const term = pty.spawn('/usr/local/bin/node', ['-e', 'console.log("tty " + process.stdout.isTTY)'], {
        cols: 80, rows: 24, env: { PATH: process.env.PATH },
      });
      let out = '';
      term.onData((d) => (out += d));
      term.onExit(({ exitCode }) => console.log(JSON.stringify({
        addon, sqlite, out: out.trim(), exitCode, uid: process.getuid(), user: os.userInfo().username,
        modules: Object.keys(require.cache).filter((m) => m.endsWith('.node')),
      })));
    `;
    const run = await inImage(['/usr/local/bin/node', '-e', probe]);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ out: 'tty true', exitCode: 0, uid: RALPH_ID, user: 'ralph' });
    expect(result.sqlite).toMatch(/^3\.\d+\.\d+$/);
    expect(result.addon).toMatch(/^\/app\/node_modules\/better-sqlite3/);
    expect(result.modules).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/app\/node_modules\/node-pty\/.*\/pty\.node$/),
        result.addon,
      ]),
    );
  });

  it('runs the runner entry to its own errors, with every module it loads at start found', async () => {
    const usage = await inImage(config.config.Entrypoint);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toBe('usage: runner-entry <launch.json>');

    const missing = await inImage([...config.config.Entrypoint, '/etc/ralph/absent.json']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("ENOENT: no such file or directory, open '/etc/ralph/absent.json'");
    expect(missing.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)|ERR_DLOPEN_FAILED/);
  });

  it('runs a loop with a fake agent to completion, as a pod would: launch file in /etc/ralph, data in /var/lib/ralph', async () => {
    const dataDir = join(rootfs, DATA_MOUNT);
    const taskDir = join(dataDir, 'task');
    mkdirSync(taskDir);
    writeFileSync(join(taskDir, 'prd.json'), JSON.stringify(prdJson(1), null, 2));
    writeFileSync(join(taskDir, 'prompt.md'), '# Prompt\n\nMake the story pass.\n');
    // The agent waits at a gate, so the loop can be watched through its socket while it runs.
    const script = [
      { print: 'hello from the image' },
      { printEnv: 'HOME' },
      { echo: { until: 'go\r', timeoutMs: 30_000 } },
      { passStory: 'current' },
    ];
    writeFileSync(join(taskDir, 'script.json'), JSON.stringify(script));
    // The daemon prepares the loop where the pod sees its data volume; the paths the runner reads are the pod's.
    const paths = ralphPaths({ RALPH_HOME: join(dataDir, 'home') });
    const prepared = await prepareLoop(
      {
        taskDir,
        agent: 'custom',
        agentCommand: `node ${AGENT_DIR}/fake-agent.mjs --script ${DATA_MOUNT}/task/script.json`,
        maxIterations: 3,
        idleTimeoutMs: 0,
      },
      paths,
    );
    const launch = JSON.stringify(prepared.launch).replaceAll(`${rootfs}/`, '/');
    expect(launch).not.toContain(work);
    writeFileSync(join(rootfs, LAUNCH_FILE), launch, { mode: 0o444 });
    chownTree(dataDir, RALPH_ID);
    const readRunnerLog = (): string => {
      const file = join(prepared.launch.dir, 'runner.log');
      return existsSync(file) ? readFileSync(file, 'utf8') : '(no runner.log)';
    };

    const running = inImage([...config.config.Entrypoint, LAUNCH_FILE], {
      RALPH_HOME: `${DATA_MOUNT}/home`,
      RALPH_TERMINATION_LOG: '/tmp/termination-log',
      // As in the other tests' runners: every RPC result is checked against the method table.
      RALPH_CHECK_RESULTS: '1',
    });
    // Its socket is in the data folder, reachable from here: the rendered screen (the screen worker, unbundled,
    // with @xterm/headless from the image) shows the agent at its gate; then the gate is opened. The socket's
    // folder is the ralph user's, which ralph's own dial does not trust from root: a plain connection instead.
    const ended = (): boolean => running.exitCode !== null || running.signalCode !== null;
    let run: Awaited<typeof running>;
    try {
      await waitFor(() => existsSync(prepared.session.address) || ended(), 'the socket');
      if (!existsSync(prepared.session.address)) {
        const early = await running;
        throw new Error(`the runner ended early (${early.exitCode}): ${early.stderr}\n${readRunnerLog()}`);
      }
      const socket = await waitFor(() => dial(prepared.session.address), 'a connection to the runner');
      const client = new RpcClient(socket);
      try {
        const screen = await waitFor(async () => {
          const { lines } = await client.request('peek');
          return lines.some((line) => line.includes('ECHO:READY')) && lines;
        }, 'the agent at its gate on the rendered screen');
        expect(screen.join('\n')).toContain('hello from the image');
        await client.request('set_interactive_mode', { enabled: true });
        await client.request('write_pty', { data: 'go\r' });
      } finally {
        client.close();
      }
      run = await within(running, 'the runner to end the loop and exit', 30_000);
    } finally {
      // Killing unshare takes its namespace's first process, and with it every process in the namespace.
      if (!ended()) running.kill('SIGKILL');
      await running;
    }
    expect(run.exitCode, `${run.stderr}\n${readRunnerLog()}`).toBe(0);
    expect(run.stderr).toBe('');
    expect(JSON.parse(readFileSync(join(rootfs, 'tmp', 'termination-log'), 'utf8'))).toEqual({
      status: 'completed',
      exitReason: 'all stories pass',
      iteration: 1,
    });
    const registry = Registry.open(paths.registryFile);
    try {
      expect(registry.get(prepared.session.id)).toMatchObject({ status: 'completed', iteration: 1 });
    } finally {
      registry.close();
    }
    const output = readFileSync(join(prepared.launch.dir, 'output.log'), 'utf8');
    expect(output).toContain('hello from the image');
    expect(output).toContain(`ENV:HOME=${DATA_MOUNT}`);
    expect(output).toContain('ECHO:DONE');
    expect(JSON.parse(readFileSync(join(taskDir, 'prd.json'), 'utf8'))).toMatchObject({
      userStories: [{ id: 'US-001', passes: true }],
    });
    // The agent ran as the ralph user: what it wrote is the ralph user's.
    expect(statSync(join(taskDir, 'prd.json')).uid).toBe(RALPH_ID);
  });
});

/** A connection to a Unix socket, or null when it is not listening yet (bound a moment before it listens). */
function dial(path: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const failed = (): void => {
      socket.destroy();
      resolve(null);
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      socket.off('error', failed);
      resolve(socket);
    });
  });
}

/** chown -R, not following links. */
function chownTree(path: string, id: number): void {
  lchownSync(path, id, id);
  if (!statSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), id);
}
