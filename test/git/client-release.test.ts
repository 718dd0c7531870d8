/**
 * RpcClient.release(): the stream a JSON-RPC client was reading is given back for another protocol (git's,
 * after a daemon's greeting): later bytes reach the new reader untouched, and the client reports itself closed.
 */
import { describe, expect, it } from 'vitest';
import { RpcClient } from '../../src/protocol/client.js';
import { duplexPair } from '../support/duplex-pair.js';
import { within } from '../support/wait.js';

describe('RpcClient.release', () => {
  it('hands the stream over: later bytes are not read as messages, the stream stays open', async () => {
    const [near, far] = duplexPair();
    const client = new RpcClient(near);
    const hello = new Promise((resolve) => client.on('notification', (method) => resolve(method)));
    far.write('{"jsonrpc":"2.0","method":"hello","params":{}}\n');
    expect(await within(hello, 'the hello')).toBe('hello');
    const warnings: string[] = [];
    client.on('warning', (w) => warnings.push(w));
    const { stream, pending } = client.release();
    expect(stream).toBe(near);
    expect(pending).toEqual([]);
    expect(client.closed).toBe(true);
    expect(client.reason).toBe('handed over');
    await expect(client.call('get_health')).rejects.toThrow(/handed over/);
    const got = new Promise<Buffer>((resolve) => stream.once('data', resolve));
    far.write('0008NAK\n{not json}\n');
    stream.resume();
    expect((await within(got, 'the raw bytes')).toString()).toBe('0008NAK\n{not json}\n');
    expect(warnings).toEqual([]);
    expect(near.destroyed).toBe(false);
    far.end();
    near.end();
  });
});
