// Types for ziti-testnet-lib.mjs.

export declare class TestnetError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown });
}

export declare const INSTALL_HINT: string;
export declare const TESTNET_ENV: 'RALPH_ZITI_TESTNET';

/** An enrolled identity: its name in the controller and its identity JSON file. */
export interface EnrolledIdentity {
  name: string;
  file: string;
  keyAlg: 'RSA' | 'EC';
}

/** Plain data describing a running network; written to `descriptionFile` as JSON. */
export interface TestNetworkDescription {
  version: number;
  descriptionFile: string;
  /** Temporary directory holding everything; removed by stop(). */
  home: string;
  bin: string;
  ownerPid: number;
  ctrlUrl: string;
  /** The address the controller and the edge router listen on and advertise (default 127.0.0.1). */
  host: string;
  ctrlPort: number;
  routerPort: number;
  routerName: string;
  adminUser: string;
  adminPassword: string;
  identities: {
    /** #ralph-servers: may Bind every ralph service. */
    server: EnrolledIdentity;
    /** #ralph-clients: may Dial every ralph service. */
    client: EnrolledIdentity;
    /** No attributes, no policies. */
    outsider: EnrolledIdentity;
    /** #ralph-clients and #ralph-servers: for `ziti tunnel host` / `ziti tunnel proxy`. */
    gotunnel: EnrolledIdentity;
  };
  /** Not enrolled (#ralph-clients once enrolled); its one-time token is at jwtFile. */
  fresh: { name: string; jwtFile: string };
  services: { plain: string; e2ee: string; goHosted: string };
  /** Where `ziti tunnel host` forwards the goHosted service; nothing listens there until a test starts it. */
  goHostedTarget: { host: string; port: number };
  /**
   * Where `ziti tunnel proxy -i <gotunnel.file>` listens (proxy.v1 configs on the echo services);
   * it forwards to whoever binds the service.
   */
  proxyListeners: { plain: { host: string; port: number }; e2ee: { host: string; port: number } };
  logs: { controller: string; router: string };
}

export interface ZitiProcess {
  /** Process group id. */
  pid: number;
  logFile: string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** An edge router added with addRouter(). */
export interface AddedRouter {
  name: string;
  /** Its edge listener on 127.0.0.1 (it also listens for router links on another loopback port). */
  port: number;
  /** `tls://127.0.0.1:<port>`, as the controller lists it. */
  url: string;
  /** The process group of the running router, or null when stopped. */
  pid(): number | null;
  /** Stops it and waits until the controller reports it offline. */
  stop(): Promise<void>;
  /** Starts it again (same port) and waits until the controller reports it online. */
  start(): Promise<void>;
  restart(): Promise<void>;
}

export interface TestNetwork extends TestNetworkDescription {
  /** True in the process that started the network; only there does stop() tear it down. */
  owned: boolean;
  /** Runs the ziti CLI against this network with its private CLI configuration; resolves to stdout. */
  ziti(
    args: string[],
    options?: { env?: Record<string, string>; timeoutMs?: number; input?: string },
  ): Promise<string>;
  /**
   * Starts a long-running ziti process (e.g. `tunnel host -i <file>`) in its own process group,
   * logging to `<home>/<name>-<pid>-<n>.log`. It ends with the calling process, on its stop(), or
   * with the network's stop().
   */
  spawnZiti(args: string[], name: string): ZitiProcess;
  /** Stops the edge router and waits until the controller reports it offline. */
  stopRouter(): Promise<void>;
  /** Starts the edge router and waits until the controller reports it online. */
  startRouter(): Promise<void>;
  restartRouter(): Promise<void>;
  /** The process group of the first edge router while it runs, else null. */
  routerPid(): number | null;
  /**
   * Creates, enrolls and starts another edge router (attribute `public`, so every identity and service may
   * use it) with its own edge and link listeners on free loopback ports; resolves once the controller reports
   * it online. It ends with the process that added it. Disturbs other users of a shared network: prefer a
   * private one (startTestNetwork()).
   */
  /**
   * Stops the controller and starts it again with the same home and configuration, then waits until the edge
   * router is connected to it again. Owner only.
   */
  restartController(timeoutMs?: number): Promise<void>;
  addRouter(name: string, options?: { timeoutMs?: number }): Promise<AddedRouter>;
  /**
   * Gives an enrolled identity a certificate (same subject and key, signed by the network's CA) that expires
   * `seconds` from now and resolves to its PEM chain, for renewal tests. Stops and starts the controller (owner
   * only); needs Go and the module cache the ziti v1.7.2 build left (the tool is built offline, once).
   */
  shortenCertificate(identityName: string, seconds: number): Promise<string>;
  /** Ends every process of the network and removes `home`. No-op unless `owned`. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Path of the ziti CLI; default: found on PATH or in the Go bin directory. */
  bin?: string;
  /** Bound on the whole start-up; default 120 000 ms. */
  timeoutMs?: number;
  /**
   * The local address the controller and the edge router listen on and advertise (default 127.0.0.1), e.g. the
   * root-side address of a veth pair so that processes in a network namespace reach them through it only.
   */
  host?: string;
  /**
   * Lifetime of the controller's OIDC access tokens (`edge.oidc.accessTokenDuration`, e.g. `'1m'`; the
   * controller's minimum is 1m, its default 30m). Restarts the controller once before provisioning.
   */
  oidcAccessTokenDuration?: string;
  /**
   * The controller's `edge.api.sessionTimeout`: how long an API session may go without activity before the
   * controller deletes it (a Go duration of at least "1m"; the controller's default is "30m"). Activity includes
   * the router's heartbeats for sessions with an open edge connection. Restarts the controller once before
   * provisioning, like the other configuration options.
   */
  apiSessionTimeout?: string;
  /**
   * Edits of the controller's configuration file (`<home>/quickstart/ctrl.yaml`): each takes the YAML text and
   * returns the new text. Applied after the named options, with one controller restart before provisioning.
   */
  controllerConfigPatch?: ControllerConfigPatch | ControllerConfigPatch[];
}

export type ControllerConfigPatch = (yaml: string) => string;

/** Adds `edge.<name>` with plain scalar values to a controller config; refuses an existing subsection. */
export declare function addEdgeSubsection(
  yaml: string,
  name: string,
  values: Record<string, string | number | boolean>,
): string;

export declare function findZitiBinary(env?: NodeJS.ProcessEnv): string | null;
export declare function startTestNetwork(options?: StartOptions): Promise<TestNetwork>;
export declare function loadTestNetwork(file: string): TestNetwork;
export declare function describeTestNetwork(network: TestNetwork): TestNetworkDescription;
