/**
 * Numbers of the OpenZiti channel protocol (version 2 framing), as spoken by edge routers.
 *
 * Frame: magic `03 06 09 0C`, then four little-endian int32 fields (content type, sequence, headers length,
 * body length), then the headers (each: int32 key, int32 length, bytes) and the body.
 */

export const FRAME_MAGIC = Buffer.from([0x03, 0x06, 0x09, 0x0c]);
/** Magic of a peer's "unknown version" answer: it is followed by a count and a list of versions. */
export const UNKNOWN_VERSION_MAGIC = Buffer.from([0x03, 0x06, 0x09, 0x0a]);
/** Bytes before the headers: magic + content type + sequence + headers length + body length. */
export const FRAME_PREFIX_LENGTH = 20;
/** Largest frame (headers + body) accepted by default. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Built-in content types of the channel layer. */
export const ChannelContentType = {
  hello: 0,
  ping: 1,
  result: 2,
  latency: 3,
  latencyResponse: 4,
  heartbeat: 5,
  raw: 6,
} as const;

/** Header ids 0..127 belong to the channel layer; 128 is reflected into replies. */
export const ChannelHeader = {
  connectionId: 0,
  replyFor: 1,
  resultSuccess: 2,
  helloRouterAdvertisements: 3,
  helloVersion: 4,
  heartbeat: 5,
  heartbeatResponse: 6,
  type: 7,
  id: 8,
  isGrouped: 9,
  groupSecret: 10,
  isFirstGroupConnection: 11,
  underlayType: 12,
  helloRejectClass: 13,
  reflected: 128,
} as const;

/** The sequence number the hello and its answer carry. */
export const HELLO_SEQUENCE = -1;
