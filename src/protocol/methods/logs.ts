/** The append-only output log, read by byte offset. */
import { z } from 'zod';
import { defineMethod } from '../spec.js';
import { byteOffset } from '../schemas.js';

export const MAX_LOG_CHUNK = 1024 * 1024;
export const DEFAULT_LOG_CHUNK = 64 * 1024;

const encoding = z.enum(['utf8', 'base64']);

export const logMethods = {
  get_logs: defineMethod({
    summary:
      'Up to `limit` bytes of the raw output log from byte `offset`. Continue from `next_offset`; ' +
      '`end_offset` is the log size now. With `utf8`, a chunk ends on a character boundary: when `limit` ' +
      'is smaller than the character at `offset`, that whole character (up to 4 bytes) is returned.',
    access: 'read',
    params: z.strictObject({
      offset: byteOffset.default(0),
      limit: z.number().int().min(1).max(MAX_LOG_CHUNK).default(DEFAULT_LOG_CHUNK),
      encoding: encoding.default('utf8'),
    }),
    result: z.object({
      content: z.string(),
      offset: byteOffset,
      next_offset: byteOffset,
      end_offset: byteOffset,
      encoding,
    }),
    example: {
      params: { offset: 0, limit: 16 },
      result: {
        content: 'Running tests...',
        offset: 0,
        next_offset: 16,
        end_offset: 182734,
        encoding: 'utf8',
      },
    },
    errors: ['OFFSET_OUT_OF_RANGE'],
  }),
};
