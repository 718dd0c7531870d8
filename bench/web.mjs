#!/usr/bin/env node
/**
 * `ralph web` in a real browser (Chromium through playwright-core), measured beside the CLI in the same run.
 *
 * 1. Keystroke round trip through the browser terminal: a key typed on the loop page's xterm.js terminal
 *    travels as a WebSocket message to `ralph web`, on to the loop's runner and its raw-mode echo program, and
 *    back. The clock runs inside the page (performance.now()), up to the moment xterm.js has parsed the echoed
 *    character. Two ways in: (a) the key enters xterm.js as its keyboard handler hands it on
 *    (`terminal.input(key, true)`, which fires the same onData the page sends from), the clock starting there;
 *    (b) a real key event sent by the automation (playwright's keyboard.press, CDP Input.dispatchKeyEvent), the
 *    clock starting at keydown; this one includes the time Chromium takes to finish dispatching the synthetic
 *    key events (keyup after keydown), during which the page does not see the echo. Beside them, in the same
 *    rounds (interleaved, shuffled): the same echo program in another loop through `ralph attach`'s client
 *    (the Unix socket, the keyboard lease), and the browser's own floor, a WebSocket echo from a page to a
 *    plain Node `ws` server on 127.0.0.1.
 * 2. First meaningful paint of the fleet page with N loops in the registry (default 200): from navigation
 *    start to the moment the fleet table holds a row for every loop, and the browser's first-contentful-paint.
 *    Beside it: the same browser loading a static page with a table of as many rows from a plain Node HTTP
 *    server on 127.0.0.1 (the floor for a page of that size), and `ralph status --json` over the same
 *    registry (the CLI listing the same loops).
 *
 *   node bench/web.mjs [--samples 300] [--warmup 100] [--loops 200] [--paints 7] [--time-limit 90]
 *
 * Needs Chromium (/usr/bin/chromium, or RALPH_CHROMIUM). Exits 2 without it, 1 on an error, 0 otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { WebSocketServer } from 'ws';
import {
  DIST,
  FIXTURE,
  importDist,
  machineLine,
  makeTaskDir,
  ms,
  nowMs,
  numberOption,
  removeDir,
  requireBuild,
  runMain,
  summarize,
  table,
  tempDir,
  warnIfStale,
  withTimeout,
  writeSummary,
} from './lib/common.mjs';
import { findChromium } from '../scripts/chromium.mjs';
import { prober, shuffle } from './lib/remote-measure.mjs';
import { openRalph } from './lib/terminals.mjs';

const SAMPLES = numberOption('samples', 300, { min: 1, max: 20_000 });
const WARMUP = numberOption('warmup', 100, { min: 0, max: 20_000 });
const LOOPS = numberOption('loops', 200, { min: 1, max: 5_000 });
const PAINTS = numberOption('paints', 7, { min: 1, max: 100 });
const LIMIT_MS = numberOption('time-limit', 90, { min: 1, max: 900 }) * 1000;
const CHARS = 'abcdefghijklmnopqrstuvwxyz';
/** The echo program's line is returned to column 0 (untimed) this often, so the cursor never wraps. */
const RESET_EVERY = 40;

/** What the keystroke part started (loops, ralph web, a browser context), ended before the paint part. */
const cleanups = [];
let browser = null;

/** `ralph web --port 0` on the bench's RALPH_HOME; resolves with its port and one-time token. */
async function startWeb() {
  const child = spawn(process.execPath, [join(DIST, 'cli', 'main.js'), 'web', '--port', '0'], {
    env: { ...process.env, RALPH_NO_LINK: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await withTimeout(exited, 10_000, 'ralph web to exit').catch(() => child.kill('SIGKILL'));
  });
  let text = '';
  const login = await withTimeout(
    new Promise((resolve, reject) => {
      const look = (chunk) => {
        text += chunk.toString('utf8');
        const m = /open: http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]+)/.exec(text);
        if (m) resolve({ port: Number(m[1]), token: m[2] });
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      child.once('exit', (code) => reject(new Error(`ralph web exited ${code} before serving:\n${text}`)));
    }),
    30_000,
    'ralph web to print its URL',
  );
  return login;
}

