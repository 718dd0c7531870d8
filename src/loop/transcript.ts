/**
 * One iteration's structured agent stream: the raw JSON lines go to `transcript-<n>.ndjson` in the session
 * folder (so the transcript outlives the runner), each line is parsed into transcript entries and usage, and
 * what reaches the terminal is rendered text instead of JSON.
 */
import type { RateLimitSignal } from './rate-limit.js';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import {
  LineDecoder,
  renderEntries,
  STREAM_PARSERS,
  type StreamFormat,
  type TranscriptEntry,
} from './stream/index.js';
import type { UsageUpdate } from './stream/types.js';
import { sumUsage, type Usage } from './usage.js';

export function transcriptFile(dir: string, iteration: number): string {
  return join(dir, `transcript-${iteration}.ndjson`);
}

export interface IterationStreamOptions {
  dir: string;
  iteration: number;
  format: StreamFormat;
  /** Receives the terminal bytes: text that passed through and rendered entries, in order. */
  write(chunk: Buffer): void;
  /** The iteration's usage so far, each time it changes. */
  onUsage(usage: Usage): void;
  /** The agent reported that a rate or usage limit refused it (Claude Code's `rate_limit_event`, `rejected`). */
  onRateLimit?(signal: RateLimitSignal): void;
  /** A diagnostic (the transcript file could not be written). */
  log(text: string): void;
}

export class IterationStream {
  private readonly decoder = new LineDecoder();
  private readonly parse;
  private fd: number | null;
  private readonly keyed = new Map<string, Usage>();
  private readonly added: Usage[] = [];
  private final: Usage | null = null;

  constructor(private readonly opts: IterationStreamOptions) {
    this.parse = STREAM_PARSERS[opts.format];
    const file = transcriptFile(opts.dir, opts.iteration);
    try {
      this.fd = openSync(file, 'a', 0o600);
    } catch (err) {
      this.fd = null;
      opts.log(`cannot write the transcript ${file}: ${errorMessage(err)}`);
    }
  }

  /** The agent's PTY bytes. */
  feed(chunk: Buffer): void {
    this.handle(this.decoder.push(chunk));
  }

  /** The agent has exited: a last line without its newline is handled, and the file closed. */
  end(): void {
    this.handle(this.decoder.flush());
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  usage(): Usage | null {
    const counted = sumUsage([...this.keyed.values(), ...this.added]);
    if (!this.final) return counted;
    return { ...this.final, model: this.final.model ?? counted?.model ?? null };
  }

  private handle(lines: ReturnType<LineDecoder['push']>): void {
    const out: Buffer[] = [];
    let usageChanged = false;
    for (const line of lines) {
      if ('text' in line) {
        out.push(line.text);
        continue;
      }
      this.record(line.raw);
      const parsed = this.parse(line.json);
      if (!parsed) continue; // an event kind this version does not know: kept in the file, not shown
      if (parsed.entries.length > 0) out.push(Buffer.from(renderEntries(parsed.entries)));
      for (const entry of parsed.entries) {
        if (entry.kind !== 'rate_limit' || entry.status !== 'rejected') continue;
        const type = entry.limitType ? ` (${entry.limitType})` : '';
        this.opts.onRateLimit?.({
          message: `rate limit ${entry.status}${type}`,
          ...(entry.resetsAt ? { resetAt: new Date(entry.resetsAt) } : {}),
        });
      }
      if (parsed.usage) {
        this.count(parsed.usage);
        usageChanged = true;
      }
    }
    const bytes = Buffer.concat(out);
    if (bytes.length > 0) this.opts.write(bytes);
    const usage = usageChanged ? this.usage() : null;
    if (usage) this.opts.onUsage(usage);
  }

  private count(update: UsageUpdate): void {
    if (update.total) this.final = update.usage;
    else if (update.key !== undefined) this.keyed.set(update.key, update.usage);
    else this.added.push(update.usage);
  }

  private record(raw: string): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, `${raw}\n`);
    } catch (err) {
      this.opts.log(
        `stopped writing the transcript of iteration ${this.opts.iteration}: ${errorMessage(err)}`,
      );
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/** An iteration's transcript, re-read from its NDJSON file; null when the iteration has none. */
export function readTranscript(
  dir: string,
  iteration: number,
  format: StreamFormat,
): TranscriptEntry[] | null {
  let text: string;
  try {
    text = readFileSync(transcriptFile(dir, iteration), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parse = STREAM_PARSERS[format];
  const entries: TranscriptEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(...(parse(JSON.parse(line) as unknown)?.entries ?? []));
    } catch {
      // a line cut short by a crash: skipped
    }
  }
  return entries;
}
