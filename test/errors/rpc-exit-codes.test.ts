/** Every protocol error a daemon or runner can refuse with ends a CLI command with a chosen exit code. */
import { describe, expect, it } from 'vitest';
import { ExitCode, rpcErrorExitCode } from '../../src/exit-codes.js';
import { errorCodes } from '../../src/protocol/errors.js';

describe('rpcErrorExitCode', () => {
  it('maps every protocol error name to a documented exit code; only failures on the server side are plain failures', () => {
    const codes = new Set<number>(Object.values(ExitCode));
    for (const name of Object.keys(errorCodes)) {
      const exit = rpcErrorExitCode(name);
      expect(codes.has(exit), name).toBe(true);
      if (['INTERNAL_ERROR', 'DISK_FULL', 'GIT_ERROR'].includes(name)) expect(exit).toBe(ExitCode.failure);
      else expect(exit, `${name} needs its own exit code in rpcErrorExitCode`).not.toBe(ExitCode.failure);
    }
    expect(rpcErrorExitCode('FORBIDDEN')).toBe(ExitCode.unavailable);
    expect(rpcErrorExitCode('AGENT_NOT_FOUND')).toBe(ExitCode.agentMissing);
    expect(rpcErrorExitCode('LOOP_NOT_FOUND')).toBe(ExitCode.notFound);
    expect(rpcErrorExitCode('BRANCH_NOT_FOUND')).toBe(ExitCode.notFound);
    expect(rpcErrorExitCode('BRANCH_IN_USE')).toBe(ExitCode.conflict);
    expect(rpcErrorExitCode('RPC_-1')).toBe(ExitCode.failure);
  });
});
