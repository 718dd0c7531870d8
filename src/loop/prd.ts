/**
 * The prd.json model: load and validate any of the three schemas (original, ralph-uv 2.x, ralph-tui), pick the
 * story to work on, count progress, and write a story's `passes` back. Details live in `./prd/`.
 */
import { RalphError, ExitCode } from '../errors.js';
import type { Prd, Story } from './prd/model.js';
import { parsePrd } from './prd/parse.js';
import { readErrorText, readRegularFile } from '../util/read-file.js';

export type { AcceptanceCriterion, Prd, PrdSchemaName, Story } from './prd/model.js';
export type { PrdProblem } from './prd/issues.js';
export { parsePrd } from './prd/parse.js';
export { markStoryPassing, setStoryPasses } from './prd/write.js';

export function loadPrd(file: string): Prd {
  let text: string;
  try {
    text = readRegularFile(file);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new RalphError(
      'INVALID_TASK',
      missing ? `${file} not found` : `cannot read ${file}: ${readErrorText(err)}`,
      {
        exitCode: ExitCode.invalidTask,
        hint: missing
          ? 'a task folder holds prd.json, prompt.md and progress.txt (see docs/tasks.md)'
          : undefined,
        cause: err,
      },
    );
  }
  return parsePrd(text, file);
}

/**
 * The story to work on: among stories not passing whose dependencies all pass, the lowest `priority` number;
 * ties go to the story that comes first in the file. Null when every story passes.
 */
export function currentStory(prd: Prd): Story | null {
  const passing = new Set(prd.stories.filter((s) => s.passes).map((s) => s.id));
  let best: Story | null = null;
  for (const story of prd.stories) {
    if (story.passes || !story.dependsOn.every((dep) => passing.has(dep))) continue;
    if (best === null || story.priority < best.priority) best = story;
  }
  return best;
}

export function allPassing(prd: Prd): boolean {
  return prd.stories.every((s) => s.passes);
}

export function storyCounts(prd: Prd): { total: number; passing: number } {
  return { total: prd.stories.length, passing: prd.stories.filter((s) => s.passes).length };
}
