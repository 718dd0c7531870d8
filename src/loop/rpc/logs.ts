/** get_logs: the output log by byte offset. */
import type { HandlerTable } from '../../protocol/dispatch.js';
import { RpcError } from '../../protocol/errors.js';
import { utf8SafeLength, utf8SequenceLength } from '../output-log.js';
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
        if (keep > 0) chunk = chunk.subarray(0, keep);
        // `limit` is shorter than the character at `offset`: that whole character (at most 4 bytes) comes
        // instead. Only a character the log ends in the middle of is handed out partial, so readers move on.
        else if (chunk.length > 0) chunk = runner.log.read(offset, utf8SequenceLength(chunk[0]!));
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
