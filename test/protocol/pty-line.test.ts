/** The hand-built `pty` event line is the same JSON the generic notification path would send. */
import { createJSONRPCNotification } from 'json-rpc-2.0';
import { describe, expect, it } from 'vitest';
import { EVENT_METHOD, encodeLine, events, makeEvent, ptyEventLine } from '../../src/protocol/index.js';

describe('ptyEventLine', () => {
  it('encodes the same notification as makeEvent + encodeLine, and validates against the event table', () => {
    for (const bytes of [
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.from([0, 255, 10, 13, 34, 92, 0xe2, 0x82]),
    ]) {
      const base64 = bytes.toString('base64');
      const line = ptyEventLine(123456, base64);
      expect(line.endsWith('\n')).toBe(true);
      const parsed = JSON.parse(line) as { params: { timestamp: string; data: unknown } };
      const generic = JSON.parse(
        encodeLine(
          createJSONRPCNotification(EVENT_METHOD, makeEvent('pty', { offset: 123456, data: base64 })),
        ),
      ) as { params: { timestamp: string } };
      generic.params.timestamp = parsed.params.timestamp;
      expect(parsed).toEqual(generic);
      expect(events.pty.data.parse(parsed.params.data)).toEqual({ offset: 123456, data: base64 });
      expect(Number.isNaN(Date.parse(parsed.params.timestamp))).toBe(false);
    }
  });
});
