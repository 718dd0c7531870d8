/**
 * A loop's rendered terminal as text, from the screen model (never raw bytes). The bottom of the screen is
 * what matters, so a screen taller than the pane shows its last lines; with history, earlier lines can be
 * scrolled back to.
 */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { ScreenText } from '../../src/client/fleet/index.js';
import { clip } from '../format.js';

export interface ScreenViewProps {
  screen: ScreenText | null;
  width: number;
  height: number;
  /** Lines scrolled up from the bottom. */
  scroll: number;
  withHistory?: boolean;
}

export function ScreenView({ screen, width, height, scroll, withHistory }: ScreenViewProps): ReactNode {
  if (!screen) return <Text dimColor>no screen to show</Text>;
  const all = withHistory ? [...screen.history, ...screen.lines] : [...screen.lines];
  while (all.length > 0 && all.at(-1)!.trim() === '') all.pop();
  if (all.length === 0) return <Text dimColor>(the screen is blank)</Text>;
  const lines = withHistory && scroll > 0 ? height - 1 : height;
  const end = Math.max(Math.min(all.length, lines), all.length - scroll);
  const shown = all.slice(Math.max(0, end - lines), end);
  return (
    <>
      {shown.map((line, i) => (
        <Text key={i} wrap="truncate">
          {clip(line, width) || ' '}
        </Text>
      ))}
      {withHistory && scroll > 0 && (
        <Text dimColor>{clip(`── ${all.length - end} lines below (End to follow) ──`, width)}</Text>
      )}
    </>
  );
}
