/**
 * Typed errors of the OpenZiti SDK. Every error carries a stable `code` and, where one helps, a `hint`
 * telling the user what to do. Messages name the service, identity or controller URL involved.
 */

export interface ZitiErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class ZitiError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: ZitiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

export type ZitiPermission = 'Dial' | 'Bind';

/** The controller shows no service of that name to this identity (it does not exist, or no policy grants it). */
export class ServiceNotFoundError extends ZitiError {
  readonly service: string;
  constructor(service: string, identity: string, options: ZitiErrorOptions = {}) {
    super('ZITI_SERVICE_NOT_FOUND', `service "${service}" is not visible to identity "${identity}"`, {
      hint: 'check that the service exists and that a service policy grants this identity Dial or Bind on it',
      ...options,
    });
    this.service = service;
  }
}

/** The identity may see the service but lacks the Dial or Bind permission asked for. */
export class NoPermissionError extends ZitiError {
  readonly service: string;
  readonly permission: ZitiPermission;
  constructor(service: string, identity: string, permission: ZitiPermission, options: ZitiErrorOptions = {}) {
    super(
      'ZITI_NO_PERMISSION',
      `identity "${identity}" has no ${permission} permission on service "${service}"`,
      {
        hint: `add a ${permission} service policy that names this identity (or one of its roles) and the service`,
        ...options,
      },
    );
    this.service = service;
    this.permission = permission;
  }
}

export class NoDialPermissionError extends NoPermissionError {
  constructor(service: string, identity: string, options: ZitiErrorOptions = {}) {
    super(service, identity, 'Dial', options);
  }
}

export class NoBindPermissionError extends NoPermissionError {
  constructor(service: string, identity: string, options: ZitiErrorOptions = {}) {
    super(service, identity, 'Bind', options);
  }
}

export function noPermissionError(
  service: string,
  identity: string,
  permission: ZitiPermission,
  options: ZitiErrorOptions = {},
): NoPermissionError {
  return permission === 'Dial'
    ? new NoDialPermissionError(service, identity, options)
    : new NoBindPermissionError(service, identity, options);
}

/** No edge router is online and permitted to carry traffic for the service. */
export class NoEdgeRouterError extends ZitiError {
  readonly service: string;
  constructor(service: string, detail?: string, options: ZitiErrorOptions = {}) {
    super(
      'ZITI_NO_EDGE_ROUTER',
      `no edge router is available for service "${service}"${detail ? `: ${detail}` : ''}`,
      {
        hint: 'check that an edge router is online and that edge-router and service-edge-router policies cover it',
        ...options,
      },
    );
    this.service = service;
  }
}

/** The controller could not be reached (refused, unknown host, timeout, TLS failure). */
export class ControllerUnreachableError extends ZitiError {
  readonly url: string;
  constructor(url: string, reason: string, options: ZitiErrorOptions = {}) {
    super('ZITI_CONTROLLER_UNREACHABLE', `controller ${url} is unreachable: ${reason}`, {
      hint: 'check the controller address in the identity file and that the controller is running',
      ...options,
    });
    this.url = url;
  }
}

/** The controller answered with an error the SDK has no specific type for. */
export class ControllerApiError extends ZitiError {
  readonly url: string;
  readonly status: number;
  readonly apiCode: string | undefined;
  constructor(
    url: string,
    status: number,
    apiCode: string | undefined,
    detail: string,
    options: ZitiErrorOptions = {},
  ) {
    super(
      'ZITI_CONTROLLER_ERROR',
      `controller ${url} answered ${status}${apiCode ? ` ${apiCode}` : ''}: ${detail}`,
      options,
    );
    this.url = url;
    this.status = status;
    this.apiCode = apiCode;
  }
}

/** An edge router closed a connection (or the whole channel) the SDK was using. */
export class ConnectionClosedByRouterError extends ZitiError {
  readonly router: string;
  constructor(router: string, detail?: string, options: ZitiErrorOptions = {}) {
    super(
      'ZITI_CONNECTION_CLOSED',
      `edge router "${router}" closed the connection${detail ? `: ${detail}` : ''}`,
      options,
    );
    this.router = router;
  }
}

/** The identity file is missing, malformed or inconsistent. */
export class InvalidIdentityError extends ZitiError {
  readonly file: string;
  constructor(file: string, problem: string, options: ZitiErrorOptions = {}) {
    super('ZITI_INVALID_IDENTITY', `identity ${file}: ${problem}`, options);
    this.file = file;
  }
}

/** The identity's client certificate is past its notAfter date. */
export class IdentityExpiredError extends ZitiError {
  readonly file: string;
  readonly notAfter: Date;
  constructor(file: string, name: string, notAfter: Date, options: ZitiErrorOptions = {}) {
    super('ZITI_IDENTITY_EXPIRED', `identity "${name}" (${file}) expired at ${notAfter.toISOString()}`, {
      hint: 're-enroll the identity with a new enrollment token',
      ...options,
    });
    this.file = file;
    this.notAfter = notAfter;
  }
}

/** Enrollment with a one-time token did not produce an identity. */
export class EnrollmentFailedError extends ZitiError {
  constructor(problem: string, options: ZitiErrorOptions = {}) {
    super('ZITI_ENROLLMENT_FAILED', `enrollment failed: ${problem}`, options);
  }
}

/** The controller refused the identity's credentials. */
export class AuthenticationFailedError extends ZitiError {
  readonly url: string;
  constructor(url: string, identity: string, detail: string, options: ZitiErrorOptions = {}) {
    super('ZITI_AUTHENTICATION_FAILED', `controller ${url} refused identity "${identity}": ${detail}`, {
      hint: 'the identity may have been deleted or re-enrolled on the controller; enroll it again',
      ...options,
    });
    this.url = url;
  }
}

export function isZitiError(err: unknown): err is ZitiError {
  return err instanceof ZitiError;
}
