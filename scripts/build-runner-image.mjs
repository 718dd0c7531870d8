// Builds the runner image for Kubernetes without a container engine or a registry: the root file system is put
// together from files on this machine (the Node binary and the shared libraries it and the native addons need,
// the built dist/, the few packages the runner loads from node_modules), written as one layer, and packed as an
// OCI image layout in a tar file that `ctr images import` loads. See docs/runner-image.md.
//
//   node scripts/build-runner-image.mjs [--out FILE] [--tag NAME:TAG] [--node PATH] [--git PATH | --no-git]
//                                       [--daemon] [--extra DIR:DEST ...]
//
// - --daemon builds the daemon's image instead (docs/kubernetes.md, deploy/kubernetes/daemon.yaml): the same
//   files plus the packages the daemon loads (the Kubernetes client, ws), entry `ralph daemon`.
// - Run `npm run build` first: the image carries dist/ as it is.
// - The tar files are written here, not by the system tar: every entry's owner comes from a rule (root, and the
//   ralph user for its home folder), so no root is needed to build, and the output is the same on every machine
//   for the same inputs (sorted entries, time 0, numeric owners, no user names).
// - Shared libraries come from `ldd`, so --node must be a binary this machine can run.
// - git (this machine's, or --git PATH; --no-git leaves it out) goes in as /usr/bin/git: agents commit with it,
//   and the daemon takes a loop's commits home as a git bundle made in the pod.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const USAGE =
  'usage: node scripts/build-runner-image.mjs [--out FILE] [--tag NAME:TAG] [--node PATH] [--git PATH | --no-git] ' +
  '[--daemon] [--extra DIR:DEST ...]';

/** The user the runner runs as: the uid distroless images use for "nonroot". */
const RALPH_ID = 65532;
const RALPH_HOME = '/var/lib/ralph';
const NODE_PATH = '/usr/local/bin/node';
const GIT_PATH = '/usr/bin/git';
const GIT_EXEC_PATH = '/usr/lib/git-core';
const GIT_TEMPLATES = '/usr/share/git-core/templates';
/** The names git answers to (git looks at the name it was run by). */
const GIT_NAMES = ['git', 'git-upload-pack', 'git-receive-pack', 'git-upload-archive'];
/** The bundled runner (scripts/bundle.mjs); its one argument is the launch file (src/loop/runner-entry.ts). */
const RUNNER = '/app/dist/cli/runner.js';
/** The bundled CLI: the daemon's image runs `ralph daemon`. */
const MAIN = '/app/dist/cli/main.js';

/** Modes and owners that differ from the defaults (folders 0755, files 0644 or 0755, owner root). */
const SPECIAL = new Map([
  ['tmp', { mode: 0o1777 }],
  [RALPH_HOME.slice(1), { mode: 0o755, uid: RALPH_ID, gid: RALPH_ID }],
]);

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

/** process.arch to the architecture names of the OCI image spec (Go's GOARCH). */
const OCI_ARCH = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

const log = (line) => console.log(`build-runner-image: ${line}`);
// Progress lines to a reader that went away (`| head`) must not stop the build before it cleans up.
process.stdout.on('error', () => undefined);

/** A failure the user can act on: its message is printed alone, and the temporary folder still goes. */
class BuildError extends Error {}

function fail(message) {
  throw new BuildError(message);
}

function parseOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        out: { type: 'string' },
        tag: { type: 'string' },
        node: { type: 'string' },
        git: { type: 'string' },
        'no-git': { type: 'boolean' },
        daemon: { type: 'boolean' },
        extra: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    fail(`${err.message}\n${USAGE}`);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const daemon = parsed.daemon === true;
  const tag = parsed.tag ?? `${daemon ? 'ralph-daemon' : 'ralph-runner'}:${PACKAGE.version}`;
  const extras = (parsed.extra ?? []).map((spec) => {
    const colon = spec.lastIndexOf(':');
    const dir = colon > 0 ? spec.slice(0, colon) : '';
    const dest = colon > 0 ? spec.slice(colon + 1) : '';
    if (dir === '' || !posix.isAbsolute(dest) || dest.split('/').includes('..')) {
      fail(`--extra ${spec}: expected DIR:DEST, DEST an absolute path in the image\n${USAGE}`);
    }
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
      fail(`--extra ${spec}: ${dir} is not a folder`);
    return { dir: resolve(dir), dest: posix.normalize(dest) };
  });
  if (parsed.git !== undefined && parsed['no-git']) fail(`--git and --no-git together\n${USAGE}`);
  let git = null;
  if (parsed.git !== undefined) {
    if (!statSync(parsed.git, { throwIfNoEntry: false })?.isFile()) fail(`--git ${parsed.git}: not a file`);
    git = resolve(parsed.git);
  } else if (!parsed['no-git']) {
    git = onPath('git');
    if (git === null) fail('no git on PATH: give --git PATH, or --no-git for an image without it');
  }
  return {
    out: resolve(
      parsed.out ?? join(ROOT, 'images', daemon ? 'ralph-daemon.oci.tar' : 'ralph-runner.oci.tar'),
    ),
    daemon,
    git,
    tag,
    imageName: fullImageName(tag),
    node: resolve(parsed.node ?? process.execPath),
    extras,
  };
}

