/** Text → validated, normalised `Prd`, or one `INVALID_PRD` error naming the file, the JSON path and the fix. */
import { RalphError, ExitCode } from '../../errors.js';
import type { Prd } from './model.js';
import type { PrdProblem } from './issues.js';
import { describeValue } from './issues.js';
import { findJsonSyntaxError } from './json-syntax.js';
import { detectSchema } from './detect.js';
import { originalPrdSchema, tuiPrdSchema, uvPrdSchema } from './schemas.js';
import type { OriginalPrdInput, TuiPrdInput, UvPrdInput } from './schemas.js';
import { checkShape, type Shape } from './shape.js';
import { checkStoryGraph, fromOriginal, fromTui, fromUv } from './normalize.js';

function invalidPrd(file: string, problems: PrdProblem[]): RalphError {
  const [first, ...rest] = problems;
  const head = first === undefined ? 'invalid prd.json' : `${first.path}: ${first.message}`;
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  return new RalphError('INVALID_PRD', `${file}: ${head}${more}`, {
    exitCode: ExitCode.invalidTask,
    hint: rest.length > 0 ? `also: ${rest.map((p) => `${p.path}: ${p.message}`).join('; ')}` : undefined,
    data: { file, problems },
  });
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const where = findJsonSyntaxError(text);
    const detail =
      where === null ? (err as Error).message : `line ${where.line}, column ${where.column}: ${where.reason}`;
    throw new RalphError('INVALID_PRD', `${file}: invalid JSON at ${detail}`, {
      exitCode: ExitCode.invalidTask,
      data: { file, line: where?.line ?? null, column: where?.column ?? null },
      cause: err,
    });
  }
}

/** `raw` as `shape`'s type, or INVALID_PRD naming every field at fault. */
function checked<T>(shape: Shape<T>, raw: unknown, file: string): T {
  const problems = checkShape(shape, raw);
  if (problems.length > 0) throw invalidPrd(file, problems);
  return raw as T;
}

export function parsePrd(text: string, file: string): Prd {
  const raw = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidPrd(file, [{ path: '(root)', message: `expected an object, got ${describeValue(raw)}` }]);
  }
  const detected = detectSchema(raw as Record<string, unknown>);
  if ('problem' in detected) throw invalidPrd(file, [detected.problem]);

  let base;
  if (detected.schema === 'uv2') {
    base = fromUv(checked<UvPrdInput>(uvPrdSchema, raw, file));
  } else if (detected.schema === 'tui') {
    const data = checked<TuiPrdInput>(tuiPrdSchema, raw, file);
    if (data.name === undefined && data.project === undefined) {
      throw invalidPrd(file, [
        { path: 'name', message: 'missing (expected a string; "project" is accepted too)' },
      ]);
    }
    base = fromTui(data);
  } else {
    base = fromOriginal(checked<OriginalPrdInput>(originalPrdSchema, raw, file));
  }
  const graphProblems = checkStoryGraph(base.schema, base.stories);
  if (graphProblems.length > 0) throw invalidPrd(file, graphProblems);
  return { file, ...base, raw };
}
