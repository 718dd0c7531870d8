/** The bottom two lines: what the keys do (or the question being asked), and the latest notice. */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import { clip } from '../format.js';
import type { Mode, Notice } from '../state/types.js';

export interface FooterProps {
  mode: Mode;
  notice: Notice | null;
  width: number;
  color: boolean;
  /** Remote names to offer when starting a loop. */
  locations: string[];
}

/** Every key has a hint at 80 columns; `tab` (its views are numbered in the pane title) joins from 90. */
export const KEY_HINTS = '↵ attach  i keys  s stop  p pause  + iters  n new  / filter  ? help  q quit';
export const KEY_HINTS_WIDE =
  '↵ attach  i keys  s stop  p pause  + iters  n new  / filter  tab view  ? help  q quit';

export function Footer({ mode, notice, width, color, locations }: FooterProps): ReactNode {
  return (
    <>
      <Text wrap="truncate" {...(mode.kind === 'list' ? { dimColor: true } : { bold: true })}>
        {clip(prompt(mode, locations, width), width)}
      </Text>
      <NoticeLine notice={notice} width={width} color={color} />
    </>
  );
}

function prompt(mode: Mode, locations: string[], width: number): string {
  switch (mode.kind) {
    case 'list':
    case 'help':
      return width >= KEY_HINTS_WIDE.length ? KEY_HINTS_WIDE : KEY_HINTS;
    case 'confirm-stop':
      return `Stop ${mode.task}? The agent gets SIGTERM. y = stop, n or Esc = keep it running`;
    case 'input':
      return `${INPUT_LABELS[mode.purpose]}: ${mode.value}█  (↵ ok, Esc cancel)`;
    case 'pick-location':
      return `Start ${mode.folder} on: ${locations
        .map((l, i) => (i === mode.choice ? `[${l}]` : ` ${l} `))
        .join('')}  (←/→ choose, ↵ start, Esc cancel)`;
  }
}

export const INPUT_LABELS = {
  filter: 'Filter',
  iterations: 'Iterations to add',
  'new-folder': 'Task folder',
  'new-agent': 'Agent',
} as const;

function NoticeLine({
  notice,
  width,
  color,
}: {
  notice: Notice | null;
  width: number;
  color: boolean;
}): ReactNode {
  if (!notice) return <Text> </Text>;
  const tint = notice.kind === 'error' ? 'red' : notice.kind === 'pending' ? 'yellow' : 'green';
  const mark = notice.kind === 'error' ? '✗ ' : notice.kind === 'pending' ? '… ' : '✓ ';
  return (
    <Text wrap="truncate" {...(color ? { color: tint } : {})}>
      {clip(mark + notice.text, width)}
    </Text>
  );
}
