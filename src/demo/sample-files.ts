/** The files of the demo task: a tiny todo app skeleton and its four-story prd.json (original schema). */
export const SAMPLE_TASK_NAME = 'demo-todo-app';
export const SAMPLE_BRANCH = 'ralph/demo-todo-app';

const story = (n: number, title: string, description: string, criteria: string[]) => ({
  id: `US-00${n}`,
  title,
  description,
  acceptanceCriteria: [...criteria, 'Tests pass'],
  priority: n,
  passes: false,
  notes: '',
});

export const samplePrd = {
  project: 'Demo Todo App',
  branchName: SAMPLE_BRANCH,
  description: 'A command-line todo list, built one story per iteration by the ralph demo agent.',
  userStories: [
    story(
      1,
      'Add a todo item model',
      'As a developer, I want a todo item type so the other stories share one shape.',
      ['A todo has an id, a title and a done flag'],
    ),
    story(2, 'Add todos from the command line', 'As a user, I want `todo add <title>` to save a new todo.', [
      'todo add "Buy milk" stores an open todo',
      'Empty titles are rejected with a clear message',
    ]),
    story(3, 'List open todos', 'As a user, I want `todo list` to show what is left to do.', [
      'Open todos are listed with their ids',
      'An empty list prints "nothing to do"',
    ]),
    story(4, 'Mark a todo as done', 'As a user, I want `todo done <id>` to tick an item off.', [
      'The todo disappears from todo list',
      'An unknown id is reported, not ignored',
    ]),
  ],
};

export const samplePrompt = `# Ralph iteration instructions

You are one iteration of a Ralph loop working on this repository.

1. Read \`prd.json\` and \`progress.txt\` in the task folder (named in the context section at the end).
2. Make sure you are on the branch named by \`branchName\` in prd.json.
3. Pick the story with the lowest \`priority\` number whose \`passes\` is false.
4. Implement that one story only, keeping changes small, and run the tests.
5. Commit with the message \`feat: <story id> - <story title>\`.
6. Set the story's \`passes\` to true in prd.json and append what you did and learned to progress.txt.
7. If every story now passes, reply with <promise>COMPLETE</promise>.
`;

export const sampleReadme = `# Demo todo app

A tiny command-line todo list. It exists to show a Ralph loop at work: \`ralph demo\` runs the offline demo
agent against this folder, which implements one story of \`prd.json\` per iteration and commits it.
`;

export const samplePackageJson = {
  name: 'demo-todo-app',
  version: '0.0.0',
  private: true,
  type: 'module',
  bin: { todo: 'src/cli.js' },
  scripts: { test: 'node --test' },
};

export const sampleCli = `#!/usr/bin/env node
// Entry point of the todo command; the stories fill in the commands.
const [command = 'list'] = process.argv.slice(2);
console.log(\`todo: '\${command}' is not implemented yet\`);
`;
