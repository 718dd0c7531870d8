/**
 * A byte stream to a process in a pod, through the API server's `exec` (the WebSocket channel protocol): what
 * is written goes to the process's stdin, its stdout is what is read. The daemon reaches a runner's Unix socket
 * this way, with a one-line bridge run by the pod's own node, so the pod network needs no route from the daemon
 * and no Service exists. Flow control holds end to end: a reader that stops reading pauses the WebSocket (and
 * so the TCP connection to the API server), and a write completes only once it is on the wire.
 */
import { Duplex } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;
/** v5 can close stdin alone (half-close); v4 cannot, and then stdin stays open until the stream ends. */
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** The most of the process's stderr kept for an error message. */
const STDERR_KEEP = 4096;

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
  command: readonly string[];
}

export interface ExecStreamOptions {
  /** How long the WebSocket may take to open (default 15 s). */
  timeoutMs?: number;
}

/** A process in a pod that ended badly: its exit code when it had one, and what it said on stderr. */
export class ExecError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'ExecError';
  }
}

interface ExecStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: Array<{ reason?: string; message?: string }> };
}

/** The server's words without the query strings of the URLs they quote (they repeat the whole command). */
function plainWords(text: string): string {
  return text.replace(/("https?:\/\/[^"?]*)\?[^"]*"/g, '$1"').trim();
}

function exitCodeOf(status: ExecStatus): number | null {
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : null;
}

