/**
 * Creates the demo task: a fresh git repository in a temporary folder (`ralph-demo-XXXX/demo-todo-app`) with
 * a small app skeleton, prd.json, prompt.md and progress.txt, committed once. Git identity is set locally so
 * commits work on machines without a global one.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RalphError } from '../errors.js';
import { progressHeader } from '../loop/archive.js';
import {
  SAMPLE_TASK_NAME,
  sampleCli,
  samplePackageJson,
  samplePrd,
  samplePrompt,
  sampleReadme,
} from './sample-files.js';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

async function git(cwd: string, args: string[]): Promise<void> {
  const result = await execa('git', args, { cwd, reject: false, stdin: 'ignore' });
  if (result.failed) {
    throw new RalphError(
      'GIT_FAILED',
      `git ${args.join(' ')} failed in ${cwd}: ${result.stderr || result.shortMessage}`,
    );
  }
}

export async function createSampleTask(parentDir: string = tmpdir()): Promise<{ taskDir: string }> {
  const root = mkdtempSync(join(parentDir, 'ralph-demo-'));
  const taskDir = join(root, SAMPLE_TASK_NAME);
  mkdirSync(join(taskDir, 'src'), { recursive: true });
  writeFileSync(join(taskDir, 'prd.json'), json(samplePrd));
  writeFileSync(join(taskDir, 'prompt.md'), samplePrompt);
  writeFileSync(join(taskDir, 'progress.txt'), progressHeader(new Date()));
  writeFileSync(join(taskDir, 'README.md'), sampleReadme);
  writeFileSync(join(taskDir, 'package.json'), json(samplePackageJson));
  writeFileSync(join(taskDir, 'src', 'cli.js'), sampleCli, { mode: 0o755 });
  writeFileSync(join(taskDir, '.gitignore'), 'node_modules/\n');

  await git(taskDir, ['-c', 'init.defaultBranch=main', 'init', '--quiet']);
  await git(taskDir, ['config', 'user.name', 'Ralph Demo']);
  await git(taskDir, ['config', 'user.email', 'demo@ralph.invalid']);
  await git(taskDir, ['config', 'commit.gpgsign', 'false']);
  await git(taskDir, ['add', '-A']);
  await git(taskDir, ['commit', '--quiet', '-m', 'Initial commit: demo todo app skeleton']);
  return { taskDir };
}
