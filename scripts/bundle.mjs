// Bundles the CLI entry with esbuild after tsc has written dist/: dist/cli/main.js becomes one small entry
// module plus chunks that the commands load with import() when they run. Resolving hundreds of separate ESM
// modules one by one is most of `ralph status`'s start-up; a bundle resolves a handful. rollup then merges
// esbuild's many small chunks (see MIN_CHUNK_BYTES); esbuild has no setting for that.
//
// - The runner is bundled too (dist/cli/runner.js): one module graph per loop costs memory in every runner.
// - Every file stays where tsc put it too: the screen worker and the demo agent run from there (and the runner
//   when no bundle was built), and the bundled code finds them through the original files' locations (see
//   `fileUrlPlugin`).
// - Node's built-in modules are read with process.getBuiltinModule() instead of `import`: importing a
//   built-in as ESM builds a facade that reads every export, and reading some of them (util.TextDecoder,
//   fs.ReadStream, ...) loads more of Node; that was a third of the start-up cost on Node 24.
// - Native modules stay in node_modules, loaded by Node: node-pty whole, better-sqlite3's addon only.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { rollup } from 'rollup';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = join(ROOT, 'dist', 'cli');
/**
 * esbuild writes its bundle here first, beside dist/cli so that paths relative to a chunk (`../src/...`,
 * node_modules) mean the same from both; rollup then writes the final chunks into dist/cli.
 */
const STAGE_DIR = join(ROOT, 'dist', 'cli-stage');
/**
 * Chunks smaller than this are merged into a chunk that is loaded anyway. esbuild splits code into one chunk
 * per combination of commands that share it, so `ralph status` loaded 36 modules (most under 1 KB), each
 * resolved, read, compiled and linked by itself; merged it loads 12.
 */
const MIN_CHUNK_BYTES = 20_000;
const ENTRIES = ['main', 'status-entry', 'git-remote-ralph', 'runner'];
/** Chunk files start with this prefix; old ones are removed before a build so dist/ does not collect them. */
const CHUNK_PREFIX = 'chunk-';
/**
 * Packages with compiled code, or loaded only in development, that Node must load from node_modules (the
 * SQLite packages' JavaScript is bundled: src/registry/sqlite.ts loads their addon itself); and ws
 * (only `ralph web` loads it), whose classes extend Node's EventEmitter, which the built-in shim below cannot
 * hand out as a class; and @kubernetes/client-node (only a daemon with the Kubernetes executor loads it), whose
 * HTTP agents extend Node's http.Agent, the same way.
 */
const EXTERNAL = ['node-pty', 'react-devtools-core', 'ws', '@kubernetes/client-node'];

/** Packages ralph depends on directly: the ones import.meta.resolve finds from dist/cli in every install. */
const DIRECT = new Set(
  Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).dependencies),
);

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * `import { x } from 'node:fs'` becomes a read of process.getBuiltinModule('node:fs'), made on first use: a
 * module that imports a built-in it needs only on some paths (yargs and node:assert, the registry probe and
 * node:net) no longer loads it on every start. Names are looked up through the prototype, so the shim needs
 * no list of a built-in's exports (which differ between Node versions); Node's built-in functions do not
 * depend on `this`, they are meant to be destructured.
 */
