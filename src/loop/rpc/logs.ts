/** get_logs: the output log by byte offset. */
import { RpcError, type HandlerTable } from '../../protocol/index.js';
import { utf8SafeLength } from '../output-log.js';
import type { LoopServer } from './server.js';

export function logHandlers(server: LoopServer): HandlerTable {
  const { runner } = server;
  return {
    get_logs: ({ offset = 0, limit = 65536, encoding = 'utf8' }) => {
      const end = runner.log.end;
      if (offset > end) {
        throw RpcError.of('OFFSET_OUT_OF_RANGE', `offset ${offset} is past the end of the log (${end})`, {
          offset,
          end_offset: end,
        });
      }
      let chunk = runner.log.read(offset, limit);
      if (encoding === 'utf8') {
        const keep = utf8SafeLength(chunk);
        // A chunk that is one partial character long still advances, or the reader would never move.
        if (keep > 0) chunk = chunk.subarray(0, keep);
      }
      return {
        content: chunk.toString(encoding),
        offset,
        next_offset: offset + chunk.length,
        end_offset: end,
        encoding,
      };
    },
  };
}
