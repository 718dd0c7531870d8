/**
 * The pre-receive hook the daemon puts in every project repository. Git runs it once per push, after the
 * objects arrived and before any ref moves, with one `<old> <new> <ref>` line per ref; a non-zero exit refuses
 * the whole push, and what it writes to stderr reaches the pushing user as `remote:` lines. It refuses
 * - a ref name `git check-ref-format` rejects (`refs/heads/a..b`), or one outside `refs/`;
 * - a ref a running loop owns: the daemon lists them, as full ref names, in RALPH_OWNED_BRANCHES (a JSON
 *   array) when it starts `git receive-pack`, so the list is the one of the moment the push began.
 * It is a Node program (run by the daemon's own Node), so it needs no shell.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OWNED_BRANCHES_ENV = 'RALPH_OWNED_BRANCHES';

/** The hook's source. Written to work as CommonJS or ESM (a package.json up the tree may say either). */
export function preReceiveHook(nodePath: string): string {
  return `#!${nodePath}
// Written by ralph's daemon: refuses invalid ref names and pushes to refs a running loop owns.
import('node:child_process').then(({ spawnSync }) => {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { input += chunk; });
  process.stdin.on('end', () => {
    let owned;
    try {
      owned = JSON.parse(process.env.${OWNED_BRANCHES_ENV} || '[]');
      if (!Array.isArray(owned)) throw new Error('not a list');
    } catch {
      process.stderr.write('ralph: refused: the daemon did not say which branches its loops own\\n');
      process.exit(1);
    }
    const problems = [];
    for (const line of input.split('\\n')) {
      if (line.trim() === '') continue;
      const ref = line.split(' ')[2] || '';
      const valid = ref.startsWith('refs/') &&
        spawnSync('git', ['check-ref-format', ref], { stdio: 'ignore' }).status === 0;
      if (!valid) problems.push('ref name ' + JSON.stringify(ref) + ' is not a valid ref name');
      else if (owned.includes(ref)) {
        problems.push(ref + ' belongs to a running loop: push to another branch, or stop that loop first');
      }
    }
    for (const problem of problems) process.stderr.write('ralph: refused: ' + problem + '\\n');
    process.exit(problems.length > 0 ? 1 : 0);
  });
});
`;
}

/**
 * Writes the hook into `<repo>/hooks/pre-receive` unless it is already there with the same content (written to
 * a temporary file first, then renamed, so a push running meanwhile sees the old hook or the new one).
 */
export function installPreReceiveHook(repo: string, nodePath = process.execPath): string {
  const dir = join(repo, 'hooks');
  const file = join(dir, 'pre-receive');
  const source = preReceiveHook(nodePath);
  let current: string | null = null;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = null;
  }
  if (current !== source) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, source, { mode: 0o700 });
    chmodSync(tmp, 0o700);
    renameSync(tmp, file);
  }
  return dir;
}