/** A second loop running the echo program, for the browser to type into. */
async function startEchoLoop(task) {
  const { ralphPaths } = await importDist('src/config/paths.js');
  const { startLoop } = await importDist('src/client/start.js');
  const { stopLoop } = await importDist('src/client/stop.js');
  const paths = ralphPaths();
  const quote = (s) => JSON.stringify(s);
  await startLoop(
    {
      taskDir: makeTaskDir(join(process.env.RALPH_HOME, 'tasks'), task),
      agent: 'custom',
      agentCommand: [process.execPath, FIXTURE, 'echo'].map(quote).join(' '),
      maxIterations: 1,
      iterationTimeoutMs: 600_000,
      idleTimeoutMs: 600_000,
      readyTimeoutMs: 20_000,
    },
    paths,
  );
  cleanups.push(() => stopLoop(task, { force: true, waitMs: 10_000 }, paths));
}

/**
 * Opens the loop page of `task`, takes the keyboard and installs the in-page probe. Returns a function making
 * a prober for one way in ('input' or 'cdp'), with the same shape as the CLI's: once() resolves with one round
 * trip in ms, timed by the page's clock. The probers share the page, its terminal line and its counter.
 */
async function browserProbers(page, base, task) {
  await page.goto(base);
  await page.locator(`tr[data-key="local/${task}"] td.task a`).click();
  await page.waitForFunction('location.hash.startsWith("#/loop/")');
  await page.waitForFunction(
    () => {
      const term = globalThis.ralphTerminal;
      if (!term) return false;
      const buf = term.buffer.active;
      for (let i = 0; i < buf.length; i += 1)
        if (buf.getLine(i)?.translateToString(true).includes('READY')) return true;
      return false;
    },
    undefined,
    { timeout: 20_000 },
  );
  await page.locator('#keyboard').click();
  await page.locator('#keyboard[data-held="true"]').waitFor({ timeout: 10_000 });
  await page.locator('#terminal').click();
  await page.evaluate(() => {
    const term = globalThis.ralphTerminal;
    const probe = { pending: null };
    globalThis.rttProbe = probe;
    // Capture phase: the clock starts before xterm.js sees the key.
    document.addEventListener(
      'keydown',
      (event) => {
        if (probe.pending && event.key === probe.pending.ch) probe.pending.t0 = performance.now();
      },
      true,
    );
    term.onWriteParsed(() => {
      const p = probe.pending;
      if (!p || p.t0 === undefined) return;
      const buf = term.buffer.active;
      const line = buf.getLine(buf.baseY + buf.cursorY)?.translateToString(false) ?? '';
      if (buf.cursorX > 0 && line.charAt(buf.cursorX - 1) === p.ch) {
        probe.pending = null;
        p.resolve(performance.now() - p.t0);
      }
    });
  });
  let i = 0;
  return (way) => ({
    off: () => undefined,
    async once() {
      if (i > 0 && i % RESET_EVERY === 0) {
        await page.keyboard.press('Enter');
        await page.waitForTimeout(50);
      }
      const ch = CHARS[i++ % CHARS.length];
      const armed = page.evaluate(
        (c) =>
          new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`no echo of "${c}" in the browser terminal`)),
              5_000,
            );
            globalThis.rttProbe.pending = {
              ch: c,
              resolve: (v) => {
                clearTimeout(timer);
                resolve(v);
              },
            };
          }),
        ch,
      );
      // The page has the probe armed once this round trip to the page is back.
      await page.evaluate(() => true);
      if (way === 'input')
        await page.evaluate((c) => {
          globalThis.rttProbe.pending.t0 = performance.now();
          globalThis.ralphTerminal.input(c, true);
        }, ch);
      else await page.keyboard.press(ch);
      return armed;
    },
  });
}

/** A page (no CSP of ours) echoing through a plain Node ws server: the browser's own WebSocket round trip. */
async function browserFloor(context) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>floor</title><p>WebSocket echo</p>');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data, { binary: true })));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    await new Promise((resolve) => server.close(resolve));
  });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.evaluate(async (port) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    ws.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error('the floor WebSocket did not open'));
    });
    globalThis.floorWs = ws;
  }, server.address().port);
  return {
    off: () => undefined,
    once: () =>
      page.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const ws = globalThis.floorWs;
            const timer = setTimeout(() => reject(new Error('no echo from the floor server')), 5_000);
            const t0 = performance.now();
            ws.onmessage = () => {
              clearTimeout(timer);
              resolve(performance.now() - t0);
            };
            ws.send(JSON.stringify({ type: 'keys', data: 'a' }));
          }),
      ),
  };
}

