import { describe, expect, it } from 'vitest';
import { cappedArgs, DAEMON_SEMI_SPACE_MB } from '../../src/daemon/heap.js';

describe("the daemon's young-generation cap", () => {
  const argv = ['/usr/bin/node', '/opt/ralph/dist/cli/main.js', 'daemon', '--config', 'd.json'];

  it('runs the same command again with the semi-space capped, Node flags kept', () => {
    expect(cappedArgs(['--enable-source-maps'], argv, undefined)).toEqual([
      `--max-semi-space-size=${DAEMON_SEMI_SPACE_MB}`,
      '--enable-source-maps',
      '/opt/ralph/dist/cli/main.js',
      'daemon',
      '--config',
      'd.json',
    ]);
  });

  it('leaves a semi-space size given on the command line or in NODE_OPTIONS as it is', () => {
    expect(cappedArgs(['--max-semi-space-size=64'], argv, undefined)).toBeNull();
    expect(cappedArgs(['--max_semi_space_size', '8'], argv, undefined)).toBeNull();
    expect(cappedArgs([], argv, '--require x.cjs --max-semi-space-size=32')).toBeNull();
    expect(cappedArgs([], argv, '--max-old-space-size=512')).not.toBeNull();
  });
});
