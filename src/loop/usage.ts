/**
 * Token and cost figures of an iteration or a loop, as the agent reported them. `inputTokens` counts every
 * input token, cached or not; `cachedInputTokens` and `cacheWriteTokens` say how many of those were cache
 * reads and cache writes. `costUsd` is null where the agent reports no cost.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  costUsd: number | null;
  model: string | null;
}

export function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    costUsd: null,
    model: null,
  };
}

/** The tokens a `--max-tokens` budget counts: input (cached or not) plus output. */
export function totalTokens(u: Usage): number {
  return u.inputTokens + u.outputTokens;
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    costUsd: a.costUsd === null && b.costUsd === null ? null : (a.costUsd ?? 0) + (b.costUsd ?? 0),
    model: b.model ?? a.model,
  };
}

/** The sum of the usage records given (null entries skipped); null when none has any. */
export function sumUsage(list: readonly (Usage | null | undefined)[]): Usage | null {
  let total: Usage | null = null;
  for (const u of list) if (u) total = total ? addUsage(total, u) : { ...u };
  return total;
}

/** `$0.0213`: cents and a little below, as agents bill in fractions of a cent. */
export function formatCost(usd: number | null): string {
  return usd === null ? '-' : `$${usd.toFixed(usd < 10 ? 4 : 2)}`;
}

/** `12.3k`, `1.2M`. */
export function formatTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** One line: `$0.0213 · 12.3k in (10.0k cached) / 450 out · claude-sonnet-4-5`. */
export function describeUsage(u: Usage): string {
  const cached = u.cachedInputTokens > 0 ? ` (${formatTokens(u.cachedInputTokens)} cached)` : '';
  const parts = [
    ...(u.costUsd !== null ? [formatCost(u.costUsd)] : []),
    `${formatTokens(u.inputTokens)} in${cached} / ${formatTokens(u.outputTokens)} out`,
    ...(u.model ? [u.model] : []),
  ];
  return parts.join(' · ');
}
