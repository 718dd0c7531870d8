/** The iteration history, newest at the bottom. */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { IterationRecord } from '../../src/protocol/index.js';
import { clip, fit } from '../format.js';

export interface IterationsViewProps {
  iterations: IterationRecord[] | null;
  width: number;
  height: number;
}

export function IterationsView({ iterations, width, height }: IterationsViewProps): ReactNode {
  if (!iterations) return <Text dimColor>no iteration history to show</Text>;
  if (iterations.length === 0) return <Text dimColor>no iteration has started yet</Text>;
  const header = `${fit('#', 4)} ${fit('STARTED', 8)} ${fit('TOOK', 6)} ${fit('EXIT', 6)} ${fit('STORY', 17)} OUTCOME`;
  const shown = iterations.slice(-Math.max(1, height - 1));
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
              it.outcome,
            ].join(' '),
            width,
          )}
        </Text>
      ))}
    </>
  );
}

function took(start: string, end: string | null): string {
  if (!end) return '…';
  const s = Math.round((Date.parse(end) - Date.parse(start)) / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h`;
}
