/**
 * Writes a story's `passes` back into prd.json. Only the raw JSON is touched, so the file keeps its own
 * schema, key order and extra fields; indentation follows the file (two spaces when it cannot be told).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { RalphError, ExitCode } from '../../errors.js';
import type { Prd } from './model.js';
import { parsePrd } from './parse.js';
import { readErrorText, readRegularFile } from '../../util/read-file.js';

function detectIndent(text: string): string | number {
  const match = /\n([ \t]+)\S/.exec(text);
  return match?.[1] ?? 2;
}

function readText(file: string): string {
  try {
    return readRegularFile(file);
  } catch (err) {
    throw new RalphError('INVALID_TASK', `cannot read ${file}: ${readErrorText(err)}`, {
      exitCode: ExitCode.invalidTask,
      cause: err,
    });
  }
}

/** Marks story `id` as passing (and, in ralph-uv 2.x files, each of its criteria); returns the re-read model. */
export function markStoryPassing(file: string, id: string): Prd {
  return setStoryPasses(file, id, true);
}

/** Sets story `id`'s `passes` (and, in ralph-uv 2.x files, each of its criteria); returns the re-read model. */
export function setStoryPasses(file: string, id: string, passes: boolean): Prd {
  const text = readText(file);
  const prd = parsePrd(text, file);
  const raw = prd.raw as { userStories: Array<Record<string, unknown>> };
  const story = raw.userStories.find((s) => s.id === id);
  if (story === undefined) {
    throw new RalphError('STORY_NOT_FOUND', `${file}: no story with id ${JSON.stringify(id)}`, {
      exitCode: ExitCode.notFound,
      data: { file, id, known: prd.stories.map((s) => s.id) },
    });
  }
  story.passes = passes;
  if (prd.schema === 'uv2' && Array.isArray(story.acceptanceCriteria)) {
    for (const criterion of story.acceptanceCriteria as unknown[]) {
      if (criterion !== null && typeof criterion === 'object')
        (criterion as Record<string, unknown>).passes = passes;
    }
  }
  const out = JSON.stringify(raw, null, detectIndent(text)) + (text.endsWith('\n') ? '\n' : '');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, out);
  renameSync(tmp, file);
  return parsePrd(out, file);
}
