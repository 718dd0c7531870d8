/**
 * zod schemas for the three prd.json variants. Objects are not strict: real files carry extra fields
 * (taskDir, mergeTarget, phases, metadata, ...) and those are kept in `Prd.raw`, never rejected.
 */
import { z } from 'zod';

const nonEmpty = z.string().min(1, { error: 'expected a non-empty string' });
const atLeastOneStory = { error: 'expected at least one story, got an empty array' };

/** snarktank/ralph: `{project, branchName, description, userStories: [...]}` with string criteria. */
const originalStory = z.object({
  id: nonEmpty,
  title: z.string(),
  description: z.string().optional(),
  acceptanceCriteria: z.array(z.string()).optional(),
  priority: z.number(),
  passes: z.boolean(),
  notes: z.string().optional(),
});

export const originalPrdSchema = z.object({
  project: z.string(),
  branchName: z.string().nullable().optional(),
  description: z.string().optional(),
  userStories: z.array(originalStory).min(1, atLeastOneStory),
});

/** ralph-uv 2.x: `schemaVersion` "2.x", criteria objects `{description, passes}`, per-story `agent`, `blockedBy`. */
const uvCriterion = z.union([
  z.string(),
  z.object({ description: z.string(), passes: z.boolean().optional() }),
]);

const uvStory = originalStory.extend({
  acceptanceCriteria: z.array(uvCriterion).optional(),
  type: z.string().optional(),
  agent: z.string().optional(),
  blockedBy: z.array(z.string()).optional(),
});

export const uvPrdSchema = z.object({
  schemaVersion: z.string(),
  project: z.string(),
  branchName: z.string().nullable().optional(),
  type: z.string().optional(),
  agent: z.string().optional(),
  description: z.string().optional(),
  userStories: z.array(uvStory).min(1, atLeastOneStory),
});

/** subsy/ralph-tui: `name` (or `project`), optional priority, `dependsOn`, `labels`, `completionNotes`. */
const tuiStory = z.object({
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
});

export const tuiPrdSchema = z.object({
  name: z.string().optional(),
  project: z.string().optional(),
  branchName: z.string().nullable().optional(),
  description: z.string().optional(),
  userStories: z.array(tuiStory).min(1, atLeastOneStory),
});

export type OriginalPrdInput = z.infer<typeof originalPrdSchema>;
export type UvPrdInput = z.infer<typeof uvPrdSchema>;
export type TuiPrdInput = z.infer<typeof tuiPrdSchema>;
