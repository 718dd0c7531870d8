/**
 * The normalised prd.json model. Three on-disk schemas (see docs/tasks.md) become this one shape; `raw` keeps
 * the parsed JSON so a writer can change a field and leave everything else, extras included, as it was.
 */
export type PrdSchemaName = 'original' | 'uv2' | 'tui';

export interface AcceptanceCriterion {
  description: string;
  /** Per-criterion state where the schema records one (ralph-uv 2.x objects); `null` for plain strings. */
  passes: boolean | null;
}

export interface Story {
  id: string;
  title: string;
  description: string;
  acceptanceCriteria: AcceptanceCriterion[];
  /** Lower runs first. */
  priority: number;
  passes: boolean;
  notes: string;
  /** Ids of stories that must pass first (`dependsOn`, or `blockedBy` in ralph-uv 2.x files). */
  dependsOn: string[];
  labels: string[];
  type?: string;
  agent?: string;
}

export interface Prd {
  file: string;
  schema: PrdSchemaName;
  project: string;
  branchName: string | null;
  description: string;
  /** Agent named for the whole task (ralph-uv 2.x `agent`), if any. */
  agent?: string;
  stories: Story[];
  raw: unknown;
}
