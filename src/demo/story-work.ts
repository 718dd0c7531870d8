/** What the demo agent "implements" for a story: one small module per story and a progress.txt entry. */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Story } from '../loop/prd.js';
import { pad } from '../util/clock.js';

export function storyFileName(story: Story): string {
  return `${
    story.id
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'story'
  }.js`;
}

function identifier(id: string): string {
  const word = id.replace(/[^A-Za-z0-9]+/g, '').toLowerCase();
  return /^[a-z]/.test(word) ? word : `story${word}`;
}

export function storyModule(story: Story): string {
  const criteria = story.acceptanceCriteria.map((c) => `//  - ${c.description}`);
  return [
    `// ${story.id}: ${story.title}`,
    ...(criteria.length > 0 ? ['//', '// Acceptance criteria:', ...criteria] : []),
    '',
    `export const ${identifier(story.id)} = {`,
    `  id: ${JSON.stringify(story.id)},`,
    `  title: ${JSON.stringify(story.title)},`,
    '  done: true,',
    '};',
    '',
  ].join('\n');
}

/** Writes `src/<story>.js` under `root`; returns its path relative to `root` and its lines. */
export function writeStoryFile(root: string, story: Story): { relPath: string; lines: string[] } {
  const dir = join(root, 'src');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, storyFileName(story));
  const content = storyModule(story);
  writeFileSync(file, content);
  return { relPath: relative(root, file), lines: content.trimEnd().split('\n') };
}

function stamp(now: Date): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}`;
}

export function appendProgress(
  progressFile: string,
  story: Story,
  changed: string,
  now: Date = new Date(),
): void {
  appendFileSync(
    progressFile,
    [
      '',
      `## ${stamp(now)} - ${story.id}`,
      `- Implemented: ${story.title}`,
      `- Files changed: ${changed}`,
      '- **Learnings for future iterations:**',
      '  - Each story gets its own module under src/, named after the story id',
      '---',
      '',
    ].join('\n'),
  );
}
