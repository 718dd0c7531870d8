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
  /** Ends every process of the network and removes `home`. No-op unless `owned`. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Path of the ziti CLI; default: found on PATH or in the Go bin directory. */
  bin?: string;
  /** Bound on the whole start-up; default 120 000 ms. */
  timeoutMs?: number;
  /**
   * The controller's `edge.api.sessionTimeout`: how long an API session may go without activity before the
   * controller deletes it (a Go duration, at least "1m"; the controller's default is "30m"). Activity includes
   * the router's heartbeats for sessions with an open edge connection.
   */
  apiSessionTimeout?: string;
  /** Any other ctrl.yaml scalars, by dotted key path (e.g. `{ 'edge.api.activityUpdateInterval': '5s' }`). */
  controllerConfig?: Record<string, string | number | boolean>;
}

export declare function findZitiBinary(env?: NodeJS.ProcessEnv): string | null;
export declare function startTestNetwork(options?: StartOptions): Promise<TestNetwork>;
export declare function loadTestNetwork(file: string): TestNetwork;
export declare function describeTestNetwork(network: TestNetwork): TestNetworkDescription;
