// Types for controller-config.mjs.
import type { StartOptions } from '../ziti-testnet-lib.mjs';

export type ControllerSettings = Record<string, string | number | boolean>;

export declare function controllerSettings(options: StartOptions): ControllerSettings;
export declare function setYamlScalar(text: string, path: string, value: string | number | boolean): string;
export declare function patchControllerConfig(file: string, settings: ControllerSettings): void;
