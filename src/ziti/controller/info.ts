/** What the SDK tells the controller about itself and its host when it authenticates. */
import { arch, hostname, platform, release, version } from 'node:os';
import type { EnvInfo, SdkInfo } from './types.js';

export const SDK_TYPE = 'ralph-ts';
export const SDK_VERSION = '0.1.0';

/** The client API lives under this path on a controller. */
export const CLIENT_API_PATH = '/edge/client/v1';

export function defaultSdkInfo(overrides: Partial<SdkInfo> = {}): SdkInfo {
  return { type: SDK_TYPE, version: SDK_VERSION, branch: 'main', revision: 'unknown', ...overrides };
}

export function defaultEnvInfo(): EnvInfo {
  return {
    os: platform(),
    arch: arch(),
    osRelease: release(),
    osVersion: version(),
    hostname: hostname(),
  };
}

/** The client API base for an identity's ztAPI: a bare `https://host:port` gets `/edge/client/v1`. */
export function clientApiUrl(ztAPI: URL | string): URL {
  const url = new URL(ztAPI);
  url.search = '';
  url.hash = '';
  if (url.pathname === '' || url.pathname === '/') url.pathname = CLIENT_API_PATH;
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}
