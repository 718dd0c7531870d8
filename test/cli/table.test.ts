/** `table` (cli/output.ts): columns as wide as their widest cell on screen, colour codes counting for nothing. */
import { describe, expect, it } from 'vitest';
import { table } from '../../cli/output.js';

describe('table', () => {
  it('pads every column but the last to its widest cell, and trims the ends of lines', () => {
    expect(
      table(
        ['A', 'BB', 'C'],
        [
          ['xyz', '', 'last one'],
          ['1', '22', ''],
        ],
      ),
    ).toBe(['A    BB  C', 'xyz      last one', '1    22'].join('\n'));
  });

  it('does not count colour codes toward a width', () => {
    const red = (s: string): string => `\x1b[31m${s}\x1b[39m`;
    const lines = table(
      ['NAME', 'STATUS', 'NOTE'],
      [
        [red('alpha'), red('crashed'), 'x'],
        ['b', 'ok', 'y'],
      ],
    ).split('\n');
    // eslint-disable-next-line no-control-regex
    const visible = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');
    expect(lines.map(visible)).toEqual(['NAME   STATUS   NOTE', 'alpha  crashed  x', 'b      ok       y']);
  });

  it('lists no rows as the header alone', () => {
    expect(table(['ONE', 'TWO'], [])).toBe('ONE  TWO');
  });
});
