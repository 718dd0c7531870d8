/**
 * `git-remote-ralph`, the git remote helper for `ralph::<remote>/<project>` addresses (gitremote-helpers(7)).
 * It offers one capability, `connect`: for `connect git-upload-pack` (fetch, clone) or `connect
 * git-receive-pack` (push) it opens a new connection through a connector, asks the far end for that service
 * of that project with one `git_connect` request, tells git the connection is up (an empty line), then carries
 * raw bytes both ways until either side ends. Git's own negotiation runs end to end, so every fetch and push
 * sends only what the other side lacks.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { ExitCode, RalphError } from '../errors.js';
import { GitConnectRefused, requestGitConnect } from './handshake.js';
import { parseGitAddress } from './project.js';

/** A fresh byte stream to the daemon that serves `remote`, ready for one request. */
export interface GitConnection {
  stream: Duplex;
  /** Bytes already read from the stream and not consumed (after a greeting). */
  pending?: Buffer[];
  /** Releases what the connector holds for this connection (an overlay context), once it has ended. */
  dispose?: () => Promise<void>;
}

export type GitConnector = (remote: string) => Promise<GitConnection>;

export interface RemoteHelperOptions {
  /** The helper's arguments as git gives them: the remote's name (or the address), then the address. */
  args: readonly string[];
  stdin: Readable;
  stdout: Writable;
  connector: GitConnector;
  /** How long to wait for the daemon's answer to `git_connect`; default 30 s. */
  answerTimeoutMs?: number;
  /** Told the byte counts once the connection ends (for measurements). */
  onCarried?: (counts: CarriedBytes) => void;
}

export interface CarriedBytes {
  /** Bytes from git to the daemon. */
  sent: number;
  /** Bytes from the daemon to git. */
  received: number;
}

/** Longest command line git sends the helper before the connection is up. */
const MAX_COMMAND_LINE = 4096;

/**
 * Runs the helper's conversation with git. Resolves when the connection has ended (or git asked for nothing);
 * rejects with a RalphError whose message is one line for stderr.
 */
export async function runRemoteHelper(options: RemoteHelperOptions): Promise<void> {
  const address = options.args[1] ?? options.args[0];
  if (address === undefined) {
    throw new RalphError('INVALID_OPTION', 'usage: git-remote-ralph <remote> ralph::<remote>/<project>', {
      exitCode: ExitCode.usage,
    });
  }
  const parsed = parseGitAddress(address.replace(/^ralph::/, ''));
  if ('problem' in parsed) {
    throw new RalphError('INVALID_OPTION', `${parsed.problem}`, { exitCode: ExitCode.usage });
  }
  const commands = new CommandReader(options.stdin);
  for (;;) {
    const line = await commands.next();
    if (line === null || line === '') return;
    if (line === 'capabilities') {
      options.stdout.write('connect\n\n');
      continue;
    }
    const service = /^connect (\S+)$/.exec(line)?.[1];
    if (service === undefined) {
      throw new RalphError('INVALID_OPTION', `git asked for ${JSON.stringify(line)}, not supported`);
    }
    const early = commands.release();
    await carry(options, parsed.remote, parsed.project, service, early);
    return;
  }
}

async function carry(
  options: RemoteHelperOptions,
  remote: string,
  project: string,
  service: string,
  early: Buffer[],
): Promise<void> {
  const connection = await options.connector(remote);
  try {
    await converse(options, connection, remote, project, service, early);
  } finally {
    await connection.dispose?.();
  }
}

async function converse(
  options: RemoteHelperOptions,
  { stream, pending }: GitConnection,
  remote: string,
  project: string,
  service: string,
  early: Buffer[],
): Promise<void> {
  let rest: Buffer;
  try {
    ({ rest } = await requestGitConnect(
      stream,
      { project, service: service as never },
      {
        ...(pending === undefined ? {} : { pending }),
        ...(options.answerTimeoutMs === undefined ? {} : { timeoutMs: options.answerTimeoutMs }),
      },
    ));
  } catch (err) {
    stream.destroy();
    if (err instanceof GitConnectRefused) {
      throw new RalphError(
        'DIAL_FAILED',
        `remote ${remote} refused ${service} of ${project}: ${err.message}`,
        {
          exitCode: ExitCode.failure,
          data: { rpcCode: err.rpcCode },
        },
      );
    }
    if (err instanceof RalphError) {
      throw new RalphError(err.code, `remote ${remote}: ${err.message}`, { exitCode: err.exitCode });
    }
    throw err;
  }
  options.stdout.write('\n');
  await pump(options, stream, rest, early);
}

/** Raw bytes both ways; resolves when the daemon's side has ended and everything reached git. */
function pump(options: RemoteHelperOptions, stream: Duplex, rest: Buffer, early: Buffer[]): Promise<void> {
  const { stdin, stdout } = options;
  const counts: CarriedBytes = { sent: 0, received: rest.length };
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      stdin.unpipe(stream);
      stdin.pause();
      options.onCarried?.(counts);
      if (err === undefined) resolve();
      else reject(err);
    };
    if (rest.length > 0) stdout.write(rest);
    for (const chunk of early) {
      counts.sent += chunk.length;
      stream.write(chunk);
    }
    stdin.on('data', (chunk: Buffer) => {
      counts.sent += chunk.length;
    });
    stream.on('data', (chunk: Buffer) => {
      counts.received += chunk.length;
    });
    stdin.pipe(stream);
    stream.pipe(stdout, { end: false });
    stream.once('end', () => {
      if (stdout.writableNeedDrain) stdout.once('drain', () => finish());
      else finish();
    });
    stream.once('error', (err) =>
      finish(new RalphError('DIAL_FAILED', `connection lost: ${err.message}`, { cause: err })),
    );
    stream.once('close', () => finish());
  });
}

/**
 * Reads git's `\n`-terminated commands from stdin one at a time; after the last one, `release` returns the
 * bytes read past it (the start of git's own protocol) and stops reading.
 */
class CommandReader {
  private buffered = Buffer.alloc(0);
  private ended = false;
  private waiting: (() => void) | null = null;
  private readonly onData = (chunk: Buffer | string): void => {
    this.buffered = Buffer.concat([this.buffered, typeof chunk === 'string' ? Buffer.from(chunk) : chunk]);
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly input: Readable) {
    input.on('data', this.onData);
    input.once('end', this.onEnd);
  }

  async next(): Promise<string | null> {
    for (;;) {
      const nl = this.buffered.indexOf(0x0a);
      if (nl >= 0) {
        const line = this.buffered.subarray(0, nl).toString('utf8');
        this.buffered = this.buffered.subarray(nl + 1);
        return line;
      }
      if (this.buffered.length > MAX_COMMAND_LINE) {
        throw new RalphError('INVALID_OPTION', `git sent a command line over ${MAX_COMMAND_LINE} bytes`);
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  release(): Buffer[] {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.pause();
    return this.buffered.length > 0 ? [this.buffered] : [];
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }
}
