/** The top line: how many loops, how many running, and the filter in force. */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { FleetRow } from '../../src/client/fleet/index.js';
import { clip } from '../format.js';

export function Header({
  rows,
  filter,
  width,
}: {
  rows: FleetRow[];
  filter: string;
  width: number;
}): ReactNode {
  const running = rows.filter((r) => r.link.state !== 'ended').length;
  const parts = [`ralph · ${rows.length} loop${rows.length === 1 ? '' : 's'}`, `${running} active`];
  if (filter) parts.push(`filter: ${filter}`);
  return (
    <Text bold wrap="truncate">
      {clip(parts.join(' · ') + '   ? help · q quit', width)}
    </Text>
  );
}
