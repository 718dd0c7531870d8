/**
 * Numbers of the OpenZiti edge protocol carried over a channel between an SDK and an edge router.
 */

export const EdgeContentType = {
  connect: 60783,
  stateConnected: 60784,
  stateClosed: 60785,
  data: 60786,
  dial: 60787,
  dialSuccess: 60788,
  dialFailed: 60789,
  bind: 60790,
  unbind: 60791,
  stateSessionEnded: 60792,
  probe: 60793,
  updateBind: 60794,
  healthEvent: 60795,
  traceRoute: 60796,
  traceRouteResponse: 60797,
  connInspectRequest: 60798,
  connInspectResponse: 60799,
  bindSuccess: 60800,
  updateTokenSuccess: 60801,
  updateTokenFailure: 60802,
  updateToken: 60803,
  inspectRequest: 60804,
  inspectResponse: 60805,
} as const;

export const EdgeHeader = {
  uuid: 128,
  connId: 1000,
  seq: 1001,
  sessionToken: 1002,
  publicKey: 1003,
  cost: 1004,
  precedence: 1005,
  terminatorIdentity: 1006,
  terminatorIdentitySecret: 1007,
  callerId: 1008,
  cryptoMethod: 1009,
  flags: 1010,
  appData: 1011,
  routerProvidedConnId: 1012,
  healthStatus: 1013,
  errorCode: 1014,
  timestamp: 1015,
  traceHopCount: 1016,
  traceHopType: 1017,
  traceHopId: 1018,
  traceSourceRequestId: 1019,
  traceError: 1020,
  listenerId: 1021,
  connType: 1022,
  supportsInspect: 1023,
  supportsBindSuccess: 1024,
  connectionMarker: 1025,
  circuitId: 1026,
  stickinessToken: 1027,
  useXgressToSdk: 1028,
  xgressCtrlId: 1029,
  xgressAddress: 1030,
  inspectRequestedValues: 1031,
  supportsPostureChecks: 1032,
  structuredError: 1033,
  dialerIdentityId: 1034,
  dialerIdentityName: 1035,
} as const;

/** Bits of the flags header (1010) on data messages. */
export const EdgeFlag = {
  /** The sender will write no more: a half-close. */
  fin: 1,
  traceUuid: 2,
  /** The sender accepts multipart data messages. */
  multipart: 4,
  stream: 8,
  /** This data message holds several parts, each prefixed by a little-endian uint16 length. */
  multipartMsg: 16,
} as const;

/** Value of the crypto-method header: libsodium kx + secretstream. */
export const CRYPTO_METHOD_LIBSODIUM = 0;

/** Connection ids the router assigns to hosted connections start above this value. */
export const ROUTER_CONN_ID_FLOOR = 0x7fffffff;

/** Conn type values of a ConnInspectResponse. */
export const EdgeConnType = { dial: 1, bind: 2 } as const;
