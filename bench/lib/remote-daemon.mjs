/**
 * The daemon parts of bench/remote-attach.mjs: `ralph daemon` runs as "the box" (inside the network namespace
 * when there is one, with its own RALPH_HOME), "the laptop" is another RALPH_HOME in this process with the box
 * configured as a remote. (d) a loop started through the daemon and attached the way `ralph attach` does it
 * (AttachSession over connectSession: dial, hello, authenticate, open_loop); (e) the daemon's footprint with
 * many loops and watchers; (f) `ralph status` with three remotes, one unreachable.
 * Returns null from openDaemonLoop when the build has no daemon or no remote client.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  DIST,
  FIXTURE,
  importDist,
  makeTaskDir,
  ms,
  nowMs,
  removeDir,
  summarize,
  table,
  tempDir,
} from './common.mjs';
import { provisionDaemon } from '../../scripts/ziti-testnet/daemon-box.mjs';
import { markerBurst, waitText } from './remote-measure.mjs';

const CLI = join(DIST, 'cli', 'main.js');
const LOOPS = 50;
const WATCHERS = 100;
const IDLE_WINDOW_MS = 10_000;
const STATUS_RUNS = 5;

let state = null;

/** A target line for the report, printed there (not now). */
function verdictLine(lines, label, ok) {
  lines.push(`${ok ? 'PASS' : 'MISS'}  ${label}`);
  return ok ? 'PASS' : 'MISS';
}

function ralph(home, args, timeoutMs = 60_000) {
  const started = nowMs();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, RALPH_HOME: home },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: nowMs() - started };
}

function must(result, what) {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}: ${result.stdout}${result.stderr}`);
  return result;
}

export async function startDaemon({ ns }, boxHome, configFile) {
  const wrap = ns ? ['ip', 'netns', 'exec', ns.name] : [];
  const argv = [...wrap, process.execPath, CLI, 'daemon', '--config', configFile];
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, RALPH_HOME: boxHome },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d.toString()).slice(-20_000)));
  const deadline = nowMs() + 60_000;
  while (!log.includes('daemon listening')) {
    if (child.exitCode !== null) throw new Error(`the daemon exited ${child.exitCode}: ${log}`);
    if (nowMs() > deadline) throw new Error(`the daemon did not listen within 60 s: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, pid: child.pid, log: () => log };
}

