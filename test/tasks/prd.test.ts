import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, RalphError } from '../../src/errors.js';
import {
  allPassing,
  currentStory,
  loadPrd,
  markStoryPassing,
  parsePrd,
  storyCounts,
} from '../../src/loop/prd.js';
import type { Prd } from '../../src/loop/prd.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', 'prd', name);
const FILE = '/tasks/demo/prd.json';

function story(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    title: `Story ${id}`,
    description: '',
    acceptanceCriteria: [],
    priority: 1,
    passes: false,
    notes: '',
    ...extra,
  };
}

function original(stories: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    { project: 'P', branchName: 'ralph/p', description: 'd', userStories: stories, ...extra },
    null,
    2,
  );
}

function parseError(text: string): RalphError {
  try {
    parsePrd(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(RalphError);
    const e = err as RalphError;
    expect(e.code).toBe('INVALID_PRD');
    expect(e.exitCode).toBe(ExitCode.invalidTask);
    expect(e.message.startsWith(`${FILE}: `)).toBe(true);
    return e;
  }
  throw new Error('expected parsePrd to throw');
}

describe('the three schemas', () => {
  it('reads the original format', () => {
    const prd = loadPrd(fixture('original.json'));
    expect(prd.schema).toBe('original');
    expect(prd.file).toBe(fixture('original.json'));
    expect(prd.project).toBe('Recipes');
    expect(prd.branchName).toBe('ralph/recipe-tags');
    expect(prd.stories.map((s) => s.id)).toEqual(['US-001', 'US-002', 'US-003', 'US-004']);
    expect(prd.stories[0]).toMatchObject({
      priority: 1,
      passes: true,
      notes: 'Used a GIN index for lookups.',
      dependsOn: [],
      labels: [],
    });
    expect(prd.stories[1]?.acceptanceCriteria).toEqual([
      { description: 'Tags render as chips under the title', passes: null },
      { description: 'Typecheck passes', passes: null },
    ]);
    expect(currentStory(prd)?.id).toBe('US-002');
    expect(storyCounts(prd)).toEqual({ total: 4, passing: 1 });
    expect(allPassing(prd)).toBe(false);
  });

  it('reads ralph-uv 2.x files with criteria objects, blockedBy, type, agent and extra fields', () => {
    const prd = loadPrd(fixture('uv2.json'));
    expect(prd.schema).toBe('uv2');
    expect(prd.agent).toBe('claude');
    expect(prd.branchName).toBe('ralph/recipe-import');
    const [first, gate, form] = prd.stories;
    expect(first?.acceptanceCriteria).toEqual([
      { description: 'Fetch with a 10 s timeout', passes: true },
      { description: 'Parse schema.org Recipe JSON-LD', passes: false },
      { description: 'Typecheck passes', passes: false },
    ]);
    expect(gate).toMatchObject({ type: 'decision-gate', dependsOn: ['US-001'] });
    expect(form).toMatchObject({
      agent: 'opencode',
      dependsOn: ['US-002'],
      notes: 'Reuse the recipe editor.',
    });
    expect(form?.acceptanceCriteria).toEqual([
      { description: 'URL field with validation', passes: null },
      { description: 'Preview before saving', passes: null },
    ]);
    expect((prd.raw as { taskDir: string }).taskDir).toBe('tasks/recipe-import');
  });

  it('reads ralph-tui files with name, labels, dependsOn, optional priority and completionNotes', () => {
    const prd = loadPrd(fixture('tui.json'));
    expect(prd.schema).toBe('tui');
    expect(prd.project).toBe('Shopping list');
    expect(prd.branchName).toBe('feature/shopping-list');
    const [aggregate, page, share] = prd.stories;
    expect(aggregate).toMatchObject({
      labels: ['backend'],
      dependsOn: [],
      priority: 2,
      description: expect.any(String),
    });
    expect(page).toMatchObject({
      labels: ['frontend', 'ui'],
      dependsOn: ['SL-1'],
      priority: 2,
      description: '',
    });
    expect(share).toMatchObject({ priority: 1, passes: true, notes: 'Share link uses a signed token.' });
    expect(currentStory(prd)?.id).toBe('SL-1');
  });

  it('treats a project-named file whose stories carry dependsOn as the ralph-tui variant', () => {
    const prd = parsePrd(original([story('A'), story('B', { dependsOn: ['A'], labels: ['x'] })]), FILE);
    expect(prd.schema).toBe('tui');
    expect(prd.project).toBe('P');
    expect(prd.stories[1]?.dependsOn).toEqual(['A']);
  });

  it('treats schemaVersion 1.x as the original format', () => {
    expect(parsePrd(original([story('A')], { schemaVersion: '1.0' }), FILE).schema).toBe('original');
  });

  it('tolerates a byte-order mark and a null branchName', () => {
    const prd = parsePrd('\ufeff' + original([story('A')], { branchName: null }), FILE);
    expect(prd.branchName).toBeNull();
  });
});

describe('currentStory', () => {
  const parse = (stories: unknown[]) => parsePrd(original(stories), FILE);

  it('takes the lowest priority number among failing stories', () => {
    const prd = parse([
      story('A', { priority: 3 }),
      story('B', { priority: 1, passes: true }),
      story('C', { priority: 2 }),
    ]);
    expect(currentStory(prd)?.id).toBe('C');
  });

  it('breaks ties by file order', () => {
    const prd = parse([
      story('A', { priority: 5 }),
      story('B', { priority: 2 }),
      story('C', { priority: 2 }),
    ]);
    expect(currentStory(prd)?.id).toBe('B');
  });

  it('skips stories whose dependencies do not all pass, and unblocks them once they do', () => {
    const deps = (stories: unknown[]) => parsePrd(JSON.stringify({ name: 'N', userStories: stories }), FILE);
    const blocked = deps([
      story('A', { priority: 9 }),
      story('B', { priority: 1, dependsOn: ['A'] }),
      story('C', { priority: 5, dependsOn: [] }),
    ]);
    expect(currentStory(blocked)?.id).toBe('C');
    const unblocked = deps([
      story('A', { priority: 9, passes: true }),
      story('B', { priority: 1, dependsOn: ['A'] }),
      story('C', { priority: 5 }),
    ]);
    expect(currentStory(unblocked)?.id).toBe('B');
  });

  it('follows ralph-uv blockedBy', () => {
    const prd = loadPrd(fixture('uv2.json'));
    expect(currentStory(prd)?.id).toBe('US-001');
    const raw = JSON.parse(readFileSync(fixture('uv2.json'), 'utf8')) as {
      userStories: Array<{ passes: boolean }>;
    };
    raw.userStories[0]!.passes = true;
    expect(currentStory(parsePrd(JSON.stringify(raw), FILE))?.id).toBe('US-002');
  });

  it('is null when every story passes', () => {
    const prd = parse([story('A', { passes: true }), story('B', { passes: true })]);
    expect(currentStory(prd)).toBeNull();
    expect(allPassing(prd)).toBe(true);
    expect(storyCounts(prd)).toEqual({ total: 2, passing: 2 });
  });
});

describe('errors name the file, the JSON path and what was expected', () => {
  it('reports a wrong type with the value found', () => {
    const e = parseError(original([story('A'), story('B'), story('C', { priority: 'high' })]));
    expect(e.message).toBe(`${FILE}: userStories[2].priority: expected a number, got string "high"`);
    expect(e.data).toMatchObject({ file: FILE, problems: [{ path: 'userStories[2].priority' }] });
  });

  it('reports a missing field', () => {
    const bad = story('A') as Record<string, unknown>;
    delete bad.passes;
    expect(parseError(original([bad])).message).toBe(
      `${FILE}: userStories[0].passes: missing (expected a boolean)`,
    );
  });

  it('reports a missing project and an empty story list', () => {
    expect(parseError(JSON.stringify({ userStories: [story('A')] })).message).toBe(
      `${FILE}: project: missing (expected a string)`,
    );
    expect(parseError(original([])).message).toBe(
      `${FILE}: userStories: expected at least one story, got an empty array`,
    );
  });

  it('reports a document that is not an object', () => {
    expect(parseError('[1, 2]').message).toBe(`${FILE}: (root): expected an object, got array`);
  });

  it('reports string criteria given as something else in the original format', () => {
    const e = parseError(original([story('A', { acceptanceCriteria: ['ok', 42] })]));
    expect(e.message).toBe(`${FILE}: userStories[0].acceptanceCriteria[1]: expected a string, got number 42`);
  });

  it('reports the inner field of a ralph-uv criterion object', () => {
    const text = JSON.stringify({
      schemaVersion: '2.0',
      project: 'P',
      userStories: [story('A', { acceptanceCriteria: ['fine', { description: 5, passes: false }] })],
    });
    expect(parseError(text).message).toBe(
      `${FILE}: userStories[0].acceptanceCriteria[1].description: expected a string, got number 5`,
    );
  });

  it('names both accepted shapes when a ralph-uv criterion is neither', () => {
    const text = JSON.stringify({
      schemaVersion: '2.0',
      project: 'P',
      userStories: [story('A', { acceptanceCriteria: [7] })],
    });
    expect(parseError(text).message).toBe(
      `${FILE}: userStories[0].acceptanceCriteria[0]: expected a string or an object, got number 7`,
    );
  });

  it('rejects an unknown schemaVersion', () => {
    expect(parseError(original([story('A')], { schemaVersion: '3.0' })).message).toBe(
      `${FILE}: schemaVersion: expected "2.x" (or "1.x" for the original format), got string "3.0"`,
    );
  });

  it('asks a ralph-tui file for a name', () => {
    const text = JSON.stringify({ userStories: [story('A', { dependsOn: [] })] });
    expect(parseError(text).message).toBe(
      `${FILE}: name: missing (expected a string; "project" is accepted too)`,
    );
  });

  it('rejects an empty story id and duplicate ids', () => {
    expect(parseError(original([story('')])).message).toBe(
      `${FILE}: userStories[0].id: expected a non-empty string`,
    );
    expect(parseError(original([story('A'), story('B'), story('A')])).message).toBe(
      `${FILE}: userStories[2].id: duplicate story id "A" (also userStories[0].id)`,
    );
  });

  it('reports a story id of the wrong type once, not also as too short', () => {
    const e = parseError(original([story('A', { id: [] }), story('B')]));
    expect(e.message).toBe(`${FILE}: userStories[0].id: expected a string, got an empty array`);
    expect((e.data as { problems: unknown[] }).problems).toHaveLength(1);
    expect(parseError(JSON.stringify({ project: 'P', userStories: '' })).message).toBe(
      `${FILE}: userStories: expected an array, got string ""`,
    );
  });

  it('names dependencies on unknown stories, using the field of the schema', () => {
    const tui = JSON.stringify({
      name: 'N',
      userStories: [story('A'), story('B', { dependsOn: ['A', 'US-404', 'US-405'] })],
    });
    expect(parseError(tui).message).toBe(
      `${FILE}: userStories[1].dependsOn: depends on unknown story ids US-404, US-405`,
    );
    const uv = JSON.stringify({
      schemaVersion: '2.1',
      project: 'P',
      userStories: [story('A', { blockedBy: ['Z'] })],
    });
    expect(parseError(uv).message).toBe(`${FILE}: userStories[0].blockedBy: depends on unknown story id Z`);
  });

  it('rejects dependency cycles, including a story depending on itself', () => {
    const cycle = JSON.stringify({
      name: 'N',
      userStories: [
        story('A', { dependsOn: ['C'] }),
        story('B', { dependsOn: ['A'] }),
        story('C', { dependsOn: ['B'] }),
      ],
    });
    expect(parseError(cycle).message).toBe(
      `${FILE}: userStories[0].dependsOn: dependency cycle: A -> C -> B -> A`,
    );
    const self = JSON.stringify({ name: 'N', userStories: [story('A'), story('B', { dependsOn: ['B'] })] });
    expect(parseError(self).message).toBe(`${FILE}: userStories[1].dependsOn: dependency cycle: B -> B`);
  });

  it('counts further problems in the message and lists them in the hint', () => {
    const e = parseError(original([story('A', { priority: '1', passes: 'no' })]));
    expect(e.message).toBe(
      `${FILE}: userStories[0].priority: expected a number, got string "1" (and 1 more problem)`,
    );
    expect(e.hint).toBe('also: userStories[0].passes: expected a boolean, got string "no"');
  });

  it('tolerates unknown extra fields', () => {
    const prd = parsePrd(
      original([story('A', { estimate: 3, owner: { name: 'x' } })], { tracker: 'json' }),
      FILE,
    );
    expect(prd.stories).toHaveLength(1);
  });
});

describe('JSON syntax errors give line and column', () => {
  const cases: Array<[string, string, string]> = [
    [
      'trailing comma',
      '{\n  "project": "P",\n  "userStories": [],\n}',
      "line 4, column 1: trailing comma before '}'",
    ],
    [
      'missing comma',
      '{\n  "project": "P"\n  "branchName": "b"\n}',
      "line 3, column 3: expected ',' or '}' after property value, found '\"'",
    ],
    ['bad literal', '{\n  "passes": tru\n}', "line 2, column 13: expected a value, found 't'"],
    [
      'unterminated string',
      '{\n  "project": "P\n}',
      'line 2, column 16: control character (such as a raw newline) inside a string',
    ],
    ['unquoted key', '{ project: 1 }', "line 1, column 3: expected a double-quoted property name, found 'p'"],
    ['empty file', '  \n', 'line 2, column 1: the file is empty'],
    [
      'content after the document',
      '{}\n{}',
      'line 2, column 1: unexpected content after the end of the JSON document',
    ],
    [
      'truncated',
      '{"a": [1, 2',
      "line 1, column 12: expected ',' or ']' after array element, found end of input",
    ],
  ];
  for (const [name, text, where] of cases) {
    it(name, () => {
      const e = parseError(text);
      expect(e.message).toBe(`${FILE}: invalid JSON at ${where}`);
      const [, line, column] = /line (\d+), column (\d+)/.exec(where)!;
      expect(e.data).toMatchObject({ file: FILE, line: Number(line), column: Number(column) });
    });
  }
});

describe('files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ralph-prd-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loadPrd names a missing file', () => {
    const file = join(dir, 'prd.json');
    expect(() => loadPrd(file)).toThrowError(
      expect.objectContaining({ code: 'INVALID_TASK', message: `${file} not found` }),
    );
  });

  it('markStoryPassing keeps the original schema, extras, key order and trailing newline', () => {
    const file = join(dir, 'prd.json');
    const text = original([story('A', { custom: { keep: true } }), story('B')], { extra: [1, 2] }) + '\n';
    writeFileSync(file, text);
    const updated: Prd = markStoryPassing(file, 'A');
    expect(updated.schema).toBe('original');
    expect(updated.stories.map((s) => s.passes)).toEqual([true, false]);
    const expected = JSON.parse(text) as { userStories: Array<{ passes: boolean }> };
    expected.userStories[0]!.passes = true;
    expect(readFileSync(file, 'utf8')).toBe(JSON.stringify(expected, null, 2) + '\n');
  });

  it('markStoryPassing marks ralph-uv criteria too and keeps a 4-space indent', () => {
    const uvFile = join(dir, 'uv.json');
    writeFileSync(uvFile, readFileSync(fixture('uv2.json')));
    const uv = markStoryPassing(uvFile, 'US-001');
    expect(uv.schema).toBe('uv2');
    expect(uv.stories[0]?.acceptanceCriteria.every((c) => c.passes === true)).toBe(true);
    expect(loadPrd(uvFile).stories[0]?.passes).toBe(true);

    const tuiFile = join(dir, 'tui.json');
    writeFileSync(
      tuiFile,
      JSON.stringify(JSON.parse(readFileSync(fixture('tui.json'), 'utf8')), null, 4) + '\n',
    );
    markStoryPassing(tuiFile, 'SL-1');
    const written = readFileSync(tuiFile, 'utf8');
    expect(written).toContain('\n    "name": "Shopping list"');
    expect(loadPrd(tuiFile).stories[0]?.passes).toBe(true);
    expect(loadPrd(tuiFile).schema).toBe('tui');
  });

  it('markStoryPassing refuses an unknown story id', () => {
    const file = join(dir, 'prd.json');
    writeFileSync(file, original([story('A')]));
    expect(() => markStoryPassing(file, 'US-9')).toThrowError(
      expect.objectContaining({ code: 'STORY_NOT_FOUND', message: `${file}: no story with id "US-9"` }),
    );
  });
});
