import { Box } from 'ink';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { lines, widest } from '../test-fixtures.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { HelpScreen, KEY_MAP } from './HelpScreen.js';

let unmount: (() => void) | null = null;
afterEach(() => {
  unmount?.();
  unmount = null;
});

/** The help screen as the layout shows it on an 80×24 terminal: header, help, the two footer lines. */
function showAt80x24(): string {
  const r = render(
    <Box flexDirection="column" width={80}>
      <Header rows={[]} filter="" width={80} />
      <HelpScreen width={80} height={24 - 3} />
      <Footer mode={{ kind: 'help' }} notice={null} width={80} color={false} locations={['local']} />
    </Box>,
  );
  unmount = r.unmount;
  return r.lastFrame() ?? '';
}

describe('HelpScreen', () => {
  it('lists every key with all of what it does', () => {
    const frame = showAt80x24();
    const plain = lines(frame);
    for (const [key, what] of KEY_MAP) {
      const line = plain.find((l) => l.startsWith(`  ${key.padEnd(12)} `));
      expect(line, `no line for ${key}:\n${frame}`).toBeDefined();
      expect(line).toContain(what);
    }
  });

  it('explains the marks of the list', () => {
    const frame = showAt80x24();
    for (const mark of ['▸', '✓', '✗', '…']) expect(frame).toMatch(new RegExp(`^ {2}${mark} `, 'm'));
  });

  it('fits an 80×24 terminal', () => {
    const frame = showAt80x24();
    expect(widest(frame)).toBeLessThanOrEqual(80);
    expect(lines(frame).length).toBeLessThanOrEqual(24);
    // Nothing was cut to fit.
    const cut = lines(frame).filter((l) => l.trimEnd().endsWith('…'));
    expect(cut).toEqual([]);
  });

  it('cuts lines to a narrower width instead of wrapping them', () => {
    const r = render(<HelpScreen width={40} height={30} />);
    unmount = r.unmount;
    const frame = r.lastFrame() ?? '';
    expect(widest(frame)).toBeLessThanOrEqual(40);
    // One line per key: the heading, the keys, a blank line and the marks.
    expect(lines(frame).filter((l) => l.trim() !== '')).toHaveLength(1 + KEY_MAP.length + 4);
  });
});
