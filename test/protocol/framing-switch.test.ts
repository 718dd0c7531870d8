/** The switch to binary frames is decided by the FramingSwitch a server is given, not by a method name. */
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, FRAME_MESSAGE, encodeFrame } from '../../src/protocol/frames.js';
import type { FramingSwitch } from '../../src/protocol/framing-switch.js';
import { serveConnection } from '../../src/protocol/serve.js';
import { duplexPair } from '../support/duplex-pair.js';
import { waitFor } from '../support/wait.js';
import { demoHandlers } from './harness.js';

/** Everything `stream` sends, as one growing buffer. */
function collect(stream: Duplex): { bytes: () => Buffer } {
  const parts: Buffer[] = [];
  stream.on('data', (b: Buffer) => parts.push(b));
  return { bytes: () => Buffer.concat(parts) };
}

const request = (id: string, method: string, params: object = {}): string =>
  JSON.stringify({ jsonrpc: '2.0', id, method, params });

describe('FramingSwitch', () => {
  it('switches after a successful answer to whatever message the given switch picks', async () => {
    const onStatus: FramingSwitch = {
      asksForFrames: (m) => (m as { id?: unknown }).id === 'go',
    };
    const [serverSide, clientSide] = duplexPair();
    const conn = serveConnection(serverSide, demoHandlers(), { framingSwitch: onStatus });
    const got = collect(clientSide);
    clientSide.write(request('go', 'get_status') + '\n');
    await waitFor(() => conn.framing === 'binary', 'the switch');
    clientSide.write(encodeFrame(FRAME_MESSAGE, request('framed', 'get_status')));
    await waitFor(() => got.bytes().includes('"framed"'), 'the framed answer');
    const bytes = got.bytes();
    const newline = bytes.indexOf(0x0a);
    expect(JSON.parse(bytes.subarray(0, newline).toString())).toMatchObject({ id: 'go', result: {} });
    const frame = bytes.subarray(newline + 1);
    expect(frame[0]).toBe(FRAME_MESSAGE);
    const payload = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + frame.readUInt32BE(1));
    expect(JSON.parse(payload.toString())).toMatchObject({ id: 'framed', result: { task_name: 'demo' } });
  });

  it('without a switch, an attach asking for binary frames leaves the connection on lines', async () => {
    const [serverSide, clientSide] = duplexPair();
    const conn = serveConnection(serverSide, {
      ...demoHandlers(),
      attach: (_params, c) => ({
        from_offset: 0,
        replay_end: 0,
        cols: 80,
        rows: 24,
        interactive_mode: false,
        framing: c.framing,
      }),
    });
    const got = collect(clientSide);
    clientSide.write(request('a', 'attach', { framing: 'binary' }) + '\n');
    clientSide.write(request('b', 'get_status') + '\n');
    await waitFor(() => got.bytes().includes('"b"'), 'both answers');
    const lines = got
      .bytes()
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string });
    expect(lines.map((l) => l.id)).toEqual(['a', 'b']);
    expect(conn.framing).toBe('ndjson');
  });
});
