/**
 * Which of the three prd.json schemas a parsed document is written in. `schemaVersion` "2.x" means ralph-uv;
 * a `name` without `project`, or stories carrying `dependsOn` / `labels`, mean ralph-tui; anything else is the
 * original format.
 */
import type { PrdSchemaName } from './model.js';
import type { PrdProblem } from './issues.js';
import { describeValue } from './issues.js';

export type Detection = { schema: PrdSchemaName } | { problem: PrdProblem };

export function detectSchema(raw: Record<string, unknown>): Detection {
  if ('schemaVersion' in raw) {
    const version = raw.schemaVersion;
    if (typeof version === 'string' && /^2(\.\d+)*$/.test(version)) return { schema: 'uv2' };
    if (typeof version !== 'string' || !/^1(\.\d+)*$/.test(version)) {
      return {
        problem: {
          path: 'schemaVersion',
          message: `expected "2.x" (or "1.x" for the original format), got ${describeValue(version)}`,
        },
      };
    }
  }
  if (typeof raw.name === 'string' && !('project' in raw)) return { schema: 'tui' };
  const stories = Array.isArray(raw.userStories) ? (raw.userStories as unknown[]) : [];
  const tuiFields = stories.some(
    (s) => s !== null && typeof s === 'object' && ('dependsOn' in s || 'labels' in s),
  );
  return { schema: tuiFields ? 'tui' : 'original' };
}
