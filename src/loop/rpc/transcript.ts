/** get_transcript: an iteration's transcript, re-read from its NDJSON file in the session folder. */
import type { HandlerTable } from '../../protocol/dispatch.js';
import { RpcError } from '../../protocol/errors.js';
import { readTranscript } from '../transcript.js';
import type { LoopServer } from './server.js';
import { toWireEntry } from './wire-usage.js';

export function transcriptHandlers(server: LoopServer): HandlerTable {
  const { runner } = server;
  return {
    get_transcript: ({ iteration }) => {
      const records = runner.iterations.all();
      const record = records.find((r) => r.number === iteration);
      if (!record) {
        const last = records.at(-1)?.number ?? 0;
        throw RpcError.of('NO_SUCH_ITERATION', `the loop has no iteration ${iteration} (last: ${last})`, {
          iteration,
          last,
        });
      }
      const format = record.stream ?? null;
      const entries = format ? (readTranscript(runner.files.dir, iteration, format) ?? []) : [];
      return { iteration, format, entries: entries.map(toWireEntry) };
    },
  };
}
