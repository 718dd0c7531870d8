/** Checks the starter's output and budget options: one clear usage error for each bad value. */
import { ExitCode, RalphError } from '../errors.js';
import { STREAM_FORMATS, type StreamFormat } from './stream/types.js';
import type { LoopConfig } from './types.js';

export interface OutputOptions {
  agent: string;
  output?: string | undefined;
  streamFormat?: string | undefined;
  maxCostUsd?: number | undefined;
  maxTokens?: number | undefined;
}

type Checked = Pick<LoopConfig, 'output' | 'streamFormat' | 'maxCostUsd' | 'maxTokens'>;

function invalid(message: string): RalphError {
  return new RalphError('INVALID_OPTION', message, { exitCode: ExitCode.usage });
}

export function checkOutputOptions(o: OutputOptions): Checked {
  const checked: Checked = {};
  if (o.output !== undefined) {
    if (o.output !== 'text' && o.output !== 'json')
      throw invalid(`--output must be text or json, got '${o.output}'`);
    checked.output = o.output;
  }
  if (o.streamFormat !== undefined) {
    if (!(STREAM_FORMATS as readonly string[]).includes(o.streamFormat)) {
      throw invalid(`--stream-format must be one of ${STREAM_FORMATS.join(', ')}, got '${o.streamFormat}'`);
    }
    if (o.agent !== 'custom') throw invalid('--stream-format is for --agent custom only');
    checked.streamFormat = o.streamFormat as StreamFormat;
  }
  if (o.maxCostUsd !== undefined) {
    if (!Number.isFinite(o.maxCostUsd) || o.maxCostUsd <= 0) {
      throw invalid(`--max-cost must be a positive amount of US dollars, got ${o.maxCostUsd}`);
    }
    checked.maxCostUsd = o.maxCostUsd;
  }
  if (o.maxTokens !== undefined) {
    if (!Number.isSafeInteger(o.maxTokens) || o.maxTokens < 1) {
      throw invalid(`--max-tokens must be a whole number of at least 1, got ${o.maxTokens}`);
    }
    checked.maxTokens = o.maxTokens;
  }
  return checked;
}
