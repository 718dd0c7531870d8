import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.mjs', '**/*.cjs', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  // Layering: src/ never imports cli/ or tui/, tui/ never imports cli/; only src/config/paths.ts (and the
  // executable's compile-cache lookup, cli/ralph.ts) reads the home directory. test/lint/boundaries.test.ts
  // proves each of these fires.
  ...boundaries(),
  {
    files: ['test/**/*.ts', 'src/**/*.test.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);

/**
 * One config object per folder, because a later object replaces a rule's options instead of merging them:
 * each folder gets the home-directory ban plus its own forbidden folders.
 */
function boundaries() {
  const homedirImport = ['node:os', 'os'].map((name) => ({
    name,
    importNames: ['homedir'],
    message:
      'paths come from src/config/paths.ts (ralphPaths), the only module that reads the home directory',
  }));
  const homedirCall = {
    selector: "MemberExpression[property.name='homedir']",
    message:
      'paths come from src/config/paths.ts (ralphPaths), the only module that reads the home directory',
  };
  const folders = (names, who) => {
    const regex = `(^|/)(${names.join('|')})/`;
    const message = `${who} must not import ${names.map((n) => `${n}/`).join(' or ')}: pass what it needs in from the caller`;
    return {
      patterns: [{ regex, message }],
      // esquery's regex literals cannot hold a slash: \x2F stands for it.
      dynamic: { selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`, message },
    };
  };
  const rules = (banHome, banned) => ({
    'no-restricted-imports': [
      'error',
      { paths: banHome ? homedirImport : [], patterns: banned ? banned.patterns : [] },
    ],
    'no-restricted-syntax': ['error', ...(banHome ? [homedirCall] : []), ...(banned ? [banned.dynamic] : [])],
  });
  const core = folders(['cli', 'tui'], 'src/');
  const view = folders(['cli'], 'tui/');
  const code = ['**/*.ts', '**/*.tsx'];
  return [
    { files: code, rules: rules(true, null) },
    { files: ['src/**/*.ts', 'src/**/*.tsx'], rules: rules(true, core) },
    { files: ['src/config/paths.ts'], rules: rules(false, core) },
    // The executable's first lines find the compile-cache folder before any module of ralph's loads (a module
    // loaded before the cache is on is compiled without it): the one other place that reads the home directory.
    { files: ['cli/ralph.ts'], rules: { 'no-restricted-imports': 'off', 'no-restricted-syntax': 'off' } },
    { files: ['tui/**/*.ts', 'tui/**/*.tsx'], rules: rules(true, view) },
  ];
}
