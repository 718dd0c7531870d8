export { startWebServer, MAX_SOCKETS, type WebServer, type WebServerOptions } from './server.js';
export { MAX_FAILED_TOKENS, FAILURE_WINDOW_MS } from './auth.js';
export type { WebRow } from './api.js';
