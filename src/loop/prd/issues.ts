/**
 * Turns zod issues into one-line problems that name the JSON path (`userStories[2].priority`) and say what
 * was expected and what the file holds instead.
 */
import type { z } from 'zod';

export type JsonPath = ReadonlyArray<PropertyKey>;

export interface PrdProblem {
  /** e.g. `userStories[2].priority`; `(root)` for the document itself. */
  path: string;
  message: string;
}

export function formatPath(path: JsonPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export function valueAt(root: unknown, path: JsonPath): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** "string \"high\"", "number 3", "array", "object", "null". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'array';
  if (typeof value === 'string') {
    const shown = value.length > 30 ? `${value.slice(0, 27)}...` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
};

function expectedPhrase(expected: string): string {
  return ARTICLE[expected] ?? expected;
}

function typeProblem(expected: string, value: unknown): string {
  if (value === undefined) return `missing (expected ${expectedPhrase(expected)})`;
  return `expected ${expectedPhrase(expected)}, got ${describeValue(value)}`;
}

/**
 * A union fails on every branch; the branch that got furthest into the value (longest issue path) is the one
 * the author meant, so its issue is reported. When no branch got past the value itself, all branches are named.
 */
function unionProblem(issue: z.core.$ZodIssueInvalidUnion, root: unknown, base: JsonPath): PrdProblem {
  let best: z.core.$ZodIssue | undefined;
  const expectedAtTop: string[] = [];
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first === undefined) continue;
    if (first.path.length === 0 && first.code === 'invalid_type') expectedAtTop.push(first.expected);
    if (first.path.length > 0 && (best === undefined || first.path.length > best.path.length)) best = first;
  }
  if (best !== undefined) return issueToProblem(best, root, [...base, ...best.path]);
  const value = valueAt(root, base);
  const wanted = expectedAtTop.map(expectedPhrase).join(' or ');
  return {
    path: formatPath(base),
    message: `expected ${wanted || 'a valid value'}, got ${describeValue(value)}`,
  };
}

function issueToProblem(issue: z.core.$ZodIssue, root: unknown, fullPath: JsonPath): PrdProblem {
  if (issue.code === 'invalid_union') return unionProblem(issue, root, fullPath);
  if (issue.code === 'invalid_type') {
    return { path: formatPath(fullPath), message: typeProblem(issue.expected, valueAt(root, fullPath)) };
  }
  return { path: formatPath(fullPath), message: issue.message };
}

export function zodIssuesToProblems(issues: readonly z.core.$ZodIssue[], root: unknown): PrdProblem[] {
  return issues.map((issue) => issueToProblem(issue, root, issue.path));
}
