/** The agent stream formats ralph reads, by name. */
import { parseClaude } from './claude.js';
import { parseCodex } from './codex.js';
import type { StreamFormat, StreamParser } from './types.js';

export { STREAM_FORMATS, type StreamFormat, type TranscriptEntry, type ParsedEvent } from './types.js';
export { renderEntries } from './render.js';
export { LineDecoder, type DecodedLine } from './decoder.js';

export const STREAM_PARSERS: Record<StreamFormat, StreamParser> = {
  claude: parseClaude,
  codex: parseCodex,
};