/** The first executable `name` on PATH, or null. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const file = join(dir, name);
    const st = statSync(file, { throwIfNoEntry: false });
    if (st?.isFile() && (st.mode & 0o111) !== 0) return file;
  }
  return null;
}

/**
 * The name containerd stores an image under: a registry host first (docker.io when the name has none),
 * `library/` for a one-part Docker Hub name, `:latest` when no tag is given.
 */
function fullImageName(tag) {
  const colon = tag.lastIndexOf(':');
  const [name, version] =
    colon > tag.lastIndexOf('/') ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, 'latest'];
  if (!/^[a-z0-9](?:[a-z0-9._\-/:]*[a-z0-9])?$/.test(name) || !/^\w[\w.-]{0,127}$/.test(version)) {
    fail(`--tag ${tag}: not an image name (NAME[:TAG], NAME in lower case)`);
  }
  const slash = name.indexOf('/');
  const head = slash < 0 ? '' : name.slice(0, slash);
  const hasHost = head === 'localhost' || /[.:]/.test(head);
  const full = hasHost ? name : `docker.io/${slash < 0 ? `library/${name}` : name}`;
  return `${full}:${version}`;
}

/** What the image's Node is: its version decides the SQLite package (src/registry/sqlite.ts). */
function describeNode(node) {
  const r = spawnSync(node, ['-p', 'process.versions.node + " " + process.arch'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    fail(`cannot run ${node} (${(r.error?.message ?? r.stderr).trim()}): --node must run on this machine`);
  }
  const [version = '', arch = ''] = r.stdout.trim().split(' ');
  return { version, major: Number(version.split('.')[0]), arch };
}

/**
 * The shared libraries a binary or addon loads, as ldd names them (the dynamic loader at the exact path the
 * binary asks for). The vDSO has no file: the kernel maps it.
 */
function sharedLibraries(file) {
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (r.error) fail(`ldd ${file}: ${r.error.message}`);
  if (/not a dynamic executable|statically linked/.test(r.stdout + r.stderr)) return [];
  if (r.status !== 0) fail(`ldd ${file} failed: ${r.stderr.trim()}`);
  const libraries = [];
  for (const line of r.stdout.split('\n').map((l) => l.trim())) {
    const missing = /^(\S+) => not found/.exec(line);
    if (missing) fail(`${file} needs ${missing[1]}, which ldd cannot find`);
    const found = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line) ?? /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (found?.[1]) libraries.push(found[1]);
  }
  return libraries;
}

/**
 * The packages the runner loads from node_modules at run time (all else is in its bundle), and the files it
 * reads of each:
 * - node-pty: an external of the bundle (scripts/bundle.mjs); the agents run in its PTYs. Its loader looks for
 *   the addon in build/Release, build/Debug, then prebuilds/; spawn-helper sits beside it where it is built.
 * - @xterm/headless: the screen worker (dist/src/loop/screen-worker.js) runs unbundled and imports it.
 * - the SQLite package this Node uses: src/registry/sqlite.ts resolves it (package.json and its main file) and
 *   loads the addon by path; its JavaScript is in the bundle. The other package is never loaded.
 */
