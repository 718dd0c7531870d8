/**
 * Maps each validated schema onto the one `Prd` model, then checks what a shape cannot: unique story ids,
 * dependencies on ids that exist, and no dependency cycles.
 */
import type { AcceptanceCriterion, Prd, PrdSchemaName, Story } from './model.js';
import type { OriginalPrdInput, TuiPrdInput, UvPrdInput } from './schemas.js';
import type { PrdProblem } from './issues.js';

type Base = Omit<Prd, 'file' | 'raw'>;

function criteria(list: ReadonlyArray<string | { description: string; passes?: boolean | undefined }> = []) {
  return list.map((c): AcceptanceCriterion =>
    typeof c === 'string'
      ? { description: c, passes: null }
      : { description: c.description, passes: c.passes ?? null },
  );
}

export function fromOriginal(input: OriginalPrdInput): Base {
  return {
    schema: 'original',
    project: input.project,
    branchName: input.branchName ?? null,
    description: input.description ?? '',
    stories: input.userStories.map((s): Story => ({
      id: s.id,
      title: s.title,
      description: s.description ?? '',
      acceptanceCriteria: criteria(s.acceptanceCriteria),
      priority: s.priority,
      passes: s.passes,
      notes: s.notes ?? '',
      dependsOn: [],
      labels: [],
    })),
  };
}

export function fromUv(input: UvPrdInput): Base {
  return {
    schema: 'uv2',
    project: input.project,
    branchName: input.branchName ?? null,
    description: input.description ?? '',
    ...(input.agent !== undefined ? { agent: input.agent } : {}),
    stories: input.userStories.map((s): Story => ({
      id: s.id,
      title: s.title,
      description: s.description ?? '',
      acceptanceCriteria: criteria(s.acceptanceCriteria),
      priority: s.priority,
      passes: s.passes,
      notes: s.notes ?? '',
      dependsOn: s.blockedBy ?? [],
      labels: [],
      ...(s.type !== undefined ? { type: s.type } : {}),
      ...(s.agent !== undefined ? { agent: s.agent } : {}),
    })),
  };
}

/** ralph-tui's priority is optional; a story without one takes its 1-based position in the file. */
export function fromTui(input: TuiPrdInput): Base {
  return {
    schema: 'tui',
    project: input.name ?? input.project ?? '',
    branchName: input.branchName ?? null,
    description: input.description ?? '',
    stories: input.userStories.map((s, index): Story => ({
      id: s.id,
      title: s.title,
      description: s.description ?? '',
      acceptanceCriteria: criteria(s.acceptanceCriteria),
      priority: s.priority ?? index + 1,
      passes: s.passes,
      notes: s.notes ?? s.completionNotes ?? '',
      dependsOn: s.dependsOn ?? [],
      labels: s.labels ?? [],
    })),
  };
}

/** The field that holds dependencies in each schema, for error paths. */
export function dependencyField(schema: PrdSchemaName): string {
  return schema === 'uv2' ? 'blockedBy' : 'dependsOn';
}

export function checkStoryGraph(schema: PrdSchemaName, stories: readonly Story[]): PrdProblem[] {
  const problems: PrdProblem[] = [];
  const field = dependencyField(schema);
  const indexById = new Map<string, number>();
  stories.forEach((story, i) => {
    const first = indexById.get(story.id);
    if (first !== undefined) {
      problems.push({
        path: `userStories[${i}].id`,
        message: `duplicate story id ${JSON.stringify(story.id)} (also userStories[${first}].id)`,
      });
    } else indexById.set(story.id, i);
  });
  stories.forEach((story, i) => {
    const unknown = story.dependsOn.filter((dep) => !indexById.has(dep));
    if (unknown.length > 0) {
      problems.push({
        path: `userStories[${i}].${field}`,
        message: `depends on unknown story id${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`,
      });
    }
  });
  if (problems.length > 0) return problems;
  const cycle = findCycle(stories, indexById);
  if (cycle !== null) {
    const start = indexById.get(cycle[0] as string) ?? 0;
    problems.push({
      path: `userStories[${start}].${field}`,
      message: `dependency cycle: ${cycle.join(' -> ')}`,
    });
  }
  return problems;
}

/** Depth-first search with colours; returns the ids along the first cycle found, first id repeated at the end. */
function findCycle(stories: readonly Story[], indexById: Map<string, number>): string[] | null {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    state.set(id, 'active');
    stack.push(id);
    const story = stories[indexById.get(id) ?? -1];
    for (const dep of story?.dependsOn ?? []) {
      const seen = state.get(dep);
      if (seen === 'active') return [...stack.slice(stack.indexOf(dep)), dep];
      if (seen === undefined) {
        const found = visit(dep);
        if (found !== null) return found;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const story of stories) {
    if (state.has(story.id)) continue;
    const found = visit(story.id);
    if (found !== null) return found;
  }
  return null;
}
