/**
 * The loop's meter: runs each iteration's structured stream (when the agent has one), keeps the iteration
 * records' usage current, and checks the loop's cost and token budgets after each iteration and live during
 * one, stopping the agent as soon as a budget is passed.
 */
import type { RateLimitSignal } from './rate-limit.js';
import type { AgentProcess } from './agent-process.js';
import type { AgentAdapter } from './agents/index.js';
import type { IterationLog } from './iteration-log.js';
import type { StreamFormat } from './stream/index.js';
import { IterationStream } from './transcript.js';
import type { IterationRecord, LoopConfig } from './types.js';
import { formatCost, formatTokens, sumUsage, totalTokens, type Usage } from './usage.js';

export interface Budget {
  maxCostUsd?: number | undefined;
  maxTokens?: number | undefined;
}

/** Why `spent` passes `budget` (which budget and the figures), or null while within it. */
export function budgetExceeded(budget: Budget, spent: Usage | null): string | null {
  if (!spent) return null;
  const { maxCostUsd, maxTokens } = budget;
  if (maxCostUsd !== undefined && spent.costUsd !== null && spent.costUsd > maxCostUsd) {
    return `cost budget passed: ${formatCost(spent.costUsd)} spent, limit ${formatCost(maxCostUsd)}`;
  }
  const tokens = totalTokens(spent);
  if (maxTokens !== undefined && tokens > maxTokens) {
    return `token budget passed: ${formatTokens(tokens)} tokens (${tokens}) used, limit ${maxTokens}`;
  }
  return null;
}

/** The stream format an iteration runs with, or null for plain text. */
export function streamFormatFor(config: LoopConfig, adapter: AgentAdapter): StreamFormat | null {
  if (config.output === 'text') return null;
  if (adapter.name === 'custom') return config.streamFormat ?? null;
  return adapter.streamFormat ?? null;
}

export interface MeterHooks {
  /** Receives what the terminal shows. */
  write: (chunk: Buffer) => void;
  /** Ends the running agent when a budget is passed mid-iteration. */
  stop: () => void;
  /** A diagnostic for the runner's log. */
  log: (text: string) => void;
  /** A limit the agent's stream reported (see `LoopRunner.reportRateLimit`). */
  rateLimit?: (signal: RateLimitSignal) => void;
}

export class LoopMeter {
  private stream: IterationStream | null = null;
  private current = 0;
  private liveStop: string | null = null;

  constructor(
    private readonly config: LoopConfig,
    private readonly dir: string,
    private readonly iterations: IterationLog,
    private readonly hooks: MeterHooks,
  ) {}

  /** What the loop has used so far, the running iteration included. */
  spent(): Usage | null {
    return sumUsage(this.iterations.all().map((r) => r.usage));
  }

  /** Why the loop must end `budget_exceeded`, once a budget is passed. */
  exceeded(): string | null {
    return budgetExceeded(this.config, this.spent());
  }

  /** Starts metering iteration `number`, run by `agent`. */
  begin(number: number, adapter: AgentAdapter, agent: AgentProcess): void {
    const { write, stop, log } = this.hooks;
    this.current = number;
    this.liveStop = null;
    const format = streamFormatFor(this.config, adapter);
    this.iterations.update({ stream: format, usage: null });
    const stream = format
      ? new IterationStream({
          dir: this.dir,
          iteration: number,
          format,
          write,
          log,
          onRateLimit: (signal) => this.hooks.rateLimit?.(signal),
          onUsage: (usage) => {
            this.iterations.update({ usage });
            const over = this.exceeded();
            if (over && this.liveStop === null) {
              this.liveStop = over;
              log(`stopping the agent: ${over}`);
              stop();
            }
          },
        })
      : null;
    this.stream = stream;
    if (stream) {
      agent.on('data', (chunk) => stream.feed(chunk));
      // Exit comes after the agent's last bytes: a last line without its newline is rendered then.
      agent.once('exit', () => stream.end());
    } else agent.on('data', write);
  }

  /** Completes an iteration's record with its usage and, when a budget stopped it, why. */
  finish(record: IterationRecord): IterationRecord {
    if (record.number !== this.current) return record;
    const usage = this.stream?.usage() ?? null;
    this.stream = null;
    const note = this.liveStop ? `stopped: ${this.liveStop}` : record.note;
    return this.iterations.finish({ usage, note });
  }
}
