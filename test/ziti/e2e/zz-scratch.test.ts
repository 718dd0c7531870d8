import { it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { ZitiContext } from '../../../src/ziti/context.js';
const D = '/tmp/ralph-edge-dev/ids';
it('scratch go host', async () => {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(17010, '127.0.0.1', r));
  const p = spawn('ziti', ['tunnel', 'host', '-i', `${D}/gotunnel.json`, '--cli-agent=false'], { env: { ...process.env, HOME: '/tmp/ralph-edge-dev/home' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stdout!.on('data', (d) => (log += d)); p.stderr!.on('data', (d) => (log += d));
  const client = await ZitiContext.fromIdentityFile(`${D}/ralph-client.json`);
  try {
    let answer = '';
    for (let i = 0; i < 20 && !answer; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const conn = await client.dial('gohosted');
        console.log('dialed', conn.encrypted);
        answer = await new Promise<string>((resolve, reject) => {
          let got = '';
          conn.on('data', (d) => (got += d));
          conn.on('end', () => resolve(got));
          conn.on('error', reject);
          conn.write('via go host');
          setTimeout(() => conn.end(), 300);
          setTimeout(() => resolve('TIMEOUT:' + got), 5000);
        });
      } catch (e) { console.log('dial err', (e as Error).message); }
    }
    console.log('answer', answer);
    if (answer !== 'via go host') console.log(log.slice(-3000));
    expect(answer).toBe('via go host');
  } finally {
    p.kill();
    echo.close();
    await client.close();
  }
});