/** The exec URL of `target` on the cluster the kubeconfig's current context names. */
export function execUrl(kc: KubeConfig, target: ExecTarget): string {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('the kubeconfig names no current cluster');
  const url = new URL(server);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  const path = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/exec`;
  url.pathname = `${url.pathname.replace(/\/$/, '')}${path}`;
  const query = new URLSearchParams({
    container: target.container,
    stdin: 'true',
    stdout: 'true',
    stderr: 'true',
  });
  for (const arg of target.command) query.append('command', arg);
  url.search = query.toString();
  return url.toString();
}

/** Runs `target.command` in the pod and resolves to its stdin/stdout as one duplex stream once it is open. */
export async function execStream(
  kc: KubeConfig,
  target: ExecTarget,
  options: ExecStreamOptions = {},
): Promise<Duplex> {
  const tls: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(tls);
  const ws = new WebSocket(execUrl(kc, target), PROTOCOLS, {
    ...tls,
    handshakeTimeout: options.timeoutMs ?? 15_000,
    perMessageDeflate: false,
  });
  const where = `${target.namespace}/${target.pod}`;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => {
      ws.removeAllListeners('open');
      reject(err);
    };
    ws.once('open', () => {
      ws.removeAllListeners('unexpected-response');
      resolve();
    });
    ws.once('error', (err) => fail(new ExecError(`exec in pod ${where}: ${err.message}`, null)));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < STDERR_KEEP) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        let said = Buffer.concat(chunks).toString('utf8').slice(0, STDERR_KEEP);
        try {
          said = (JSON.parse(said) as { message?: string }).message ?? said;
        } catch {
          // Not JSON: the text as it came.
        }
        fail(new ExecError(`exec in pod ${where}: HTTP ${res.statusCode}: ${plainWords(said)}`, null));
        ws.terminate();
      });
    });
  });
  return new ExecDuplex(ws, where);
}

class ExecDuplex extends Duplex {
  private stderr = '';
  private status: ExecStatus | null = null;
  private ended = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly where: string,
  ) {
    super({ allowHalfOpen: true });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(isBinary ? data : Buffer.from(data)));
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => this.destroy(new ExecError(`exec in pod ${where}: ${err.message}`, null)));
  }

  private onFrame(frame: Buffer): void {
    if (frame.length === 0) return;
    const channel = frame[0]!;
    const body = frame.subarray(1);
    if (channel === STDOUT) {
      if (!this.ended && body.length > 0 && !this.push(body)) this.ws.pause();
    } else if (channel === STDERR) {
      if (this.stderr.length < STDERR_KEEP) this.stderr += body.toString('utf8').slice(0, STDERR_KEEP);
    } else if (channel === STATUS) {
      try {
        this.status = JSON.parse(body.toString('utf8')) as ExecStatus;
      } catch {
        this.status = { status: 'Failure', message: 'unreadable exec status' };
      }
    } else if (channel === CLOSE && body[0] === STDOUT) {
      this.endReadable();
    }
  }

  private endReadable(): void {
    if (this.ended) return;
    this.ended = true;
    this.push(null);
  }

  private onClose(): void {
    const status = this.status;
    if (status !== null && status.status !== 'Success') {
      const code = exitCodeOf(status);
      const said = this.stderr.trim();
      const what = code === null ? plainWords(status.message ?? 'failed') : `exited with code ${code}`;
      this.destroy(
        new ExecError(`exec in pod ${this.where}: ${what}${said === '' ? '' : `: ${said}`}`, code),
      );
      return;
    }
    // What was read stays readable; a write from now on fails (see _write).
    this.endReadable();
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      done(new ExecError(`exec in pod ${this.where}: the stream is closed`, null));
      return;
    }
    const frame = Buffer.allocUnsafe(chunk.length + 1);
    frame[0] = STDIN;
    chunk.copy(frame, 1);
    this.ws.send(frame, { binary: true }, (err) => done(err ?? null));
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.ws.protocol === PROTOCOLS[0] && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(Buffer.from([CLOSE, STDIN]), { binary: true }, (err) => done(err ?? null));
    } else {
      done();
    }
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
    done(err);
  }
}

/** The byte the bridge writes once it is connected to the socket, before any of the socket's own. */
export const BRIDGE_READY = 0x06;

/**
 * The bridge run in the pod: connects to the Unix socket named by its one argument, says so with one byte, and
 * copies bytes both ways until either side ends; exit 3 (with the reason on stderr) when the socket cannot be
 * reached.
 */
export const SOCKET_BRIDGE = [
  "const s=require('net').connect(process.argv[1]);",
  "s.on('error',e=>{process.stderr.write(e.message+'\\n');process.exit(3)});",
  `s.on('connect',()=>{process.stdout.write(Buffer.from([${BRIDGE_READY}]));process.stdin.pipe(s);s.pipe(process.stdout)});`,
  "s.on('end',()=>process.stdout.end());",
  "process.stdout.on('finish',()=>process.exit(0));",
].join('');

/**
 * A stream to the runner's Unix socket at `socketPath` in the pod, through `node -e` in its container. Resolves
 * once the bridge is connected to the socket, so that a pod that cannot be reached, or a socket that is not
 * there, fails here with the reason.
 */
export async function dialPodSocket(
  kc: KubeConfig,
  where: { namespace: string; pod: string; container: string; node: string },
  socketPath: string,
  options: ExecStreamOptions = {},
): Promise<Duplex> {
  const stream = await execStream(
    kc,
    { ...where, command: [where.node, '-e', SOCKET_BRIDGE, socketPath] },
    options,
  );
  const what = `${where.namespace}/${where.pod}`;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ExecError(`exec in pod ${what}: no answer from the socket bridge`, null)),
        options.timeoutMs ?? 15_000,
      );
      const done = (err?: Error): void => {
        clearTimeout(timer);
        stream.off('readable', onReadable);
        stream.off('error', done);
        stream.off('end', onEnd);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onEnd = (): void =>
        done(new ExecError(`exec in pod ${what}: the socket bridge ended at once`, null));
      const onReadable = (): void => {
        const first = stream.read(1) as Buffer | null;
        if (first === null) return;
        if (first[0] === BRIDGE_READY) done();
        else done(new ExecError(`exec in pod ${what}: the socket bridge did not start`, null));
      };
      stream.on('readable', onReadable);
      stream.once('error', done);
      stream.once('end', onEnd);
    });
  } catch (err) {
    stream.destroy();
    throw err;
  }
  return stream;
}
