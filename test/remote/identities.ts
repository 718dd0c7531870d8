/**
 * Ziti identity files for the remote-client tests that need no network: a throwaway CA and a client certificate
 * (real EC keys), pointing at whatever controller address the test names.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issue, makeCa } from '../ziti/identity/pki.js';

export async function writeIdentity(dir: string, name: string, controller: string): Promise<string> {
  const ca = await makeCa();
  const leaf = await issue(ca, { cn: name });
  const file = join(dir, `${name}.json`);
  const id = { cert: `pem:${leaf.certPem}`, key: `pem:${leaf.keyPem}`, ca: `pem:${ca.certPem}` };
  writeFileSync(file, JSON.stringify({ ztAPI: controller, id }), { mode: 0o600 });
  return file;
}