/** (d) Sets the box up and returns the daemon-attached loop as a terminal (keys: echo; output: blast). */
export async function openDaemonLoop(topology, cleanups, blastArgs, programBytes, limitMs) {
  const needed = [
    'cli/commands/daemon.js',
    'src/client/remote/daemon-client.js',
    'src/client/remote/remotes.js',
  ];
  if (!needed.every((f) => existsSync(join(DIST, f)))) return null;
  const { net } = topology;
  const root = tempDir('box');
  cleanups.push(() => removeDir(root));
  const boxHome = join(root, 'box');
  const laptopHome = join(root, 'laptop');
  const workspace = join(root, 'work');
  mkdirSync(workspace, { recursive: true });
  const service = `ralph-bench-box-${process.pid}`;
  const configFile = join(root, 'daemon.jsonc');
  await provisionDaemon(net, { service, workspace, configFile, maxLoops: LOOPS + 5 });
  const daemon = await startDaemon(topology, boxHome, configFile);
  const tasks = [];
  cleanups.push(async () => {
    // In a namespace, its teardown ends every runner; otherwise stop each loop through the box's own CLI.
    if (!topology.ns) for (const task of tasks) ralph(boxHome, ['stop', task, '--force'], 30_000);
    daemon.child.kill('SIGTERM');
  });
  must(
    ralph(laptopHome, [
      'remote',
      'add',
      'box',
      '--identity',
      net.identities.client.file,
      '--service',
      service,
    ]),
    'ralph remote add',
  );
  // Wait until the daemon is bound and answers over the overlay.
  const deadline = nowMs() + 90_000;
  while (ralph(laptopHome, ['remote', 'test', 'box'], 30_000).code !== 0) {
    if (nowMs() > deadline)
      throw new Error(`the daemon did not answer over the overlay: ${daemon.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const agent = (args) => [process.execPath, FIXTURE, ...args].map((s) => JSON.stringify(s)).join(' ');
  const startLoop = (name, args) => {
    makeTaskDir(workspace, name);
    tasks.push(name);
    must(
      ralph(laptopHome, [
        'remote',
        'start-loop',
        'box',
        name,
        '--agent',
        'custom',
        '--agent-command',
        agent(args),
      ]),
      `start-loop ${name}`,
    );
  };
  startLoop('dkbd', ['echo']);
  startLoop('dblast', blastArgs);
  const { ralphPaths } = await importDist('src/config/paths.js');
  const { AttachSession } = await importDist('src/client/attach.js');
  const paths = ralphPaths({ RALPH_HOME: laptopHome });
  const open = async (task) => {
    const attach = await AttachSession.open(task, { from: 'start' }, paths);
    cleanups.push(() => attach.detach().catch(() => undefined));
    const listeners = new Set();
    attach.on('data', (chunk) => {
      for (const l of listeners) l(chunk);
    });
    const terminal = {
      name: 'daemon attach',
      send: (text) => attach.type(text),
      onData: (l) => (listeners.add(l), () => listeners.delete(l)),
      close: async () => attach.detach().catch(() => undefined),
    };
    await waitText(terminal, 'READY', 30_000, `${task} through the daemon`);
    if (!(await attach.setInteractive(true))) throw new Error(`${task}: the loop refused interactive mode`);
    return terminal;
  };
  const keys = await open('dkbd');
  const blast = await open('dblast');
  keys.burst = () => markerBurst(blast, programBytes, limitMs);
  state = { root, boxHome, laptopHome, workspace, daemon, service, agent, startLoop };
  return keys;
}

function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** A TCP listener on 127.0.0.1 that accepts and never answers: a controller that cannot be reached in time. */
/** A TCP port that accepts and never answers (a controller or router that hangs). */
export async function blackHole() {
  const sockets = new Set();
  const server = createServer((s) => sockets.add(s));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** (e) footprint with LOOPS loops and WATCHERS watchers, (f) `ralph status` with 3 remotes, one unreachable. */
export async function footprintAndStatus(topology, cleanups) {
  const { net } = topology;
  const s = state;
  const lines = [];
  const verdicts = {};
  const results = {};
  const clk = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

  // (e) Loops: the echo program, idle. Watchers: daemon connections subscribed to the event journal.
  process.stderr.write(`starting ${LOOPS} loops through the daemon ...\n`);
  const startDeadline = nowMs() + 300_000;
  let started = 2;
  for (let i = 0; started < LOOPS && nowMs() < startDeadline; i++, started++)
    s.startLoop(`idle-${i}`, ['echo']);
  const { DaemonClient } = await importDist('src/client/remote/daemon-client.js');
  const remote = { name: 'box', identity: net.identities.client.file, service: s.service };
  const watchers = [];
  cleanups.push(() => watchers.forEach((w) => w.close()));
  let events = 0;
  for (let i = 0; i < WATCHERS; i++) {
    const w = await DaemonClient.open(remote, { timeoutMs: 30_000 });
    await w.subscribeEvents(() => (events += 1));
    watchers.push(w);
  }
  await new Promise((r) => setTimeout(r, 3_000));
  const t0 = procStat(s.daemon.pid);
  const w0 = nowMs();
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  const cpu = ((procStat(s.daemon.pid) - t0) / clk / ((nowMs() - w0) / 1000)) * 100;
  const rss = rssMiB(s.daemon.pid);
  results.footprint = { loops: started, watchers: watchers.length, rssMiB: rss, idleCpuPercent: cpu };
  lines.push(
    `\ndaemon footprint: ${started} loops, ${watchers.length} watchers (subscribe_events), idle ${IDLE_WINDOW_MS / 1000} s: ` +
      `RSS ${rss.toFixed(1)} MiB, CPU ${cpu.toFixed(2)} % of one core`,
  );
  verdicts.rss = verdictLine(lines, `daemon RSS ${rss.toFixed(1)} MiB <= 150 MB`, rss * 1.048576 <= 150);
  verdicts.cpu = verdictLine(lines, `daemon idle CPU ${cpu.toFixed(2)} % < 2 %`, cpu < 2);
  for (const w of watchers.splice(0)) w.close();

  // (f) Three remotes: the box twice (two names, one daemon) and one whose controller never answers.
  const hole = await blackHole();
  cleanups.push(() => hole.close());
  const dead = JSON.parse(readFileSync(net.identities.client.file, 'utf8'));
  dead.ztAPI = `https://127.0.0.1:${hole.port}/edge/client/v1`;
  const deadFile = join(s.root, 'dead-identity.json');
  writeFileSync(deadFile, JSON.stringify(dead), { mode: 0o600 });
  const localHome = join(s.root, 'local-only');
  const reachableHome = join(s.root, 'reachable');
  const threeHome = join(s.root, 'three');
  for (const home of [reachableHome, threeHome]) {
    // `ralph status` starts a background link for each home with remotes; the bench ends the ones it caused.
    cleanups.push(() => ralph(home, ['link', 'stop'], 30_000));
    must(
      ralph(home, ['remote', 'add', 'box', '--identity', net.identities.client.file, '--service', s.service]),
      'remote add',
    );
    must(
      ralph(home, [
        'remote',
        'add',
        'box-b',
        '--identity',
        net.identities.client.file,
        '--service',
        s.service,
      ]),
      'remote add',
    );
  }
  must(
    ralph(threeHome, ['remote', 'add', 'dead', '--identity', deadFile, '--service', 'ralph-nobody']),
    'remote add',
  );
  const timeoutMs = 3_000;
  const runs = { 'local only': [], 'two reachable remotes': [], 'three remotes, one unreachable': [] };
  const homes = {
    'local only': localHome,
    'two reachable remotes': reachableHome,
    'three remotes, one unreachable': threeHome,
  };
  for (let i = 0; i < STATUS_RUNS + 1; i++) {
    for (const [label, home] of Object.entries(homes)) {
      const r = ralph(home, ['status', '--json', '--remote-timeout', `${timeoutMs}ms`], 60_000);
      if (i > 0) runs[label].push(r.ms); // the first pass is untimed (caches, first logins, links)
    }
    // The links the first pass started in the background answer before the timed passes (bounded), as a
    // laptop's link does after its first `ralph status`.
    if (i === 0) {
      for (const home of [reachableHome, threeHome]) {
        const until = performance.now() + 15_000;
        while (performance.now() < until) {
          const l = ralph(home, ['link', 'status', '--json'], 10_000);
          if (l.code !== 0 || JSON.parse(l.stdout).running) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  }
  results.status = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, summarize(v)]));
  lines.push(
    `\nralph status --json (${STATUS_RUNS} timed runs each after 1 untimed, round-robin; --remote-timeout ${timeoutMs} ms):`,
  );
  lines.push(
    table(
      ['remotes', 'median', 'max'],
      Object.entries(results.status).map(([k, v]) => [k, ms(v.p50, 0), ms(v.max, 0)]),
    ),
  );
  const local = results.status['local only'].p50;
  const reach = results.status['two reachable remotes'].p50;
  const three = results.status['three remotes, one unreachable'];
  verdicts.statusReachable = verdictLine(
    lines,
    `status with reachable remotes ${ms(reach, 0)} <= local ${ms(local, 0)} + 50 ms`,
    reach <= local + 50,
  );
  verdicts.statusTimeout = verdictLine(
    lines,
    `status with one unreachable remote: max ${ms(three.max, 0)} <= local ${ms(local, 0)} + timeout ${timeoutMs} ms`,
    three.max <= local + timeoutMs,
  );
  return { lines, verdicts, results };
}
