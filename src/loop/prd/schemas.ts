/**
 * The shapes of the three prd.json variants. Objects are not strict: real files carry extra fields
 * (taskDir, mergeTarget, phases, metadata, ...) and those are kept in `Prd.raw`, never rejected.
 */
import {
  array,
  boolean,
  extend,
  nonEmptyString,
  nullable,
  number,
  object,
  optional,
  string,
  union,
  type Infer,
} from './shape.js';

const nonEmpty = nonEmptyString('expected a non-empty string');
const AT_LEAST_ONE_STORY = 'expected at least one story, got an empty array';

/** snarktank/ralph: `{project, branchName, description, userStories: [...]}` with string criteria. */
const originalStory = object({
  id: nonEmpty,
  title: string(),
  description: optional(string()),
  acceptanceCriteria: optional(array(string())),
  priority: number(),
  passes: boolean(),
  notes: optional(string()),
});

export const originalPrdSchema = object({
  project: string(),
  branchName: optional(nullable(string())),
  description: optional(string()),
  userStories: array(originalStory, AT_LEAST_ONE_STORY),
});

/** ralph-uv 2.x: `schemaVersion` "2.x", criteria objects `{description, passes}`, per-story `agent`, `blockedBy`. */
const uvCriterion = union(string(), object({ description: string(), passes: optional(boolean()) }));

const uvStory = extend(originalStory, {
  acceptanceCriteria: optional(array(uvCriterion)),
  type: optional(string()),
  agent: optional(string()),
  blockedBy: optional(array(string())),
});

export const uvPrdSchema = object({
  schemaVersion: string(),
  project: string(),
  branchName: optional(nullable(string())),
  type: optional(string()),
  agent: optional(string()),
  description: optional(string()),
  userStories: array(uvStory, AT_LEAST_ONE_STORY),
});

/** subsy/ralph-tui: `name` (or `project`), optional priority, `dependsOn`, `labels`, `completionNotes`. */
const tuiStory = object({
  id: nonEmpty,
  title: string(),
  description: optional(string()),
  acceptanceCriteria: optional(array(string())),
  priority: optional(number()),
  passes: boolean(),
  notes: optional(string()),
  completionNotes: optional(string()),
  labels: optional(array(string())),
  dependsOn: optional(array(string())),
});

export const tuiPrdSchema = object({
  name: optional(string()),
  project: optional(string()),
  branchName: optional(nullable(string())),
  description: optional(string()),
  userStories: array(tuiStory, AT_LEAST_ONE_STORY),
});

export type OriginalPrdInput = Infer<typeof originalPrdSchema>;
export type UvPrdInput = Infer<typeof uvPrdSchema>;
export type TuiPrdInput = Infer<typeof tuiPrdSchema>;