function runtimePackages(target, musl) {
  const ptyDir = ['build/Release', 'build/Debug', `prebuilds/linux-${target.arch}`].find((dir) =>
    existsSync(join(ROOT, 'node_modules', 'node-pty', dir, 'pty.node')),
  );
  if (ptyDir === undefined) fail('node_modules/node-pty has no pty.node: run npm ci');
  const sqlite = target.major >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';
  const built = 'build/Release/better_sqlite3.node';
  const sqliteAddon =
    sqlite === 'better-sqlite3-napi' && !existsSync(join(ROOT, 'node_modules', sqlite, built))
      ? `prebuilds/${musl ? 'linuxmusl' : 'linux'}-${target.arch}.node`
      : built;
  return [
    {
      name: 'node-pty',
      files: ['package.json', 'LICENSE', 'lib'],
      addons: [`${ptyDir}/pty.node`, `${ptyDir}/spawn-helper?`],
    },
    {
      name: '@xterm/headless',
      files: ['package.json', 'LICENSE?', 'lib-headless/xterm-headless.js'],
      addons: [],
    },
    { name: sqlite, files: ['package.json', 'LICENSE', 'lib'], addons: [sqliteAddon] },
  ];
}

/** The packages the daemon loads from node_modules besides the runner's: the bundle's externals it uses, and
 * libsodium (src/ziti/crypto/sodium.ts loads it with require, for the OpenZiti service's end-to-end encryption). */
const DAEMON_ROOTS = ['@kubernetes/client-node', 'ws', 'libsodium-wrappers'];

/**
 * Every package `roots` need, by their dependencies (optional ones when installed), as npm laid them out: a
 * package's dependency is looked for in its own node_modules first, then up the tree.
 */
