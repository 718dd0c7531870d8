/**
 * The layering rules of eslint.config.js, proved to fire: the project's own ESLint configuration lints small
 * snippets as if they were files of each folder (existing files, so the type-aware parser knows them), and each
 * forbidden import reports its rule while the allowed ones do not. If a rule is dropped or its pattern stops
 * matching, a test here fails.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** The messages of the layering rules only (the snippets break other rules, which do not matter here). */
async function layering(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  const wanted = new Set(['no-restricted-imports', 'no-restricted-syntax']);
  return (result?.messages ?? [])
    .filter((m) => m.ruleId !== null && wanted.has(m.ruleId) && m.severity === 2)
    .map((m) => `${m.ruleId}: ${m.message}`);
}

const SRC_FILE = 'src/errors.ts';
const TUI_FILE = 'tui/run.tsx';
const CLI_FILE = 'cli/commands/tui.ts';

describe('src/ never imports cli/ or tui/', () => {
  it('a static import of cli/ fires no-restricted-imports', async () => {
    const found = await layering(SRC_FILE, "import { attachTerminal } from '../cli/attach-terminal.js';\n");
    expect(found).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*src\/ must not import cli\/ or tui\//),
    ]);
  });

  it('a static import of tui/ fires no-restricted-imports', async () => {
    const found = await layering(SRC_FILE, "export { runTui } from '../tui/run.js';\n");
    expect(found).toEqual([expect.stringMatching(/^no-restricted-imports: .*src\/ must not import/)]);
  });

  it('a dynamic import of cli/ fires no-restricted-syntax', async () => {
    const found = await layering(SRC_FILE, "export const load = () => import('../cli/main.js');\n");
    expect(found).toEqual([
      expect.stringMatching(/^no-restricted-syntax: src\/ must not import cli\/ or tui\//),
    ]);
  });

  it('imports inside src/ and of packages pass (client/ is not cli/)', async () => {
    const code =
      "import { connectSession } from './client/connect.js';\nimport yargs from 'yargs';\nexport { connectSession, yargs };\n";
    expect(await layering(SRC_FILE, code)).toEqual([]);
  });
});

describe('tui/ never imports cli/', () => {
  it('a static import of cli/ fires no-restricted-imports', async () => {
    const found = await layering(
      TUI_FILE,
      "import { attachTerminal } from '../cli/attach-terminal.js';\nexport { attachTerminal };\n",
    );
    expect(found).toEqual([expect.stringMatching(/^no-restricted-imports: .*tui\/ must not import cli\//)]);
  });

  it('a dynamic import of cli/ fires no-restricted-syntax', async () => {
    const found = await layering(
      TUI_FILE,
      "export const load = () => import('../cli/attach-terminal.js');\n",
    );
    expect(found).toEqual([expect.stringMatching(/^no-restricted-syntax: tui\/ must not import cli\//)]);
  });

  it('tui/ may import src/, and cli/ may import tui/', async () => {
    expect(await layering(TUI_FILE, "export { errorMessage } from '../src/errors.js';\n")).toEqual([]);
    expect(await layering(CLI_FILE, "export const load = () => import('../../tui/run.js');\n")).toEqual([]);
  });
});

describe('only src/config/paths.ts reads the home directory', () => {
  const named = "import { homedir } from 'node:os';\nexport const home = homedir();\n";
  const member = "import os from 'node:os';\nexport const home = os.homedir();\n";

  it.each([SRC_FILE, TUI_FILE, CLI_FILE, 'test/support/wait.ts'])(
    'homedir imported by name in %s fires',
    async (file) => {
      expect(await layering(file, named)).toEqual([
        expect.stringMatching(/^no-restricted-imports: .*homedir.*src\/config\/paths\.ts/),
      ]);
    },
  );

  it('os.homedir() fires no-restricted-syntax', async () => {
    expect(await layering(CLI_FILE, member)).toEqual([
      expect.stringMatching(/^no-restricted-syntax: paths come from src\/config\/paths\.ts/),
    ]);
    const fromOs = "import * as os from 'os';\nexport const home = os.homedir();\n";
    // A namespace import of os is itself reported (it brings homedir in), and so is the call.
    expect(await layering(SRC_FILE, fromOs)).toEqual([
      expect.stringMatching(/^no-restricted-imports: \* import is invalid because 'homedir' from 'os'/),
      expect.stringMatching(/^no-restricted-syntax: paths come from/),
    ]);
  });

  it('src/config/paths.ts may, and still may not import cli/', async () => {
    expect(await layering('src/config/paths.ts', named)).toEqual([]);
    expect(await layering('src/config/paths.ts', member)).toEqual([]);
    const found = await layering('src/config/paths.ts', "export { main } from '../../cli/main.js';\n");
    expect(found).toEqual([expect.stringMatching(/^no-restricted-imports: .*src\/ must not import/)]);
  });
});
