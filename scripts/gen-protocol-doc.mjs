// Writes docs/protocol.md from the protocol tables (compiled to dist/) and docs/protocol.header.md.
// Usage: npm run build && node scripts/gen-protocol-doc.mjs [--check]
//   --check  exit 1 if docs/protocol.md differs from what would be generated.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const moduleUrl = new URL('dist/src/protocol/render-doc.js', root);
const daemonUrl = new URL('dist/src/daemon/methods.js', root);
const linkUrl = new URL('dist/src/client/remote/link/methods.js', root);
const headerUrl = new URL('docs/protocol.header.md', root);
const outUrl = new URL('docs/protocol.md', root);

if (!existsSync(moduleUrl)) {
  process.stderr.write(
    'gen-protocol-doc: dist/src/protocol/render-doc.js is missing; run `npm run build` first\n',
  );
  process.exit(2);
}
const { renderProtocolDoc } = await import(moduleUrl.href);
const { daemonMethods, AGENT_INSTALL_NOTE } = await import(daemonUrl.href);
const { linkMethods } = await import(linkUrl.href);
const text = renderProtocolDoc(readFileSync(headerUrl, 'utf8'), {
  daemonMethods,
  daemonNote: AGENT_INSTALL_NOTE,
  linkMethods,
});

if (process.argv.includes('--check')) {
  const current = existsSync(outUrl) ? readFileSync(outUrl, 'utf8') : '';
  if (current !== text) {
    process.stderr.write(
      'docs/protocol.md is stale: run `npm run build && node scripts/gen-protocol-doc.mjs`\n',
    );
    process.exit(1);
  }
  process.stdout.write('docs/protocol.md is up to date\n');
} else {
  writeFileSync(outUrl, text);
  process.stdout.write('wrote docs/protocol.md\n');
}
