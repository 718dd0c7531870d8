/** An agent's last output reaches the runner even when the runner reads slowly around the agent's exit. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentProcess, type AgentExit } from '../../src/loop/agent-process.js';
import { FAKE_AGENT, Sandbox, within } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(async () => {
  await sb.dispose();
});

/** Blocks this process's event loop, as a runner busy with clients and rendering does. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

describe('agent output at exit', () => {
  it('keeps every byte an agent printed right before exiting, however slowly it is read', async () => {
    const script = join(sb.root, 'script.json');
    writeFileSync(
      script,
      JSON.stringify([
        { printBytes: { count: 200_000, pattern: 'q' } },
        { print: '\nfinal words' },
        { promise: true },
      ]),
    );
    const agent = new AgentProcess({
      file: process.execPath,
      args: [FAKE_AGENT, '--script', script],
      cwd: sb.root,
      env: { ...process.env, RALPH_ITERATION: '1' },
      cols: 80,
      rows: 24,
    });
    const chunks: Buffer[] = [];
    agent.on('data', (chunk) => {
      chunks.push(chunk);
      busy(15);
    });
    const exit = await within(
      new Promise<AgentExit>((resolve) => agent.once('exit', resolve)),
      'the agent to exit',
    );
    expect(exit).toEqual({ exitCode: 0, signal: null });
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text.split('q').length - 1).toBe(200_000);
    expect(text.endsWith('final words\r\n<promise>COMPLETE</promise>\r\n')).toBe(true);
  });
});
