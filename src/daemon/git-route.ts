/**
 * `git_connect` in the daemon's router: the request is checked and its repository readied while the connection
 * still speaks JSON-RPC (a refusal is an ordinary error answer); after the answer the connection is handed to
 * git (src/daemon/git.ts). Fetching (`git-upload-pack`) is a read; pushing (`git-receive-pack`) needs the
 * `control` role.
 */
import type { Duplex } from 'node:stream';
import { errorMessage } from '../errors.js';
import { RpcError, type Logger, type RpcConnection } from '../protocol/index.js';
import { prepareGitConnect, serveGitConnect, type GitConnectPlan, type GitServeOptions } from './git.js';
import type { Role } from './roles.js';

const GIT_PLAN = 'daemon.git';

export function isGitConnectRequest(message: unknown): boolean {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
  const m = message as { method?: unknown; id?: unknown };
  return m.method === 'git_connect' && m.id !== undefined && m.id !== null;
}

/** Answers `git_connect` and keeps the plan on the connection for the hand-over. */
export function acceptGitConnect(
  params: { project: string; service: string },
  conn: RpcConnection,
  role: Role | null,
  options: GitServeOptions,
): { project: string; service: GitConnectPlan['service']; created: boolean } {
  if (params.service === 'git-receive-pack' && role !== 'control') {
    throw RpcError.of('FORBIDDEN', `role ${role ?? 'none'} may not push (git-receive-pack needs control)`, {
      role,
      method: 'git_connect',
    });
  }
  const plan = prepareGitConnect(params, options);
  conn.data.set(GIT_PLAN, plan);
  return { project: plan.project, service: plan.service, created: plan.created };
}

/** After the answer: git gets the stream. False when this connection asked for no git service. */
export function takeGitConnection(
  stream: Duplex,
  pending: Buffer[],
  conn: RpcConnection,
  log: Logger,
): boolean {
  const plan = conn.data.get(GIT_PLAN) as GitConnectPlan | undefined;
  if (plan === undefined) return false;
  conn.data.delete(GIT_PLAN);
  serveGitConnect(stream, plan, pending).then(
    (r) => {
      const how =
        r.exit_code === 0
          ? 'ended'
          : `failed (exit ${r.exit_code ?? 'none'}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`;
      log(`git ${plan.service} of ${plan.project} ${how}`, { bytes_in: r.bytes_in, bytes_out: r.bytes_out });
    },
    (err: unknown) => log(`git ${plan.service} of ${plan.project} failed: ${errorMessage(err)}`),
  );
  return true;
}
