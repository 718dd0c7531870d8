/** The fleet: one line per loop, the selected one inverted, scrolled to keep it in view. */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { FleetRow } from '../../src/client/fleet/index.js';
import { isTerminal } from '../../src/registry/index.js';
import { age, clip, fit, shownStatus, statusColor, where } from '../format.js';

export interface LoopListProps {
  rows: FleetRow[];
  selectedKey: string | null;
  width: number;
  /** Lines available, the column header included. */
  height: number;
  now: number;
  color: boolean;
  ready: boolean;
  filter: string;
  /** Rows before the filter, to tell "no loops" from "none match". */
  total: number;
}

type Column = 'TASK' | 'WHERE' | 'STATUS' | 'ITER' | 'STORY' | 'AGENT' | 'AGE';
const WIDTHS: Record<Column, number> = {
  TASK: 14,
  WHERE: 9,
  STATUS: 11,
  ITER: 7,
  STORY: 8,
  AGENT: 8,
  AGE: 4,
};
const WIDE: readonly Column[] = ['TASK', 'WHERE', 'STATUS', 'ITER', 'STORY', 'AGENT', 'AGE'];
/** Below 100 columns the agent gives way to the last output line (the detail title still names it). */
const NARROW: readonly Column[] = ['TASK', 'WHERE', 'STATUS', 'ITER', 'STORY', 'AGE'];

export function LoopList(props: LoopListProps): ReactNode {
  const { rows, width, height } = props;
  const columns = width < 100 ? NARROW : WIDE;
  const fixed = columns.reduce((sum, c) => sum + WIDTHS[c] + 1, 2);
  const lastWidth = Math.max(0, width - fixed);
  const header =
    '  ' + columns.map((c) => fit(c, WIDTHS[c])).join(' ') + ' ' + clip('LAST OUTPUT', lastWidth);
  const body = Math.max(1, height - 1);
  if (rows.length === 0) {
    const text = !props.ready
      ? 'reading the registry…'
      : props.total === 0
        ? 'no loops yet: press n to start one, or run ralph start <task-dir>'
        : `no loop matches the filter "${props.filter}" (press / to change it)`;
    return (
      <Box flexDirection="column" height={height}>
        <Text bold>{clip(header, width)}</Text>
        <Text dimColor>{clip('  ' + text, width)}</Text>
      </Box>
    );
  }
  const selected = Math.max(
    0,
    rows.findIndex((r) => r.key === props.selectedKey),
  );
  const first = Math.min(Math.max(0, selected - body + 1), Math.max(0, rows.length - body));
  const shown = rows.slice(first, first + body);
  return (
    <Box flexDirection="column" height={height} width={width}>
      <Text bold>{clip(header, width)}</Text>
      {shown.map((row) => (
        <LoopLine
          key={row.key}
          row={row}
          selected={row.key === rows[selected]?.key}
          columns={columns}
          lastWidth={lastWidth}
          now={props.now}
          color={props.color}
        />
      ))}
    </Box>
  );
}

interface LoopLineProps {
  row: FleetRow;
  columns: readonly Column[];
  selected: boolean;
  lastWidth: number;
  now: number;
  color: boolean;
}

function LoopLine({ row, columns, selected, lastWidth, now, color }: LoopLineProps): ReactNode {
  const status = shownStatus(row);
  const text: Record<Column, string> = {
    TASK: row.task,
    WHERE: where(row),
    STATUS: status,
    ITER: `${row.iteration}/${row.maxIterations}`,
    STORY: row.currentStory ?? '-',
    AGENT: row.agent,
    AGE: age(row.startedAt, now),
  };
  const cells = (list: readonly Column[]): string => list.map((c) => fit(text[c], WIDTHS[c])).join(' ');
  const at = columns.indexOf('STATUS');
  const before = (selected ? '▸ ' : '  ') + cells(columns.slice(0, at)) + ' ';
  // An ended loop says why it ended; a running one shows what it printed last.
  const last = (isTerminal(row.status) ? (row.exitReason ?? row.lastLine) : row.lastLine)?.trim();
  // Only the selected line is padded to the full width, for its inverse bar: Ink trims the spaces at the end
  // of every other line anyway, after taking each of them apart on every frame.
  const after = ' ' + cells(columns.slice(at + 1)) + ' ' + (selected ? fit : clip)(last ?? '', lastWidth);
  return (
    <Text inverse={selected} wrap="truncate">
      {before}
      <Text {...(color && statusColor(status) ? { color: statusColor(status) } : {})}>
        {fit(status, WIDTHS.STATUS)}
      </Text>
      {after}
    </Text>
  );
}
