/** The task's stories with pass marks; the one the loop works on next is pointed at. */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { StorySummary } from '../../src/protocol/index.js';
import { clip } from '../format.js';

export interface StoriesViewProps {
  stories: StorySummary[] | null;
  current: string | null;
  width: number;
  height: number;
  color: boolean;
}

export function StoriesView({ stories, current, width, height, color }: StoriesViewProps): ReactNode {
  if (!stories) return <Text dimColor>no stories to show</Text>;
  const passing = stories.filter((s) => s.passes).length;
  const room = Math.max(1, height - 1);
  const shown = stories.length > room ? stories.slice(0, Math.max(1, room - 1)) : stories;
  return (
    <>
      <Text bold>{clip(`${passing}/${stories.length} stories pass`, width)}</Text>
      {shown.map((s) => {
        const mark = s.passes ? '✓' : s.id === current ? '▸' : '·';
        const tint = s.passes ? 'green' : s.id === current ? 'yellow' : undefined;
        return (
          <Text key={s.id} wrap="truncate" {...(color && tint ? { color: tint } : {})}>
            {clip(`${mark} ${s.id}  ${s.title}`, width)}
          </Text>
        );
      })}
      {stories.length > shown.length && (
        <Text dimColor>{clip(`… ${stories.length - shown.length} more`, width)}</Text>
      )}
    </>
  );
}
