/** Converts the runner's camelCase state into the protocol's snake_case shapes. */
import type {
  StatusChange,
  StatusSnapshot,
  StorySummary,
  IterationRecord as WireIteration,
} from '../../protocol/index.js';
import { currentStory, type Prd } from '../prd.js';
import { toWireUsage } from './wire-usage.js';
import type { IterationRecord, LoopState } from '../types.js';

type StateKey = keyof LoopState;

/** Runner state fields and their wire names; fields not listed here never travel in `state_change`. */
const WIRE_NAMES: Partial<Record<StateKey, keyof StatusChange>> = {
  status: 'status',
  iteration: 'iteration',
  maxIterations: 'max_iterations',
  currentStory: 'current_story',
  interactive: 'interactive_mode',
  paused: 'paused',
  storiesTotal: 'stories_total',
  storiesPassing: 'stories_passing',
  cols: 'cols',
  rows: 'rows',
  exitReason: 'exit_reason',
  waitingUntil: 'waiting_until',
  updatedAt: 'updated_at',
};

export function toWireChange(changed: Partial<LoopState>): StatusChange {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(changed) as [StateKey, unknown][]) {
    const name = WIRE_NAMES[key];
    if (name !== undefined) out[name] = value;
  }
  if (changed.interactive !== undefined) {
    out.mode_indicator = changed.interactive ? 'interactive' : 'autonomous';
  }
  return out;
}

export function toWireStatus(
  state: LoopState,
  extra: { recentOutput: string[]; logEnd: number; writer: string | null },
): StatusSnapshot {
  return {
    task_name: state.task,
    task_dir: state.taskDir,
    iteration: state.iteration,
    max_iterations: state.maxIterations,
    current_story: state.currentStory,
    agent: state.agent,
    status: state.status,
    interactive_mode: state.interactive,
    mode_indicator: state.interactive ? 'interactive' : 'autonomous',
    started_at: state.startedAt,
    updated_at: state.updatedAt,
    recent_output: extra.recentOutput,
    pid: process.pid,
    paused: state.paused,
    log_end_offset: extra.logEnd,
    cols: state.cols,
    rows: state.rows,
    writer: extra.writer,
    stories_total: state.storiesTotal,
    stories_passing: state.storiesPassing,
    exit_reason: state.exitReason,
    waiting_until: state.waitingUntil,
  };
}

export function toWireIteration(r: IterationRecord): WireIteration {
  return {
    number: r.number,
    started_at: r.startedAt,
    ended_at: r.endedAt,
    exit_code: r.exitCode,
    signal: r.signal,
    story_before: r.storyBefore,
    story_after: r.storyAfter,
    outcome: r.outcome,
    start_offset: r.startOffset,
    end_offset: r.endOffset,
    stream: r.stream ?? null,
    usage: r.usage ? toWireUsage(r.usage) : null,
  };
}

/** prd.json's stories as `get_stories` answers them. */
export function toWireStories(prd: Prd): { stories: StorySummary[]; current: string | null } {
  return {
    stories: prd.stories.map((s) => ({
      id: s.id,
      title: s.title,
      priority: s.priority,
      passes: s.passes,
      depends_on: s.dependsOn,
    })),
    current: currentStory(prd)?.id ?? null,
  };
}
