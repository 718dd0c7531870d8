/**
 * The demo agent: a small Node program shipped with ralph that works through a prd.json without network or
 * API key (see src/demo/). It always counts as installed once ralph is built.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AgentAdapter } from './types.js';

/**
 * Path of the compiled demo agent. Built, this module is dist/src/loop/agents/demo.js and the agent sits at
 * dist/src/demo/demo-agent.js; run from TypeScript sources (tests), the built copy under dist/ is used.
 */
export function demoAgentPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts'))
    return fileURLToPath(new URL('../../../dist/src/demo/demo-agent.js', import.meta.url));
  return fileURLToPath(new URL('../../demo/demo-agent.js', import.meta.url));
}

export const demo: AgentAdapter = {
  name: 'demo',
  displayName: 'Demo agent (offline)',
  binary: process.execPath,
  installCommand: 'npm run build (the demo agent ships with ralph)',
  detect() {
    const path = demoAgentPath();
    if (!existsSync(path)) {
      return Promise.resolve({
        installed: false,
        version: null,
        path,
        error: `${path} is missing; run npm run build`,
      });
    }
    return Promise.resolve({ installed: true, version: process.versions.node, path });
  },
  buildCommand(input) {
    return { file: process.execPath, args: [demoAgentPath(), '--task-dir', input.taskDir], cwd: input.cwd };
  },
};
