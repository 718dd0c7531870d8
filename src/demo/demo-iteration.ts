/**
 * One iteration of the demo agent: read prd.json, take the current story, "work" on it with agent-like output,
 * write a real file, log progress, mark the story passing, commit, and print the completion promise when the
 * last story passes.
 */
import { join } from 'node:path';
import { allPassing, currentStory, loadPrd, markStoryPassing, storyCounts } from '../loop/prd.js';
import type { Story } from '../loop/prd.js';
import { palette } from './ansi.js';
import type { Palette } from './ansi.js';
import { pacer } from './pacing.js';
import { commitAll, ensureBranch, repoRoot } from './git.js';
import { appendProgress, writeStoryFile } from './story-work.js';

export const COMPLETE_PROMISE = '<promise>COMPLETE</promise>';

export interface DemoIterationOptions {
  taskDir: string;
  speed: number;
  write(text: string): void;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export async function runDemoIteration(opts: DemoIterationOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const c = palette(env);
  const pace = pacer(opts.speed);
  const line = async (text: string, pauseMs = 0) => {
    await pace.pause(pauseMs);
    opts.write(`${text}\n`);
  };
  const spin = async (label: string, ms: number) => {
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧'];
    for (let i = 0; !pace.instant && i < frames.length; i++) {
      opts.write(`\r${c.magenta(frames[i] as string)} ${c.dim(label)}`);
      await pace.pause(ms / frames.length);
    }
    opts.write(`\r${c.magenta('✻')} ${c.dim(label)}\n`);
  };

  const prdFile = join(opts.taskDir, 'prd.json');
  const prd = loadPrd(prdFile);
  const iteration = env.RALPH_ITERATION ?? '1';
  await line(c.bold(c.cyan(`⏺ ralph demo agent · iteration ${iteration} · ${prd.project}`)));
  await spin('Thinking…', 500);

  const story = currentStory(prd);
  const counts = storyCounts(prd);
  await line(`${c.bold('Read')}(prd.json)`, 200);
  await line(c.dim(`  ⎿  ${counts.total} stories, ${counts.passing} passing`), 100);
  if (story === null) {
    await line('Every story already passes; nothing left to do.', 200);
    await line(COMPLETE_PROMISE);
    return 0;
  }
  await line(`${c.bold('Read')}(progress.txt)`, 200);
  await line(`${c.bold('Read')}(package.json)`, 150);
  await line(`\nNext up is ${c.bold(story.id)}: ${story.title}.`, 300);
  for (const criterion of story.acceptanceCriteria) await line(c.dim(`  • ${criterion.description}`), 80);

  const gitRoot = await repoRoot(opts.taskDir);
  const root = gitRoot ?? opts.taskDir;
  if (gitRoot !== null && prd.branchName !== null) {
    const branch = await ensureBranch(gitRoot, prd.branchName);
    if (branch.switched) await line(`${c.bold('Bash')}(git switch ${prd.branchName})`, 200);
    if (branch.error !== undefined)
      await line(c.yellow(`  ⚠ could not switch to ${prd.branchName}: ${branch.error}`));
  }
  await showWork(opts, story, root, line, c);
  return finish(prdFile, story, gitRoot, line, c);
}

type Line = (text: string, pauseMs?: number) => Promise<void>;

async function showWork(opts: DemoIterationOptions, story: Story, root: string, line: Line, c: Palette) {
  const written = writeStoryFile(root, story);
  await line(`\n${c.bold('Write')}(${written.relPath})`, 350);
  for (const [i, text] of written.lines.entries()) {
    await line(`${c.dim(String(i + 1).padStart(4))} ${c.green(`+ ${text}`)}`, 30);
  }
  await line(`\n${c.bold('Bash')}(npm test)`, 300);
  const tests = 9 + 3 * Number(/\d+/.exec(story.id)?.[0] ?? 1);
  await line(c.dim('  ⎿  Running tests…'), 400);
  await line(`     ${c.green(`✓ ${tests} passed`)} ${c.dim('(0.4s)')}`, 300);
  appendProgress(join(opts.taskDir, 'progress.txt'), story, written.relPath, opts.now?.() ?? new Date());
  await line(`${c.bold('Update')}(progress.txt)`, 250);
}

async function finish(
  prdFile: string,
  story: Story,
  gitRoot: string | null,
  line: Line,
  c: Palette,
): Promise<number> {
  const updated = markStoryPassing(prdFile, story.id);
  await line(`${c.bold('Update')}(prd.json) ${c.dim(`${story.id} passes: true`)}`, 250);
  if (gitRoot !== null) {
    const commit = await commitAll(gitRoot, `feat: ${story.id} - ${story.title}`);
    if ('hash' in commit)
      await line(
        `${c.bold('Bash')}(git commit) ${c.dim(`${commit.hash} feat: ${story.id} - ${story.title}`)}`,
        300,
      );
    else await line(c.yellow(`  ⚠ git commit failed: ${commit.error}`), 100);
  }
  const counts = storyCounts(updated);
  if (allPassing(updated)) {
    await line(`\n${c.green(`All ${counts.total} stories pass.`)}`, 200);
    await line(COMPLETE_PROMISE);
  } else {
    await line(`\n${c.green(`${story.id} done.`)} ${counts.total - counts.passing} to go.`, 200);
  }
  return 0;
}
