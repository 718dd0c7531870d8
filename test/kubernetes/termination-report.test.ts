import { describe, expect, it } from 'vitest';
import { TERMINATION_MESSAGE_MAX, terminationMessage } from '../../src/loop/termination-report.js';
import { parseTerminationReport } from '../../src/daemon/kubernetes/status.js';

describe('the termination message of a runner in a pod', () => {
  it('round-trips through the daemon parser', () => {
    const text = terminationMessage({
      status: 'exhausted',
      exitReason: 'max iterations (5) reached',
      iteration: 5,
    });
    expect(parseTerminationReport(text)).toEqual({
      status: 'exhausted',
      exitReason: 'max iterations (5) reached',
      iteration: 5,
    });
  });

  it('cuts a long reason, never the JSON, to what Kubernetes keeps', () => {
    const reason = 'é'.repeat(10_000);
    const text = terminationMessage({ status: 'failed', exitReason: reason, iteration: 2 });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TERMINATION_MESSAGE_MAX);
    const parsed = parseTerminationReport(text);
    expect(parsed?.status).toBe('failed');
    expect(parsed?.exitReason?.endsWith('…')).toBe(true);
    expect(parsed!.exitReason!.length).toBeGreaterThan(1000);
    // Characters JSON escapes take six bytes each: the cut still fits.
    const escaped = terminationMessage({
      status: 'failed',
      exitReason: '\u0001"'.repeat(3000),
      iteration: 0,
    });
    expect(Buffer.byteLength(escaped)).toBeLessThanOrEqual(TERMINATION_MESSAGE_MAX);
    expect(parseTerminationReport(escaped)?.exitReason?.startsWith('\u0001"')).toBe(true);
  });

  it('is not taken from a message that is not ours or names a live status', () => {
    for (const message of [
      undefined,
      '',
      'Error: something',
      '{"status":"running"}',
      '{"status":"rm -rf"}',
      '[1,2]',
      'null',
      '{"exitReason":"x"}',
    ]) {
      expect(parseTerminationReport(message)).toBeNull();
    }
  });
});