/** Starts `ralph web` and opens a page in a context of its own that has traded the token for a session. */
async function signedInPage() {
  const { port, token } = await startWeb();
  const origin = `http://127.0.0.1:${port}`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  await page.goto(`${origin}/?token=${token}`);
  return { origin, page };
}

async function keystrokes() {
  const cli = await openRalph(['echo'], 'kbd-cli');
  cleanups.push(() => cli.close());
  await startEchoLoop('kbd-web');
  const { origin, page } = await signedInPage();
  const browserWay = await browserProbers(page, origin, 'kbd-web');
  // The floor's page in a context of its own, so that neither page is a background tab of the other.
  const floorContext = await browser.newContext();
  cleanups.push(() => floorContext.close());
  const probes = [
    {
      name: 'browser terminal, key into xterm.js',
      probe: browserWay('input'),
      times: [],
    },
    {
      name: 'browser terminal, CDP key event',
      probe: browserWay('cdp'),
      times: [],
    },
    { name: 'CLI attach (Unix socket)', probe: prober(cli), times: [] },
    { name: 'floor: browser WebSocket echo, plain ws', probe: await browserFloor(floorContext), times: [] },
  ];
  const deadline = nowMs() + LIMIT_MS;
  let rounds = 0;
  while (rounds < WARMUP + SAMPLES && nowMs() < deadline) {
    for (const p of shuffle([...probes])) {
      const t = await p.probe.once();
      if (rounds >= WARMUP) p.times.push(t);
    }
    rounds += 1;
  }
  for (const p of probes) p.probe.off();
  if (probes.some((p) => p.times.length === 0))
    throw new Error('the time limit ended the run before any timed sample');
  return Object.fromEntries(
    probes.map((p) => [p.name, { ...summarize(p.times), cappedByTime: rounds < WARMUP + SAMPLES }]),
  );
}

/** Adds `count` ended loops to the registry, as a user's history would hold them. */
async function fillRegistry(count) {
  const { ralphPaths } = await importDist('src/config/paths.js');
  const { Registry } = await importDist('src/registry/index.js');
  const paths = ralphPaths();
  const registry = Registry.open(paths.registryFile);
  const statuses = ['completed', 'stopped', 'failed', 'exhausted'];
  try {
    registry.transaction(() => {
      for (let t = 0; t < count; t++) {
        const task = `fleet-${String(t).padStart(4, '0')}`;
        registry.create({
          task,
          location: 'local',
          transport: 'unix',
          address: join(paths.runDir, `${task}.sock`),
          agent: ['claude', 'codex', 'amp', 'custom'][t % 4],
          taskDir: `/home/user/projects/p${t}/tasks/${task}`,
          maxIterations: 25,
          iteration: (t * 7) % 25,
          currentStory: `US-${String((t % 9) + 1).padStart(3, '0')}`,
          branch: `ralph/${task}`,
          status: statuses[t % statuses.length],
          pid: null,
          startedAt: new Date(Date.now() - (count - t) * 60_000).toISOString(),
          exitReason: `${statuses[t % statuses.length]} after ${(t % 5) + 1} iterations`,
        });
      }
    });
  } finally {
    registry.close();
  }
  return paths;
}

