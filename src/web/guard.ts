/**
 * The checks every request to `ralph web` passes before anything else: the Host header (a page on another
 * site that rebinds its DNS name to 127.0.0.1 sends its own name, and is refused), the Origin of WebSocket
 * upgrades and of requests that change something (a page on another site cannot open our socket with the
 * user's cookie), and the session cookie.
 */
import type { IncomingMessage } from 'node:http';

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

export interface GuardOptions {
  /** The TCP port served on 127.0.0.1; null when serving a Unix socket. */
  port: number | null;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

export class RequestGuard {
  readonly cookieName: string;

  constructor(private readonly options: GuardOptions) {
    // Cookies do not tell ports apart: two servers on 127.0.0.1 need two names.
    this.cookieName = options.port === null ? 'ralph_web_socket' : `ralph_web_${options.port}`;
  }

  /**
   * Over TCP the Host must be exactly the address printed, `127.0.0.1:<port>`. Over a Unix socket (reached
   * through a forwarder that picks its own port) any loopback name with any port will do.
   */
  checkHost(req: IncomingMessage): Refusal | null {
    const host = req.headers.host ?? '';
    const ok =
      this.options.port === null
        ? LOOPBACK_NAMES.has(host.replace(/:\d{1,5}$/, ''))
        : host === `127.0.0.1:${this.options.port}`;
    return ok
      ? null
      : { status: 403, code: 'HOST_REFUSED', message: 'this server answers only to its loopback address' };
  }

  /** The Origin must be this very server (the Host has been checked already). */
  checkOrigin(req: IncomingMessage, required: boolean): Refusal | null {
    const origin = req.headers.origin;
    if (origin === undefined && !required) return null;
    if (origin === `http://${req.headers.host ?? ''}`) return null;
    return { status: 403, code: 'ORIGIN_REFUSED', message: 'requests from other sites are refused' };
  }

  /** The session cookie's value, if the request carries one. */
  sessionCookie(req: IncomingMessage): string | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === this.cookieName) return part.slice(eq + 1).trim();
    }
    return undefined;
  }

  /** The Set-Cookie value handing out a session: never readable by scripts, never sent by other sites. */
  sessionSetCookie(session: string): string {
    return `${this.cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`;
  }
}
