/** The `?` screen: every key, and what the marks in the list mean. */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { clip } from '../format.js';

export const KEY_MAP: readonly [string, string][] = [
  ['↑ ↓  k j', 'select a loop'],
  ['enter', 'attach: its live terminal; Ctrl-] d comes back here'],
  ['i', 'attach with the keyboard (interactive on); Ctrl-] i gives it back'],
  ['s', 'stop the loop (asks first)'],
  ['p', 'pause or resume the loop'],
  ['+', 'add iterations to the loop'],
  ['n', 'start a new loop on a task folder'],
  ['/', 'filter the list (task, where, status, agent, story)'],
  ['tab  1-4', 'detail view: screen, output, iterations, stories'],
  ['PgUp PgDn', 'scroll the output view; End follows again'],
  ['Esc', 'clear the message and the filter'],
  ['?', 'this help (any key closes it)'],
  ['q  Ctrl-C', 'quit (loops keep running)'],
];

const MARKS: readonly [string, string][] = [
  ['▸', 'the selected loop; in stories, the one worked on next'],
  ['✓', 'a story that passes'],
  ['✗', 'after WHERE: the loop or its remote cannot be reached now'],
  ['…', 'after WHERE: connecting'],
];

export function HelpScreen({ width, height }: { width: number; height: number }): ReactNode {
  const line = (key: string, what: string): string => clip(`  ${key.padEnd(12)} ${what}`, width);
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Text bold>{clip('ralph: keys', width)}</Text>
      {KEY_MAP.map(([key, what]) => (
        <Text key={key}>{line(key, what)}</Text>
      ))}
      <Text> </Text>
      {MARKS.map(([mark, what]) => (
        <Text key={mark}>{line(mark, what)}</Text>
      ))}
    </Box>
  );
}
