/**
 * The prd.json checker against a reference: the same three schemas written with zod, whose issues are
 * turned into problems the way ralph did before it checked prd.json itself. Thousands of documents, each a
 * valid one with a few fields removed or replaced, must get the same verdict and the same problems, in the
 * same order, from both.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeValue, formatPath, valueAt, type JsonPath } from '../../src/loop/prd/issues.js';
import type { PrdProblem } from '../../src/loop/prd/issues.js';
import { originalPrdSchema, tuiPrdSchema, uvPrdSchema } from '../../src/loop/prd/schemas.js';
import { checkShape, type Shape } from '../../src/loop/prd/shape.js';

const nonEmpty = z.string().min(1, { error: 'expected a non-empty string' });
const atLeastOneStory = { error: 'expected at least one story, got an empty array' };
const zOriginalStory = z.object({
  id: nonEmpty,
  title: z.string(),
  description: z.string().optional(),
  acceptanceCriteria: z.array(z.string()).optional(),
  priority: z.number(),
  passes: z.boolean(),
  notes: z.string().optional(),
});
const zOriginal = z.object({
  project: z.string(),
  branchName: z.string().nullable().optional(),
  description: z.string().optional(),
  userStories: z.array(zOriginalStory).min(1, atLeastOneStory),
});
const zUvStory = zOriginalStory.extend({
  acceptanceCriteria: z
    .array(z.union([z.string(), z.object({ description: z.string(), passes: z.boolean().optional() })]))
    .optional(),
  type: z.string().optional(),
  agent: z.string().optional(),
  blockedBy: z.array(z.string()).optional(),
});
const zUv = z.object({
  schemaVersion: z.string(),
  project: z.string(),
  branchName: z.string().nullable().optional(),
  type: z.string().optional(),
  agent: z.string().optional(),
  description: z.string().optional(),
  userStories: z.array(zUvStory).min(1, atLeastOneStory),
});
const zTui = z.object({
  name: z.string().optional(),
  project: z.string().optional(),
  branchName: z.string().nullable().optional(),
  description: z.string().optional(),
  userStories: z
    .array(
      z.object({
        id: nonEmpty,
        title: z.string(),
        description: z.string().optional(),
        acceptanceCriteria: z.array(z.string()).optional(),
        priority: z.number().optional(),
        passes: z.boolean(),
        notes: z.string().optional(),
        completionNotes: z.string().optional(),
        labels: z.array(z.string()).optional(),
        dependsOn: z.array(z.string()).optional(),
      }),
    )
    .min(1, atLeastOneStory),
});

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
};
const phrase = (expected: string) => ARTICLE[expected] ?? expected;

function typeProblem(expected: string, value: unknown): string {
  if (value === undefined) return `missing (expected ${phrase(expected)})`;
  return `expected ${phrase(expected)}, got ${describeValue(value)}`;
}

function issueToProblem(issue: z.core.$ZodIssue, root: unknown, fullPath: JsonPath): PrdProblem {
  if (issue.code === 'invalid_union') {
    let best: z.core.$ZodIssue | undefined;
    const atTop: string[] = [];
    for (const branch of issue.errors) {
      const first = branch[0];
      if (first === undefined) continue;
      if (first.path.length === 0 && first.code === 'invalid_type') atTop.push(first.expected);
      if (first.path.length > 0 && (best === undefined || first.path.length > best.path.length)) best = first;
    }
    if (best !== undefined) return issueToProblem(best, root, [...fullPath, ...best.path]);
    const wanted = atTop.map(phrase).join(' or ');
    return {
      path: formatPath(fullPath),
      message: `expected ${wanted || 'a valid value'}, got ${describeValue(valueAt(root, fullPath))}`,
    };
  }
  if (issue.code === 'invalid_type') {
    return { path: formatPath(fullPath), message: typeProblem(issue.expected, valueAt(root, fullPath)) };
  }
  return { path: formatPath(fullPath), message: issue.message };
}

const LENGTH_RULES = ['expected a non-empty string', 'expected at least one story, got an empty array'];

/**
 * zod runs a length check on a value of the wrong type that has a length (`id: []`, `userStories: ""`) and
 * reports it twice: the type, then the length. ralph's checker reports the type alone; the reference drops
 * the second report.
 */
