import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { demoAgentPath, detectAll, findOnPath, getAgent, resolveAgent } from '../../src/loop/agents/index.js';
import { detectBinary, parseVersion } from '../../src/loop/agents/detect.js';

/** A fake executable: a shell script in `dir`. */
function fakeBinary(dir: string, name: string, body: string, mode = 0o755): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, mode);
  return file;
}

describe('agent detection against real executables', () => {
  let dir: string;
  let bin: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ralph-detect-'));
    bin = join(dir, 'bin');
    mkdirSync(bin);
    env = { PATH: bin };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds an agent on PATH and reads its version', async () => {
    const path = fakeBinary(bin, 'claude', 'echo "2.0.14 (Claude Code)"');
    expect(await getAgent('claude').detect(env)).toEqual({ installed: true, version: '2.0.14', path });
  });

  it('takes the first executable along PATH and skips files that are not executable', async () => {
    const first = join(dir, 'first');
    mkdirSync(first);
    fakeBinary(first, 'codex', 'echo never', 0o644);
    const path = fakeBinary(bin, 'codex', 'echo "codex-cli 0.46.0"');
    const detection = await getAgent('codex').detect({ PATH: `${first}:${bin}` });
    expect(detection).toEqual({ installed: true, version: '0.46.0', path });
    expect(findOnPath('codex', { PATH: first })).toBeNull();
  });

  it('reports an agent that is not on PATH', async () => {
    expect(await getAgent('gemini').detect(env)).toEqual({ installed: false, version: null, path: null });
  });

  it('reports a binary whose --version fails', async () => {
    const path = fakeBinary(bin, 'amp', 'echo "amp: broken install" >&2; exit 3');
    expect(await getAgent('amp').detect(env)).toEqual({
      installed: false,
      version: null,
      path,
      error: "'amp --version' failed: amp: broken install",
    });
  });

  it('gives up on a --version that never answers', async () => {
    const path = fakeBinary(bin, 'opencode', 'exec /bin/sleep 30');
    expect(await detectBinary('opencode', env, 300)).toEqual({
      installed: false,
      version: null,
      path,
      error: "'opencode --version' did not answer within 300 ms",
    });
  });

  it('parses version strings', () => {
    expect(parseVersion('claude 1.0.5')).toBe('1.0.5');
    expect(parseVersion('v0.1790142911-g7618fb')).toBe('0.1790142911-g7618fb');
    expect(parseVersion('opencode 1.18.33-beta.2\n')).toBe('1.18.33-beta.2');
    expect(parseVersion('\n dev build \n')).toBe('dev build');
    expect(parseVersion('')).toBeNull();
  });

  it('resolveAgent returns the adapter and detection of an installed agent', async () => {
    fakeBinary(bin, 'claude', 'echo 1.2.3');
    const { adapter, detection } = await resolveAgent('claude', { env });
    expect(adapter.name).toBe('claude');
    expect(detection.version).toBe('1.2.3');
  });

  it('resolveAgent explains a missing agent in one line with what is installed and how to install it', async () => {
    fakeBinary(bin, 'claude', 'echo 1.2.3');
    const installed = ['claude', ...(existsSync(demoAgentPath()) ? ['demo'] : [])];
    await expect(resolveAgent('codex', { env })).rejects.toMatchObject({
      code: 'AGENT_MISSING',
      exitCode: ExitCode.agentMissing,
      message: `agent 'codex' is not installed; installed agents: ${installed.join(', ')} (install codex with: npm install -g @openai/codex)`,
      data: { agent: 'codex', installed },
    });
  });

  it('resolveAgent checks the program of a custom template without running it', async () => {
    const path = fakeBinary(bin, 'my-agent', 'touch "$0.ran"');
    const { detection } = await resolveAgent('custom', { env, template: 'my-agent --yes {prompt}' });
    expect(detection).toEqual({ installed: true, version: null, path });
    expect(existsSync(`${path}.ran`)).toBe(false);
    await expect(resolveAgent('custom', { env, template: 'nowhere {prompt}' })).rejects.toMatchObject({
      code: 'AGENT_MISSING',
      // Installed agents have nothing to do with the template's program: none are listed.
      message: "program 'nowhere' of the --agent-cmd template is not installed",
      hint: 'check the program name, or give its full path in the template',
    });
  });

  it('detectAll covers every agent but custom', async () => {
    fakeBinary(bin, 'gemini', 'echo 0.9.0');
    const all = await detectAll(env);
    expect(all.map((d) => d.name)).toEqual(['claude', 'codex', 'opencode', 'amp', 'gemini', 'demo']);
    expect(all.find((d) => d.name === 'gemini')?.detection).toMatchObject({
      installed: true,
      version: '0.9.0',
    });
    expect(all.find((d) => d.name === 'claude')?.detection.installed).toBe(false);
  });
});