function packageClosure(roots) {
  const found = new Map();
  const locate = (name, fromDir) => {
    for (let dir = fromDir; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', ...name.split('/'));
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (dir === ROOT || dir === dirname(dir)) return null;
    }
  };
  const visit = (name, fromDir, optional) => {
    const dir = locate(name, fromDir);
    if (dir === null) {
      if (optional) return;
      fail(`node_modules has no ${name}: run npm ci`);
    }
    if (found.has(dir)) return;
    found.set(dir, name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const root of roots) visit(root, ROOT, false);
  return [...found.keys()].sort();
}

/** Copies whole packages (their installed folders, without dev files) to the same places under <stage>/app. */
function stageClosure(stage, dirs) {
  for (const dir of dirs) {
    const rel = relative(ROOT, dir);
    copyInto(
      dir,
      join(stage, 'app', rel),
      (src) => !DEV_FILE.test(src) && !src.startsWith(join(dir, 'node_modules')),
    );
  }
  log(`daemon packages: ${dirs.length} (${DAEMON_ROOTS.join(', ')} and what they need)`);
}

/** Source maps, tests and type declarations: nothing the runner reads. */
const DEV_FILE = /(\.map|\.test\.js|\.d\.ts)$/;

/**
 * Copies a file (its content when it is a symbolic link), or a folder, creating the parents. Links inside a
 * folder stay links with their targets as written (cpSync would make relative targets absolute host paths).
 */
function copyInto(from, to, filter = () => true) {
  mkdirSync(dirname(to), { recursive: true });
  if (statSync(from).isDirectory()) {
    cpSync(from, to, { recursive: true, verbatimSymlinks: true, filter });
  } else {
    copyFileSync(from, to);
  }
}

/** Copies the packages' files into <stage>/app/node_modules; returns the addons' paths in the stage. */
function stagePackages(stage, packages) {
  const addons = [];
  for (const pkg of packages) {
    const from = join(ROOT, 'node_modules', ...pkg.name.split('/'));
    const to = join(stage, 'app', 'node_modules', ...pkg.name.split('/'));
    if (!existsSync(join(from, 'package.json'))) fail(`node_modules/${pkg.name} is missing: run npm ci`);
    // A name ending in '?' is copied when the package has it.
    const want = (rel) => ({ rel: rel.replace(/\?$/, ''), optional: rel.endsWith('?') });
    const copied = [];
    for (const [list, isAddon] of [
      [pkg.files, false],
      [pkg.addons, true],
    ]) {
      for (const { rel, optional } of list.map(want)) {
        if (!existsSync(join(from, rel))) {
          if (optional) continue;
          fail(
            `node_modules/${pkg.name}/${rel} is missing: run npm ci${isAddon ? ` or npm rebuild ${pkg.name}` : ''}`,
          );
        }
        copyInto(join(from, rel), join(to, rel), (src) => !DEV_FILE.test(src));
        if (isAddon) addons.push(join(to, rel));
        copied.push(rel);
      }
    }
    log(`node_modules/${pkg.name}: ${copied.join(' ')}`);
  }
  return addons;
}

/** The image's folders and the ralph user, with the launch file's mount point (/etc/ralph). */
function stageSystemFiles(stage) {
  for (const dir of ['etc/ralph', 'tmp', RALPH_HOME.slice(1)])
    mkdirSync(join(stage, dir), { recursive: true });
  writeFileSync(
    join(stage, 'etc', 'passwd'),
    `root:x:0:0:root:/root:/sbin/nologin\nralph:x:${RALPH_ID}:${RALPH_ID}:ralph:${RALPH_HOME}:/sbin/nologin\n`,
  );
  writeFileSync(join(stage, 'etc', 'group'), `root:x:0:\nralph:x:${RALPH_ID}:\n`);
}

/** Image tarballs (an --out inside dist/, say) are never part of the next image. */
const isTarball = (path, out) => path === out || /\.oci\.tar(\.partial)?$/.test(path);

/** The files of a folder with their sizes and times: two equal listings mean nothing changed in between. */
function fingerprint(dir, out) {
  const lines = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (isTarball(path, out)) continue;
      const st = lstatSync(path);
      lines.push(`${relative(dir, path)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return lines.join('\n');
}

/** Relative imports of the bundled entries and chunks in dist/cli that name no file there. */
function missingChunks(cliDir) {
  const missing = [];
  for (const name of readdirSync(cliDir).filter((n) => n.endsWith('.js'))) {
    const code = readFileSync(join(cliDir, name), 'utf8');
    for (const [, target] of code.matchAll(/(?:from\s*|import\(\s*)['"](\.\/[^'"]+\.js)['"]/g)) {
      if (!existsSync(join(cliDir, target))) missing.push(`${name} -> ${target}`);
    }
  }
  return missing;
}

/**
 * The built dist/, copied while no build writes it: a build running meanwhile (the test suite rebuilds a stale
 * dist/) would leave a runner whose chunks are gone, so the copy is taken again until dist/ stays the same
 * through it, and its bundles must find every chunk they import.
 */
async function stageDist(stage, out) {
  const dist = join(ROOT, 'dist');
  const to = join(stage, 'app', 'dist');
  if (!existsSync(join(dist, 'cli', 'runner.js')))
    fail('dist/cli/runner.js is missing: run `npm run build` first');
  for (let attempt = 1; ; attempt++) {
    const before = fingerprint(dist, out);
    rmSync(to, { recursive: true, force: true });
    copyInto(dist, to, (src) => !isTarball(src, out));
    const missing = missingChunks(join(to, 'cli'));
    if (fingerprint(dist, out) === before && missing.length === 0) break;
    if (attempt === 5) {
      fail(
        `dist/ keeps changing or is incomplete (${missing.join(', ') || 'changed while copied'}): run \`npm run build\``,
      );
    }
    log('dist/ changed while it was copied (a build running?); copying it again');
    await new Promise((done) => setTimeout(done, 2000 * attempt));
  }
  // "type": "module" makes Node read dist/'s .js files as ES modules; name and version are ralph's version.
  const { name, version, description, license, engines } = PACKAGE;
  const pkg = { name, version, description, type: 'module', license, engines };
  writeFileSync(join(stage, 'app', 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
}

const byPath = (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Every entry below `stage`, sorted by path (a folder before what it holds). */
function listTree(stage) {
  const entries = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const source = join(dir, name);
      const path = relative(stage, source).split(sep).join('/');
      const st = lstatSync(source);
      const special = SPECIAL.get(path);
      const uid = special?.uid ?? 0;
      const gid = special?.gid ?? 0;
      if (st.isDirectory()) {
        entries.push({ path, type: 'dir', mode: special?.mode ?? 0o755, uid, gid });
        walk(source);
      } else if (st.isSymbolicLink()) {
        entries.push({ path, type: 'symlink', mode: 0o777, uid, gid, target: readlinkSync(source) });
      } else if (st.isFile()) {
        const mode = special?.mode ?? (st.mode & 0o111 ? 0o755 : 0o644);
        entries.push({ path, type: 'file', mode, uid, gid, size: st.size, source });
      } else {
        fail(`${source}: only files, folders and symbolic links can go into the image`);
      }
    }
  };
  walk(stage);
  return entries.sort(byPath);
}

// ---- tar (POSIX ustar, with PAX records for what ustar cannot hold) ----

const BLOCK = 512;
const TYPE = { file: '0', symlink: '2', dir: '5', pax: 'x' };

function octal(value, width) {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`${value} does not fit a ${width}-byte tar field`);
  return `${digits.padStart(width - 1, '0')}\0`;
}

