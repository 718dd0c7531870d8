import type { TestNetwork } from '../ziti-testnet-lib.d.mts';

/** Creates the daemon's service and writes its configuration (the client identity gets the control role). */
export declare function provisionDaemon(
  net: TestNetwork,
  options: { service: string; workspace: string; configFile: string; maxLoops: number },
): Promise<{ service: string; laptopId: string }>;
