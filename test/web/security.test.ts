/**
 * `ralph web`'s security model, with real HTTP and WebSocket requests against the built CLI: the one-time
 * token, the session cookie, the rate limit on wrong tokens, the Host check (DNS rebinding), Origin checks,
 * no CORS, loopback only, and --read-only.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { MAX_SOCKETS } from '../../src/web/index.js';
import { useCliSandbox } from '../cli/harness.js';
import { descendants, listeningSockets } from '../support/listening.js';
import { api, openSocket, request, signIn, startWeb } from './support.js';

const sb = useCliSandbox();

describe('ralph web: signing in', () => {
  it('without a session the page, the API, the assets and the socket answer 401', async () => {
    const web = await startWeb(sb());
    const page = await request(web.port);
    expect(page.status).toBe(401);
    expect(page.body).toContain('one-time token');
    expect((await request(web.port, { path: '/api/fleet' })).status).toBe(401);
    expect((await request(web.port, { path: '/assets/app.js' })).status).toBe(401);
    const origin = `http://127.0.0.1:${web.port}`;
    expect(await openSocket(web.port!, { Origin: origin })).toEqual({ refused: 401 });
    // A cookie the server never gave out is no session either.
    const forged = await request(web.port, {
      path: '/api/fleet',
      headers: { Cookie: `ralph_web_${web.port}=abc` },
    });
    expect(forged.status).toBe(401);
    await web.stop();
  });

  it('the token is traded once for an HttpOnly SameSite=Strict cookie; the same token again is refused', async () => {
    const web = await startWeb(sb());
    const first = await request(web.port, { path: `/?token=${web.token}` });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(new RegExp(`^ralph_web_${web.port}=[A-Za-z0-9_-]{43}; `));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    const cookie = setCookie.split(';')[0]!;

    const page = await request(web.port, { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('/assets/app.js');
    expect((await request(web.port, { path: '/assets/app.js', headers: { Cookie: cookie } })).status).toBe(
      200,
    );

    const replay = await request(web.port, { path: `/?token=${web.token}` });
    expect(replay.status).toBe(403);
    expect(replay.body).toContain('TOKEN_USED');
    expect(replay.headers['set-cookie']).toBeUndefined();
    await web.stop();
  });

  it('after 20 wrong tokens every token is refused with 429, the right one too', async () => {
    const web = await startWeb(sb());
    for (let i = 0; i < 20; i += 1) {
      const wrong = await request(web.port, { path: `/?token=wrong-${i}` });
      expect(wrong.status, `wrong token ${i + 1}`).toBe(401);
    }
    const limited = await request(web.port, { path: `/?token=${web.token}` });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['set-cookie']).toBeUndefined();
    await web.stop();
  }, 60_000);
});

describe('ralph web: who may ask', () => {
  it('a Host other than 127.0.0.1:<port> is refused, before the token is looked at (DNS rebinding)', async () => {
    const web = await startWeb(sb());
    for (const host of ['evil.example', `evil.example:${web.port}`, `localhost:${web.port}`, '127.0.0.1']) {
      const reply = await request(web.port, { path: `/?token=${web.token}`, headers: { Host: host } });
      expect(reply.status, host).toBe(403);
      expect(reply.body).toContain('HOST_REFUSED');
    }
    // The token was not spent by those: it still signs in, and then a bad Host is refused with the cookie too.
    const cookie = await signIn(web);
    const rebound = await request(web.port, {
      path: '/api/fleet',
      headers: { Host: 'evil.example', Cookie: cookie },
    });
    expect(rebound.status).toBe(403);
    const origin = `http://127.0.0.1:${web.port}`;
    expect(await openSocket(web.port!, { Origin: origin, Cookie: cookie, Host: 'evil.example' })).toEqual({
      refused: 403,
    });
    await web.stop();
  });

  it('a WebSocket from another origin, or with no Origin, is refused; this origin with the cookie gets the fleet', async () => {
    const web = await startWeb(sb());
    const cookie = await signIn(web);
    expect(await openSocket(web.port!, { Origin: 'http://evil.example', Cookie: cookie })).toEqual({
      refused: 403,
    });
    expect(await openSocket(web.port!, { Origin: `http://localhost:${web.port}`, Cookie: cookie })).toEqual({
      refused: 403,
    });
    expect(await openSocket(web.port!, { Cookie: cookie })).toEqual({ refused: 403 });
    const terminal = '/ws/loops/1/terminal';
    expect(await openSocket(web.port!, { Origin: 'http://evil.example', Cookie: cookie }, terminal)).toEqual({
      refused: 403,
    });
    const good = await openSocket(web.port!, { Origin: `http://127.0.0.1:${web.port}`, Cookie: cookie });
    if (!('opened' in good)) throw new Error(`refused with ${good.refused}`);
    const { messages } = good;
    const first = await messages.waitFor((m) => m.type === 'fleet', 'the fleet');
    expect(first.readOnly).toBe(false);
    good.opened.close();
    await web.stop();
  });

  it('no CORS: no Access-Control header, OPTIONS refused, a POST from another origin refused', async () => {
    const web = await startWeb(sb());
    const cookie = await signIn(web);
    const evil = 'http://evil.example';
    const read = await request(web.port, { path: '/api/fleet', headers: { Cookie: cookie, Origin: evil } });
    expect(read.status).toBe(200);
    const preflight = await request(web.port, {
      method: 'OPTIONS',
      path: '/api/loops/1/stop',
      headers: { Origin: evil, 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(405);
    for (const reply of [read, preflight]) {
      expect(Object.keys(reply.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
    const post = await request(web.port, {
      method: 'POST',
      path: '/api/loops/1/stop',
      headers: { Cookie: cookie, Origin: evil, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBe(403);
    expect(post.body).toContain('ORIGIN_REFUSED');
    // A form post (not JSON) from this very origin is refused too: only scripts of the page send JSON.
    const form = await request(web.port, {
      method: 'POST',
      path: '/api/loops/1/stop',
      headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'x=1',
    });
    expect(form.status).toBe(415);
    await web.stop();
  });
});

describe('ralph web: where it listens', () => {
  it('listens on 127.0.0.1 only: one TCP socket, on the printed port', async () => {
    const web = await startWeb(sb());
    await signIn(web);
    const sockets = listeningSockets([web.pid, ...descendants(web.pid)]);
    expect(sockets.map((s) => `${s.protocol} ${s.local}`)).toEqual([`tcp 127.0.0.1:${web.port}`]);
    // The same seen by ss(8), where it is installed (iproute2): every listening TCP or UDP socket of the process.
    const ss = spawnSync('ss', ['-H', '-l', '-t', '-u', '-n', '-p'], { encoding: 'utf8' });
    if (ss.error === undefined && ss.status === 0) {
      const mine = ss.stdout.split('\n').filter((line) => line.includes(`pid=${web.pid},`));
      expect(mine.map((line) => line.trim().split(/\s+/)[4])).toEqual([`127.0.0.1:${web.port}`]);
    } else {
      console.warn(`[web] ss is not available (${ss.error?.message ?? ss.stderr}); /proc alone checked`);
    }
    await web.stop();
  });

  it('--socket serves on a Unix socket and opens no TCP or UDP port', async () => {
    const socketPath = join(sb().root, 'web.sock');
    const web = await startWeb(sb(), ['--socket', socketPath]);
    expect(web.port).toBeNull();
    expect(listeningSockets([web.pid, ...descendants(web.pid)])).toEqual([]);
    const cookie = await signIn(web, socketPath);
    const fleet = await request(null, {
      socketPath,
      path: '/api/fleet',
      headers: { Host: 'localhost:8080', Cookie: cookie },
    });
    expect(fleet.status).toBe(200);
    const rebound = await request(null, {
      socketPath,
      path: '/api/fleet',
      headers: { Host: 'evil.example', Cookie: cookie },
    });
    expect(rebound.status).toBe(403);
    await web.stop();
  });

  it('a port in use is refused with exit code 4 and a hint', async () => {
    const web = await startWeb(sb());
    const second = await sb().ralph(['web', '--port', String(web.port)]);
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toContain(
      `ralph: cannot listen on 127.0.0.1:${web.port}: port ${web.port} is in use`,
    );
    expect(second.stdout).not.toContain('token=');
    await web.stop();
  });

  it('--port out of range is refused with exit code 2', async () => {
    const result = await sb().ralph(['web', '--port', '70000']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^ralph: --port must be at most 65535, got 70000/);
  });
});

describe('ralph web --read-only', () => {
  it('refuses stop with 403 READ_ONLY and the loop keeps running', async () => {
    const task = sb().makeTask('web-ro', { script: { steps: [{ print: 'RO running' }, { hang: true }] } });
    const session = await sb().start(task);
    const web = await startWeb(sb(), ['--read-only']);
    expect(web.output()).toContain('(read-only)');
    const cookie = await signIn(web);
    const fleet = await api(web, cookie, '/api/fleet');
    expect(fleet.json.readOnly).toBe(true);
    for (const action of ['stop', 'pause', 'resume', 'inject', 'add-iterations']) {
      const refused = await api(web, cookie, `/api/loops/${session.id}/${action}`, { text: 'x', count: 1 });
      expect(refused.status, action).toBe(403);
      expect((refused.json.error as { code: string }).code).toBe('READ_ONLY');
    }
    expect(sb().session('web-ro').status).toBe('running');
    await web.stop();
  });
});

describe('ralph web: bounds', () => {
  it('refuses a body over 64 KiB (413), a socket past the 32nd (503), and closes a fleet socket that talks', async () => {
    const web = await startWeb(sb());
    const cookie = await signIn(web);
    const big = await request(web.port, {
      method: 'POST',
      path: '/api/loops/1/inject',
      headers: { Cookie: cookie, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(70 * 1024) }),
    });
    expect(big.status).toBe(413);

    const headers = { Origin: `http://127.0.0.1:${web.port}`, Cookie: cookie };
    const open: WebSocket[] = [];
    for (let i = 0; i < MAX_SOCKETS; i += 1) {
      const s = await openSocket(web.port!, headers);
      if (!('opened' in s)) throw new Error(`socket ${i + 1} refused with ${s.refused}`);
      open.push(s.opened);
    }
    expect(await openSocket(web.port!, headers)).toEqual({ refused: 503 });

    const chatty = open[0]!;
    const closed = new Promise<number>((resolve) => chatty.once('close', (code) => resolve(code)));
    chatty.send('hello');
    expect(await closed).toBe(1003);
    // Its place is free again; the server still serves.
    const again = await openSocket(web.port!, headers);
    expect('opened' in again).toBe(true);
    for (const ws of open) ws.close();
    if ('opened' in again) again.opened.close();
    expect((await request(web.port, { path: '/api/fleet', headers: { Cookie: cookie } })).status).toBe(200);
    await web.stop();
  });
});
