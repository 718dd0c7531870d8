import { it } from 'vitest';
import { ZitiContext } from '../../../src/ziti/context.js';
const D = '/tmp/ralph-edge-dev/ids';
it('scratch two binds', async () => {
  const server = await ZitiContext.fromIdentityFile(`${D}/ralph-server.json`);
  try {
    for (const id of ['a-1', 'b-2', 'c-3']) {
      const t0 = Date.now();
      const srv = await server.bind('plain', { terminatorIdentity: id });
      const ok = await new Promise((r) => { if (srv.established) r('already'); srv.once('listening', () => r('event')); setTimeout(() => r('timeout'), 8000); });
      console.log(id, ok, Date.now() - t0);
    }
  } finally {
    await server.close();
  }
});
