/** The prd.json of a task folder for tests: `stories` stories in priority order, none passing. */
export function prdJson(stories: number, branchName = 'ralph/test-feature'): object {
  return {
    project: 'Fixture',
    branchName,
    description: 'A task folder for tests',
    userStories: Array.from({ length: stories }, (_, i) => ({
      id: `US-00${i + 1}`,
      title: `Story ${i + 1}`,
      description: `As a tester, I need story ${i + 1}.`,
      acceptanceCriteria: ['It works'],
      priority: i + 1,
      passes: false,
      notes: '',
    })),
  };
}