function ustarHeader({ name, mode, uid, gid, size, type, linkname = '' }) {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(uid, 8), 108, 'ascii');
  h.write(octal(gid, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write(' '.repeat(8), 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257, 'ascii');
  h.write(octal(0, 8), 329, 'ascii');
  h.write(octal(0, 8), 337, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${octal(sum, 7)} `, 148, 'ascii');
  return h;
}

/** A PAX record `<length> <key>=<value>\n`, its length counting its own digits. */
function paxRecord(key, value) {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  let length = bodyBytes;
  while (String(length).length + bodyBytes !== length) length = String(length).length + bodyBytes;
  return `${length}${body}`;
}

const padding = (size) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
const fitsUstar = (text) => Buffer.byteLength(text) <= 100 && /^[\x20-\x7e]*$/.test(text);

/** The header blocks of one entry: a PAX header first when its path or link target is long or not ASCII. */
function headerBlocks(entry) {
  const name = entry.type === 'dir' ? `${entry.path}/` : entry.path;
  const size = entry.type === 'file' ? entry.size : 0;
  const linkname = entry.target ?? '';
  const records = [];
  if (!fitsUstar(name)) records.push(paxRecord('path', name));
  if (!fitsUstar(linkname)) records.push(paxRecord('linkpath', linkname));
  const blocks = [];
  if (records.length > 0) {
    const body = Buffer.from(records.join(''), 'utf8');
    const paxName = `PaxHeaders/${posix.basename(name).slice(0, 80)}`;
    blocks.push(
      ustarHeader({ name: paxName, mode: 0o644, uid: 0, gid: 0, size: body.length, type: TYPE.pax }),
    );
    blocks.push(body, padding(body.length));
  }
  // The ustar fields get a stand-in that fits; readers take the PAX record's value.
  const short = (text) => (fitsUstar(text) ? text : text.replace(/[^\x20-\x7e]/g, '_').slice(-100));
  blocks.push(
    ustarHeader({ ...entry, name: short(name), size, type: TYPE[entry.type], linkname: short(linkname) }),
  );
  return blocks;
}

/** The archive of `entries`, as chunks; a file's content is read from `source`, or is `data`. */
async function* tarChunks(entries) {
  const chunk = Buffer.alloc(1 << 20);
  for (const entry of entries) {
    yield* headerBlocks(entry);
    if (entry.type !== 'file') continue;
    if (entry.data !== undefined) {
      yield entry.data;
    } else {
      const file = await open(entry.source, 'r');
      try {
        let left = entry.size;
        while (left > 0) {
          const { bytesRead } = await file.read(chunk, 0, Math.min(chunk.length, left), null);
          if (bytesRead === 0) throw new Error(`${entry.source} shrank while it was read`);
          left -= bytesRead;
          yield Buffer.from(chunk.subarray(0, bytesRead));
        }
      } finally {
        await file.close();
      }
    }
    yield padding(entry.size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** A pass-through stream that hashes and counts what goes through it. */
function digester() {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(data, _encoding, done) {
      hash.update(data);
      size += data.length;
      done(null, data);
    },
  });
  return { stream, result: () => ({ digest: `sha256:${hash.digest('hex')}`, size }) };
}

/** Writes the layer (tar, gzip) to `file`; returns its digest and size, and the uncompressed tar's digest. */
async function writeLayer(entries, file) {
  const plain = digester();
  const packed = digester();
  await pipeline(
    tarChunks(entries),
    plain.stream,
    createGzip({ level: 9 }),
    packed.stream,
    createWriteStream(file),
  );
  return { ...packed.result(), diffId: plain.result().digest };
}

// ---- the OCI image layout ----

function jsonBlob(value) {
  const data = Buffer.from(JSON.stringify(value));
  return { data, digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length };
}

async function main() {
  const options = parseOptions();
  const target = describeNode(options.node);
  const architecture = OCI_ARCH[target.arch] ?? target.arch;
  log(`node ${options.node} (v${target.version}, ${architecture}) as ${NODE_PATH}`);
  const work = mkdtempSync(join(tmpdir(), 'ralph-image-'));
  try {
    const stage = join(work, 'rootfs');
    mkdirSync(stage);
    copyInto(options.node, join(stage, NODE_PATH));
    chmodSync(join(stage, NODE_PATH), 0o755);

    const nodeLibraries = sharedLibraries(options.node);
    const musl = nodeLibraries.some((lib) => /\/ld-musl-/.test(lib));
    const addons = stagePackages(stage, runtimePackages(target, musl));
    const binaries = [options.node, ...addons];
    if (options.git !== null) {
      copyInto(options.git, join(stage, GIT_PATH));
      chmodSync(join(stage, GIT_PATH), 0o755);
      mkdirSync(join(stage, GIT_EXEC_PATH), { recursive: true });
      // git runs its helpers from its exec path, and a clone runs git-upload-pack by that name: all are git.
      for (const name of GIT_NAMES) symlinkSync(GIT_PATH, join(stage, GIT_EXEC_PATH, name));
      for (const name of GIT_NAMES.slice(1)) symlinkSync('git', join(stage, dirname(GIT_PATH), name));
      // Where `git init` looks for templates: empty, so that it copies none and does not warn.
      mkdirSync(join(stage, GIT_TEMPLATES), { recursive: true });
      binaries.push(options.git);
      log(`git ${options.git} as ${GIT_PATH}`);
    }
    const libraries = [...new Set(binaries.flatMap(sharedLibraries))].sort();
    for (const lib of libraries) copyInto(lib, join(stage, lib));
    log(`shared libraries: ${libraries.join(' ')}`);

    if (options.daemon) stageClosure(stage, packageClosure(DAEMON_ROOTS));
    await stageDist(stage, options.out);
    log(`app: ${RUNNER} and the rest of dist/, package.json`);
    stageSystemFiles(stage);
    for (const extra of options.extras) {
      copyInto(extra.dir, join(stage, extra.dest));
      log(`extra: ${extra.dir} as ${extra.dest}`);
    }

    const entries = listTree(stage);
    const layout = join(work, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const layerFile = join(layout, 'layer.tar.gz');
    const unpacked = entries.reduce((sum, e) => sum + (e.size ?? 0), 0);
    log(`writing the layer: ${entries.length} entries, ${mib(unpacked)} of files`);
    const layer = await writeLayer(entries, layerFile);
    renameSync(layerFile, join(layout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length)));
    log(`layer ${layer.digest} (${mib(layer.size)} gzip), diff_id ${layer.diffId}`);

    const config = jsonBlob({
      architecture,
      os: 'linux',
      config: {
        User: `${RALPH_ID}:${RALPH_ID}`,
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
        Entrypoint: options.daemon ? [NODE_PATH, MAIN, 'daemon'] : [NODE_PATH, RUNNER],
        WorkingDir: RALPH_HOME,
        Labels: {
          'org.opencontainers.image.title': options.daemon ? 'ralph-daemon' : 'ralph-runner',
          'org.opencontainers.image.version': PACKAGE.version,
        },
      },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    });
    const manifest = jsonBlob({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, digest: config.digest, size: config.size },
      layers: [{ mediaType: MEDIA.layer, digest: layer.digest, size: layer.size }],
    });
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: [
        {
          mediaType: MEDIA.manifest,
          digest: manifest.digest,
          size: manifest.size,
          platform: { architecture, os: 'linux' },
          annotations: {
            // containerd names an imported image by this (`ctr images import`), other tools by the OCI one.
            'io.containerd.image.name': options.imageName,
            'org.opencontainers.image.ref.name': options.tag,
          },
        },
      ],
    };

    const hex = (digest) => digest.slice('sha256:'.length);
    const entry = { type: 'file', mode: 0o644, uid: 0, gid: 0 };
    const file = (path, data) => ({ ...entry, path, size: data.length, data });
    const blob = (b) => file(`blobs/sha256/${hex(b.digest)}`, b.data);
    const dir = (path) => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    const layerPath = `blobs/sha256/${hex(layer.digest)}`;
    const archive = [
      dir('blobs'),
      dir('blobs/sha256'),
      blob(config),
      blob(manifest),
      { ...entry, path: layerPath, size: layer.size, source: join(layout, layerPath) },
      file('index.json', Buffer.from(JSON.stringify(index))),
      file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }))),
    ].sort(byPath);

    mkdirSync(dirname(options.out), { recursive: true });
    const partial = `${options.out}.partial`;
    await pipeline(tarChunks(archive), createWriteStream(partial));
    renameSync(partial, options.out);
    log(`wrote ${options.out} (${mib(statSync(options.out).size)})`);
    log(`image ${options.imageName} digest ${manifest.digest}`);
    log(`load it with: ctr -n k8s.io images import ${options.out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const mib = (bytes) => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

try {
  await main();
} catch (err) {
  console.error(`build-runner-image: ${err instanceof BuildError ? err.message : err.stack}`);
  process.exitCode = 1;
}
