import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { buildPrompt, validateTaskDir } from '../../src/loop/prompt.js';
import { progressHeader } from '../../src/loop/archive.js';
import type { Story } from '../../src/loop/prd.js';

const STORY: Story = {
  id: 'US-002',
  title: 'Show tags',
  description: '',
  acceptanceCriteria: [],
  priority: 2,
  passes: false,
  notes: '',
  dependsOn: [],
  labels: [],
};

describe('task folder and prompt', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ralph-prompt-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('validateTaskDir returns the paths and creates progress.txt', () => {
    writeFileSync(join(dir, 'prd.json'), '{}');
    writeFileSync(join(dir, 'prompt.md'), '# go');
    const now = new Date(2025, 0, 2);
    expect(validateTaskDir(dir, now)).toEqual({
      taskDir: dir,
      prdFile: join(dir, 'prd.json'),
      promptFile: join(dir, 'prompt.md'),
      progressFile: join(dir, 'progress.txt'),
    });
    expect(readFileSync(join(dir, 'progress.txt'), 'utf8')).toBe(progressHeader(now));
    writeFileSync(join(dir, 'progress.txt'), 'kept');
    validateTaskDir(dir);
    expect(readFileSync(join(dir, 'progress.txt'), 'utf8')).toBe('kept');
  });

  it('validateTaskDir names what is missing', () => {
    const missing = join(dir, 'nope');
    const invalid = (message: string): unknown =>
      expect.objectContaining({ code: 'INVALID_TASK', exitCode: ExitCode.invalidTask, message });
    expect(() => validateTaskDir(missing)).toThrowError(invalid(`task folder ${missing} does not exist`));
    writeFileSync(join(dir, 'file'), '');
    expect(() => validateTaskDir(join(dir, 'file'))).toThrowError(
      invalid(`${join(dir, 'file')} is not a folder`),
    );
    mkdirSync(join(dir, 'task'));
    const task = join(dir, 'task');
    expect(() => validateTaskDir(task)).toThrowError(invalid(`task folder ${task} has no prd.json`));
    writeFileSync(join(task, 'prd.json'), '{}');
    expect(() => validateTaskDir(task)).toThrowError(invalid(`task folder ${task} has no prompt.md`));
  });

  it('buildPrompt sends prompt.md with a context section naming the task folder and story', () => {
    writeFileSync(join(dir, 'prompt.md'), '# Instructions\n\nDo one story.\n\n');
    const prompt = buildPrompt({ taskDir: dir, injected: [], iteration: 3, story: STORY });
    expect(prompt).toBe(
      '# Instructions\n\nDo one story.\n\n---\n\n## Ralph context\n\n' +
        `- Task folder: ${dir} (prd.json, progress.txt and prompt.md live here)\n` +
        '- Iteration: 3\n- Next story by priority and dependencies: US-002 - Show tags\n',
    );
  });

  it('buildPrompt puts injected prompts first, oldest first, under a header', () => {
    writeFileSync(join(dir, 'prompt.md'), 'BODY');
    const prompt = buildPrompt({
      taskDir: dir,
      injected: ['use pnpm', '  ', 'skip the e2e tests\n'],
      iteration: 5,
      story: null,
    });
    expect(prompt.startsWith('# Instructions from the operator (iteration 5)\n\n')).toBe(true);
    const order = [
      'use pnpm',
      'skip the e2e tests',
      '---',
      'BODY',
      'Next story by priority and dependencies: none',
    ];
    const positions = order.map((text) => prompt.indexOf(text));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(prompt).toContain('use pnpm\n\nskip the e2e tests\n\n---\n\nBODY');
  });

  it('buildPrompt names a missing prompt.md', () => {
    expect(() => buildPrompt({ taskDir: dir, injected: [], iteration: 1, story: null })).toThrowError(
      expect.objectContaining({ code: 'INVALID_TASK', message: `${join(dir, 'prompt.md')} not found` }),
    );
  });
});