function referenceProblems(schema: z.ZodType, doc: unknown): PrdProblem[] {
  const result = schema.safeParse(doc);
  if (result.success) return [];
  const problems = result.error.issues.map((issue) => issueToProblem(issue, doc, issue.path));
  return problems.filter(
    (p, i) => !(LENGTH_RULES.includes(p.message) && problems.slice(0, i).some((q) => q.path === p.path)),
  );
}

/** A small deterministic generator (mulberry32), so a failure names a case that can be run again. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REPLACEMENTS: unknown[] = [
  null,
  0,
  -1.5,
  '',
  'x',
  true,
  false,
  [],
  [1],
  ['a', 2],
  {},
  { description: 1 },
  { description: 'd', passes: 'yes' },
  { description: 'd' },
  [{ description: 'd', passes: true }, 7],
];

function fullStory(i: number): Record<string, unknown> {
  return {
    id: `US-${i}`,
    title: `Story ${i}`,
    description: 'd',
    acceptanceCriteria: ['one', { description: 'two', passes: false }],
    priority: i,
    passes: i % 2 === 0,
    notes: 'n',
    completionNotes: 'c',
    labels: ['l'],
    dependsOn: [],
    blockedBy: [],
    type: 'feature',
    agent: 'claude',
    extra: { kept: true },
  };
}

function baseDoc(variant: 'original' | 'uv2' | 'tui'): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    project: 'P',
    branchName: 'ralph/p',
    description: 'd',
    userStories: [fullStory(1), fullStory(2), fullStory(3)],
  };
  if (variant === 'uv2') Object.assign(doc, { schemaVersion: '2.0', type: 'feature', agent: 'claude' });
  if (variant === 'tui') Object.assign(doc, { name: 'N' });
  if (variant !== 'uv2') {
    for (const s of doc.userStories as Record<string, unknown>[]) s.acceptanceCriteria = ['one', 'two'];
  }
  return doc;
}

/** Every path to a value inside `doc` (the document itself excluded). */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const path = [...at, Array.isArray(value) ? Number(key) : key];
      out.push(path);
      paths(child, path, out);
    }
  }
  return out;
}

function mutate(doc: Record<string, unknown>, next: () => number): unknown {
  const copy = structuredClone<Record<string, unknown>>(doc);
  const edits = 1 + Math.floor(next() * 3);
  for (let n = 0; n < edits; n++) {
    const all = paths(copy);
    const path = all[Math.floor(next() * all.length)];
    if (path === undefined) break;
    const parent = valueAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
    const key = path[path.length - 1]!;
    if (next() < 0.3 && !Array.isArray(parent)) delete parent[key];
    else parent[key] = structuredClone(REPLACEMENTS[Math.floor(next() * REPLACEMENTS.length)]);
  }
  return next() < 0.02 ? REPLACEMENTS[Math.floor(next() * REPLACEMENTS.length)] : copy;
}

const VARIANTS: [string, 'original' | 'uv2' | 'tui', Shape, z.ZodType][] = [
  ['original', 'original', originalPrdSchema, zOriginal],
  ['ralph-uv 2.x', 'uv2', uvPrdSchema, zUv],
  ['ralph-tui', 'tui', tuiPrdSchema, zTui],
];

describe('prd.json shapes against the zod reference', () => {
  for (const [name, variant, shape, reference] of VARIANTS) {
    it(`${name}: the same problems for 3,000 altered documents`, () => {
      const next = random(variant.length * 7919);
      let invalid = 0;
      expect(checkShape(shape, baseDoc(variant))).toEqual([]);
      for (let i = 0; i < 3000; i++) {
        const doc = mutate(baseDoc(variant), next);
        const expected = referenceProblems(reference, doc);
        if (expected.length > 0) invalid++;
        expect(checkShape(shape, doc), `case ${i}: ${JSON.stringify(doc)}`).toEqual(expected);
      }
      // Most altered documents must be invalid, or the comparison would say little.
      expect(invalid).toBeGreaterThan(1500);
    });
  }
});
