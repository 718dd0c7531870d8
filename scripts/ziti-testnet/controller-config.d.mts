// Types for controller-config.mjs.

export declare function apiSessionTimeoutPatch(timeout: string): (yaml: string) => string;
export declare function setYamlScalar(text: string, path: string, value: string | number | boolean): string;
