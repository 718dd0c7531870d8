/** The few git operations the demo agent performs, via execa without a shell. */
import { execa } from 'execa';

async function git(cwd: string, args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const result = await execa('git', args, { cwd, reject: false, stdin: 'ignore' });
  return {
    ok: !result.failed,
    out: result.stdout.trim(),
    err: (result.stderr || result.shortMessage || '').trim(),
  };
}

/** The top of the git work tree holding `dir`, or null when `dir` is not inside one. */
export async function repoRoot(dir: string): Promise<string | null> {
  const r = await git(dir, ['rev-parse', '--show-toplevel']);
  return r.ok && r.out !== '' ? r.out : null;
}

/** Switches to `branch`, creating it from the current commit when it does not exist yet. */
export async function ensureBranch(
  root: string,
  branch: string,
): Promise<{ switched: boolean; error?: string }> {
  const head = await git(root, ['rev-parse', '--abbrev-ref', 'HEAD']);
  if (head.ok && head.out === branch) return { switched: false };
  const exists = await git(root, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]);
  const r = await git(root, exists.ok ? ['switch', branch] : ['switch', '-c', branch]);
  return r.ok ? { switched: true } : { switched: false, error: r.err };
}

/** Stages everything and commits; returns the short hash, or the error git gave. */
export async function commitAll(
  root: string,
  message: string,
): Promise<{ hash: string } | { error: string }> {
  const add = await git(root, ['add', '-A']);
  if (!add.ok) return { error: add.err };
  const commit = await git(root, ['commit', '--quiet', '-m', message]);
  if (!commit.ok) return { error: commit.err };
  const hash = await git(root, ['rev-parse', '--short', 'HEAD']);
  return { hash: hash.out };
}
