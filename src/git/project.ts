/**
 * What a `ralph::<remote>/<project>` address names, and the rules both ends apply to it: the remote is one of
 * the configured remotes, the project one bare repository in the daemon's workspace, and git reaches it through
 * one of two services only.
 */

/** The two git services a daemon serves: fetch/clone and push. */
export const GIT_SERVICES = ['git-upload-pack', 'git-receive-pack'] as const;
export type GitService = (typeof GIT_SERVICES)[number];

export function isGitService(value: unknown): value is GitService {
  return typeof value === 'string' && (GIT_SERVICES as readonly string[]).includes(value);
}

/**
 * Project names: one path segment of letters, digits, `.`, `_`, `-`, starting with a letter or digit, at most
 * 100 characters, never `..` inside (so no name can climb out of the folder its repository lives in).
 */
export const PROJECT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Why `name` is not a valid project name, or null when it is. */
export function projectNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.includes('/') || name.includes('\\')) return 'must be one path segment (no "/")';
  if (name.includes('..')) return 'must not contain ".."';
  if (!PROJECT_PATTERN.test(name)) {
    return 'must be 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit';
  }
  if (name.endsWith('.git')) return 'must not end in ".git" (the repository gets that suffix itself)';
  return null;
}

export interface GitAddress {
  remote: string;
  project: string;
}

/**
 * Splits the address git hands the helper (`<remote>/<project>`, also accepted as `ralph://<remote>/<project>`)
 * into its remote and project. A trailing `.git` or `/` on the project is dropped. Returns a reason when the
 * address is malformed.
 */
export function parseGitAddress(address: string): GitAddress | { problem: string } {
  let rest = address.startsWith('ralph://') ? address.slice('ralph://'.length) : address;
  rest = rest.replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) {
    return { problem: `${JSON.stringify(address)} is not <remote>/<project> (e.g. ralph::vps1/my-app)` };
  }
  const remote = rest.slice(0, slash);
  const project = rest.slice(slash + 1).replace(/\.git$/, '');
  const why = projectNameProblem(project);
  if (why !== null) return { problem: `project name ${JSON.stringify(project)} ${why}` };
  return { remote, project };
}