/** In the page: ms from navigation start until `count` fleet rows exist, and first-contentful-paint. */
async function paintOf(page, url, selector, count) {
  await page.goto(url);
  const rowsAt = await page.evaluate(
    ({ sel, n }) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fewer than ${n} rows after 30 s`)), 30_000);
        const check = () => {
          if (document.querySelectorAll(sel).length >= n) {
            clearTimeout(timer);
            resolve(performance.now());
            return true;
          }
          return false;
        };
        if (check()) return;
        const seen = new MutationObserver(() => {
          if (check()) seen.disconnect();
        });
        seen.observe(document, { childList: true, subtree: true });
      }),
    { sel: selector, n: count },
  );
  const fcp = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(Number.NaN), 2_000);
        new PerformanceObserver((list) => {
          const entry = list.getEntriesByName('first-contentful-paint')[0];
          if (entry) {
            clearTimeout(timer);
            resolve(entry.startTime);
          }
        }).observe({ type: 'paint', buffered: true });
      }),
  );
  return { rowsAt, fcp };
}

/** A plain Node server on 127.0.0.1 serving one static page with a table of `count` rows. */
async function staticServer(count) {
  const rows = Array.from(
    { length: count },
    (_, t) =>
      `<tr data-key="local/fleet-${t}"><td>fleet-${t}</td><td>local</td><td>completed</td><td>${t % 25}/25</td>` +
      `<td>US-00${(t % 9) + 1}</td><td>claude</td><td>${t}m</td><td>last line ${t}</td></tr>`,
  ).join('');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>static</title></head><body><table>${rows}</table></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${server.address().port}/`;
}

async function firstPaint() {
  // A home of its own: the fleet then holds exactly the loops added here.
  const home = tempDir('web-paint');
  process.env.RALPH_HOME = home;
  cleanups.push(async () => removeDir(home));
  await fillRegistry(LOOPS);
  const { origin, page } = await signedInPage();
  const staticUrl = await staticServer(LOOPS);
  const web = [];
  const plain = [];
  const status = [];
  for (let i = 0; i < PAINTS; i++) {
    web.push(await paintOf(page, `${origin}/`, 'tr[data-key^="local/fleet-"]', LOOPS));
    plain.push(await paintOf(page, staticUrl, 'tr[data-key^="local/fleet-"]', LOOPS));
    const t0 = nowMs();
    const run = spawnSync(process.execPath, [join(DIST, 'cli', 'main.js'), 'status', '--json'], {
      env: { ...process.env, RALPH_NO_LINK: '1' },
      encoding: 'utf8',
    });
    status.push(nowMs() - t0);
    if (run.status !== 0) throw new Error(`ralph status --json exited ${run.status}: ${run.stderr}`);
    const listed = JSON.parse(run.stdout);
    const n = Array.isArray(listed) ? listed.length : (listed.sessions ?? listed.loops ?? []).length;
    if (n < LOOPS) throw new Error(`ralph status --json listed ${n} loops, expected at least ${LOOPS}`);
  }
  const med = (xs) => summarize(xs).p50;
  return {
    web: { rowsP50: med(web.map((w) => w.rowsAt)), fcpP50: med(web.map((w) => w.fcp)), n: web.length },
    static: {
      rowsP50: med(plain.map((w) => w.rowsAt)),
      fcpP50: med(plain.map((w) => w.fcp)),
      n: plain.length,
    },
    status: { p50: med(status), n: status.length },
  };
}

async function main() {
  requireBuild();
  warnIfStale();
  const executable = findChromium();
  if (executable === null) {
    process.stderr.write('bench: Chromium not found (apt-get install chromium, or set RALPH_CHROMIUM)\n');
    process.exit(2);
  }
  process.stdout.write(`ralph web in Chromium — ${machineLine()}\n`);
  browser = await chromium.launch({
    executablePath: executable,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  const rtt = await keystrokes();
  await endAll();
  process.stdout.write(
    `\nkeystroke round trip: ${SAMPLES} samples after ${WARMUP} warm-up each, interleaved (shuffled each ` +
      `round), at most ${LIMIT_MS / 1000} s\n`,
  );
  const rttRows = Object.entries(rtt).map(([name, r]) => [
    name,
    r.n + (r.cappedByTime ? ' (time cap)' : ''),
    ms(r.p50),
    ms(r.p90),
    ms(r.p99),
    ms(r.min),
    ms(r.max),
  ]);
  process.stdout.write(`${table(['path', 'n', 'p50', 'p90', 'p99', 'min', 'max'], rttRows)}\n`);
  const paint = await firstPaint();
  process.stdout.write(`\nfirst meaningful paint with ${LOOPS} loops (median of ${PAINTS} loads each)\n`);
  process.stdout.write(
    `${table(
      ['page', 'all rows shown', 'first contentful paint'],
      [
        ['ralph web fleet page', ms(paint.web.rowsP50, 1), ms(paint.web.fcpP50, 1)],
        ['static table page (plain Node server)', ms(paint.static.rowsP50, 1), ms(paint.static.fcpP50, 1)],
        [`ralph status --json (whole command)`, ms(paint.status.p50, 1), '-'],
      ],
    )}\n`,
  );
  writeSummary({ bench: 'web', keystroke: rtt, firstPaint: paint, loops: LOOPS });
}

/** Runs the cleanups registered so far, last first; throws their errors together. */
async function endAll() {
  const errors = [];
  for (const cleanup of cleanups.splice(0).reverse())
    await cleanup().catch((err) => errors.push(err.message));
  if (errors.length > 0) throw new Error(errors.join('; '));
}

await runMain(main, async () => {
  try {
    await endAll();
  } finally {
    await browser?.close();
  }
});