const builtinPlugin = {
  name: 'builtin-modules',
  setup(b) {
    b.onResolve({ filter: /^[a-z0-9_:/]+$/ }, (args) =>
      BUILTINS.has(args.path) ? { path: args.path.replace(/^node:/, ''), namespace: 'builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: [
        'let loaded;',
        `const load = () => (loaded ??= process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)}));`,
        'module.exports = Object.create(',
        '  new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() }),',
        ');',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * A bundled module's import.meta.url is its chunk's URL, not its own. Modules that find files next to
 * themselves get their own file's URL back, so those paths resolve as they do unbundled:
 * - ours (the runner entry, the screen worker, native bindings through createRequire): the file tsc wrote
 *   for them, at the same place relative to the chunks in every install;
 * - a package's (yargs finds its locales and the package.json that names ralph's version that way): the
 *   file in node_modules, found at run time from the package's entry with import.meta.resolve, because where
 *   node_modules is depends on the install.
 */
const fileUrlPlugin = {
  name: 'file-url',
  setup(b) {
    b.onLoad({ filter: /\.(tsx?|m?js)$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const loader = /\.tsx?$/.test(args.path) ? (args.path.endsWith('x') ? 'tsx' : 'ts') : 'js';
      const packageDir = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(args.path)?.[1];
      let url;
      if (packageDir !== undefined && !DIRECT.has(packageName(packageDir))) {
        // A dependency of a dependency may not be reachable from dist/cli; its chunk's URL has to do (only
        // yoga-layout has one, unused: its WebAssembly is inlined).
        return undefined;
      } else if (packageDir === undefined) {
        const emitted = join(ROOT, 'dist', relative(ROOT, args.path)).replace(/\.tsx?$/, '.js');
        url = `new URL(${JSON.stringify(posix(relative(OUT_DIR, emitted)))}, import.meta.url).href`;
      } else {
        const name = packageName(packageDir);
        const entry = await b.resolve(name, { kind: 'import-statement', resolveDir: ROOT });
        if (entry.errors.length > 0) throw new Error(`cannot resolve ${name} for ${args.path}`);
        const fromEntry = posix(relative(dirname(entry.path), args.path));
        url = `new URL(${JSON.stringify(fromEntry)}, import.meta.resolve(${JSON.stringify(name)})).href`;
      }
      return { contents: source.replaceAll('import.meta.url', url), loader, resolveDir: dirname(args.path) };
    });
  },
};

/**
 * zod's own error messages come in some fifty languages, one module each, and its main module imports them
 * all; ralph sets none but the English one zod starts with, so every process that validates carried the
 * other languages' code for nothing (a third of a megabyte of source in each runner). The bundle keeps
 * English only: `z.locales` has `en` and nothing else.
 */
const zodEnglishOnlyPlugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';",
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * V8 keeps each module's source for as long as the module lives (functions are compiled from it when first
 * called), one byte per character if every character is Latin-1 and two bytes otherwise: one em dash in a
 * comment doubled the runner's 1.4 MB of source in every runner. esbuild writes strings, templates, regular
 * expressions and names in ASCII (its default charset) but copies comments as they are; this escapes what
 * is left, which is in comments.
 */
const asciiOnlyPlugin = {
  name: 'ascii-only',
  renderChunk: (code) => ({
    code: code.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`),
    map: null,
  }),
};

const packageName = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;

const posix = (path) => {
  const p = path.split(sep).join('/');
  return p.startsWith('.') ? p : `./${p}`;
};

function removeOldChunks() {
  if (!existsSync(OUT_DIR)) return;
  for (const name of readdirSync(OUT_DIR)) {
    if (name.startsWith(CHUNK_PREFIX) && name.endsWith('.js')) rmSync(join(OUT_DIR, name));
  }
}

export async function bundleCli() {
  removeOldChunks();
  rmSync(STAGE_DIR, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: {
      main: join(ROOT, 'cli', 'main.ts'),
      // Plain `ralph status`, the command typed most: its code in a few files of its own (cli/status-entry.ts).
      'status-entry': join(ROOT, 'cli', 'status-entry.ts'),
      // git runs it for ralph:: addresses.
      'git-remote-ralph': join(ROOT, 'cli', 'git-remote-ralph.ts'),
      // Every loop's runner: a box running many loops pays its module graph once per loop, in memory.
      runner: join(ROOT, 'src', 'loop', 'runner-entry.ts'),
    },
    outdir: STAGE_DIR,
    chunkNames: 'part-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    tsconfig: join(ROOT, 'tsconfig.build.json'),
    external: EXTERNAL,
    // React (in the TUI's chunk) picks its production build by this; its development build checks every
    // element and keeps a debug record per fiber, several times the CPU and memory per frame.
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [zodEnglishOnlyPlugin, builtinPlugin, fileUrlPlugin],
    legalComments: 'none',
    logLevel: 'warning',
    // Keep the shebang of cli/main.ts; nothing else is added.
  });
  // The entries run as separate processes: each gets chunks of its own, so none loads a chunk cut
  // where another entry's code begins. Chunks with the same content get the same name and are written once.
  for (const name of ENTRIES) await rechunk(name);
  rmSync(STAGE_DIR, { recursive: true, force: true });
  return dirname(OUT_DIR);
}

/** Re-chunks one entry of esbuild's output with rollup, merging small chunks (nothing else changes). */
async function rechunk(name) {
  const bundle = await rollup({
    input: { [name]: join(STAGE_DIR, `${name}.js`) },
    // Plain `ralph status` is one file: the code its entry shares with the chunks it may load later stays in
    // the entry (which exports it to them), not in a chunk of its own behind an entry that only re-exports it
    // (what rollup does by default for an entry with exports of its own; the others have none).
    ...(name === 'status-entry' ? { preserveEntrySignatures: 'allow-extension' } : {}),
    // esbuild's output imports only its own chunks by relative path; anything else is a package Node loads.
    external: (id) => !id.startsWith('.') && !isAbsolute(id),
    // The code is already bundled: keep every statement and every module's side effects, in order.
    treeshake: false,
    plugins: [asciiOnlyPlugin],
    logLevel: 'warn',
    onwarn: (warning) => {
      // esbuild's chunks import each other in cycles (its runtime helpers), which ES modules allow.
      if (warning.code === 'CIRCULAR_DEPENDENCY') return;
      throw new Error(`rollup: ${warning.message}`);
    },
  });
  try {
    await bundle.write({
      dir: OUT_DIR,
      format: 'es',
      entryFileNames: '[name].js',
      chunkFileNames: `${CHUNK_PREFIX}[hash].js`,
      hashCharacters: 'base36',
      experimentalMinChunkSize: MIN_CHUNK_BYTES,
    });
  } finally {
    await bundle.close();
  }
}
