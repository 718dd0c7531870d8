import { it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { ZitiContext } from '../../../src/ziti/context.js';
const D = '/tmp/ralph-edge-dev/ids';
it('scratch go proxy', async () => {
  const server = await ZitiContext.fromIdentityFile(`${D}/ralph-server.json`);
  const procs: ReturnType<typeof spawn>[] = [];
  try {
    for (const [svc, port] of [['plain', 17001], ['e2ee', 17003]] as const) {
      const srv = await server.bind(svc);
      srv.on('error', (e) => console.log('srv error', e));
      srv.on('connection', (c) => { console.log('conn from', c.callerId, c.encrypted); c.on('error', (e) => console.log('server conn err', e)); c.pipe(c); });
      await new Promise((r) => srv.once('listening', r));
      const p = spawn('ziti', ['tunnel', 'proxy', `${svc}:${port}`, '-i', `${D}/gotunnel.json`, '--cli-agent=false'], { env: { ...process.env, HOME: '/tmp/ralph-edge-dev/home' }, stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(p);
      let log = '';
      p.stdout!.on('data', (d) => (log += d)); p.stderr!.on('data', (d) => (log += d));
      let answer = '';
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 500));
        try {
          answer = await new Promise<string>((resolve, reject) => {
            const s = connect(port, '127.0.0.1');
            let got = '';
            s.on('data', (d) => (got += d));
            s.on('end', () => resolve(got));
            s.on('error', reject);
            s.on('connect', () => { s.write('ping ' + svc); setTimeout(() => s.end(), 300); });
          });
          if (answer) break;
        } catch (e) { /* not yet */ }
      }
      console.log(svc, 'answer:', JSON.stringify(answer));
      if (!answer) console.log(log.slice(-3000));
      expect(answer).toBe('ping ' + svc);
    }
  } finally {
    for (const p of procs) p.kill();
    await server.close();
  }
});
