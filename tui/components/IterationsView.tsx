/** The iteration history, newest at the bottom. */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { IterationRecord } from '../../src/protocol/index.js';
import { formatCost, formatTokens } from '../../src/loop/usage.js';
import { clip, fit } from '../format.js';

export interface IterationsViewProps {
  iterations: IterationRecord[] | null;
  width: number;
  height: number;
}

export function IterationsView({ iterations, width, height }: IterationsViewProps): ReactNode {
  if (!iterations) return <Text dimColor>no iteration history to show</Text>;
  if (iterations.length === 0) return <Text dimColor>no iteration has started yet</Text>;
  const header = `${fit('#', 4)} ${fit('STARTED', 8)} ${fit('TOOK', 6)} ${fit('EXIT', 6)} ${fit('STORY', 17)} ${fit('COST', 8)} OUTCOME`;
  const total = totalLine(iterations);
  const shown = iterations.slice(-Math.max(1, height - 1 - (total ? 1 : 0)));
  return (
    <>
      <Text bold>{clip(header, width)}</Text>
      {shown.map((it) => (
        <Text key={it.number} wrap="truncate">
          {clip(
            [
              fit(String(it.number), 4),
              fit(it.started_at.slice(11, 19), 8),
              fit(took(it.started_at, it.ended_at), 6),
              fit(it.signal ?? (it.exit_code === null ? '-' : String(it.exit_code)), 6),
              fit(`${it.story_before ?? '-'}→${it.story_after ?? '…'}`, 17),
              fit(it.usage ? formatCost(it.usage.cost_usd) : '-', 8),
              it.outcome,
            ].join(' '),
            width,
          )}
        </Text>
      ))}
      {total ? <Text dimColor>{clip(total, width)}</Text> : null}
    </>
  );
}

/** `total $0.0600 · 70.2k tokens`, when any iteration reported usage. */
function totalLine(iterations: IterationRecord[]): string | null {
  const used = iterations.flatMap((it) => (it.usage ? [it.usage] : []));
  if (used.length === 0) return null;
  const costs = used.flatMap((u) => (u.cost_usd === null ? [] : [u.cost_usd]));
  const cost = costs.length > 0 ? `${formatCost(costs.reduce((a, b) => a + b, 0))} · ` : '';
  const tokens = used.reduce((n, u) => n + u.input_tokens + u.output_tokens, 0);
  return `total ${cost}${formatTokens(tokens)} tokens`;
}

function took(start: string, end: string | null): string {
  if (!end) return '…';
  const s = Math.round((Date.parse(end) - Date.parse(start)) / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h`;
}
