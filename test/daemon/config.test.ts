/** The daemon's configuration file: JSONC parsing, field checks with one-line errors, and `ralph daemon init`. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ralphPaths } from '../../src/config/paths.js';
import {
  daemonConfigTemplate,
  loadDaemonConfig,
  parseDaemonConfig,
  stripJsonComments,
} from '../../src/daemon/config.js';
import { isRalphError } from '../../src/errors.js';
import { useCliSandbox } from '../cli/harness.js';

const root = mkdtempSync(join(tmpdir(), 'rdcfg-'));
const workspace = join(root, 'work');
mkdirSync(workspace);
const paths = ralphPaths({ RALPH_HOME: join(root, 'home') });
afterAll(() => rmSync(root, { recursive: true, force: true }));

function parse(text: string) {
  return parseDaemonConfig(text, join(root, 'daemon.jsonc'), paths);
}

function failure(text: string): string {
  try {
    parse(text);
  } catch (err) {
    expect(isRalphError(err, 'INVALID_DAEMON_CONFIG')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

const minimal = (extra = ''): string =>
  `{"identity": "id.json", "service": "ralph-vps1", "workspace": ${JSON.stringify(workspace)}${extra}}`;

describe('stripJsonComments', () => {
  it('removes line and block comments but keeps comment-like text inside strings', () => {
    const text = [
      '// heading',
      '{',
      '  "url": "https://example.com/a//b", // trailing',
      '  /* block',
      '     comment */ "glob": "/* not a comment */",',
      '  "quote": "say \\"//hi\\"",',
      '  "list": [1, 2,],',
      '}',
    ].join('\n');
    expect(JSON.parse(stripJsonComments(text))).toEqual({
      url: 'https://example.com/a//b',
      glob: '/* not a comment */',
      quote: 'say "//hi"',
      list: [1, 2],
    });
    // Line numbers survive, so JSON errors still point at the right line.
    expect(stripJsonComments(text).split('\n')).toHaveLength(8);
  });
});

describe('daemon configuration', () => {
  it('fills defaults and resolves paths', () => {
    const config = parse(minimal());
    expect(config).toMatchObject({
      identity: join(root, 'id.json'),
      service: 'ralph-vps1',
      maxLoops: 8,
      roles: {},
      socket: join(paths.runDir, 'daemon.sock'),
      audit: join(paths.dataDir, 'daemon', 'audit.ndjson'),
      journal: join(paths.dataDir, 'daemon', 'journal.ndjson'),
      terminator: null,
    });
  });

  it('names the field at fault in one line', () => {
    expect(failure('{"service": "x", "workspace": "/tmp"}')).toMatch(/daemon\.jsonc: identity: missing/);
    expect(failure(minimal(', "maxLoops": 0'))).toMatch(/maxLoops: .*>=1/);
    expect(failure(minimal(', "maxLoops": "8"'))).toMatch(/maxLoops: expected number/);
    expect(failure(minimal(', "roles": {"laptop": "admin"}'))).toMatch(
      /roles\.laptop: a role is "observe" or "control"/,
    );
    expect(failure(minimal(', "colour": "blue"'))).toMatch(/colour: unknown field/);
    expect(failure('{"identity": "a", "service": "b", "workspace": "/no/such/dir"}')).toMatch(
      /workspace: \/no\/such\/dir: ENOENT/,
    );
    expect(failure('{ "identity": "a", ')).toMatch(/not valid JSON/);
    expect(failure('[1]')).toMatch(/expected an object/);
    for (const message of [failure('[1]'), failure(minimal(', "maxLoops": 0'))]) {
      expect(message.split('\n')).toHaveLength(1);
    }
  });

  it('uses the real path of the workspace', () => {
    const link = join(root, 'work-link');
    symlinkSync(workspace, link);
    expect(parse(`{"identity": "a", "service": "b", "workspace": ${JSON.stringify(link)}}`).workspace).toBe(
      workspace,
    );
  });

  it('reads a file, and says how to make one when it is missing', () => {
    const file = join(root, 'written.jsonc');
    writeFileSync(
      file,
      daemonConfigTemplate({ identity: '/etc/ralph/daemon.json', service: 's1', workspace }),
    );
    expect(loadDaemonConfig(file, paths)).toMatchObject({ service: 's1', workspace, maxLoops: 8 });
    try {
      loadDaemonConfig(join(root, 'missing.jsonc'), paths);
      throw new Error('expected a failure');
    } catch (err) {
      expect((err as Error).message).toMatch(/missing\.jsonc: cannot read it/);
      expect((err as { hint?: string }).hint).toMatch(/ralph daemon init/);
    }
  });
});

describe('ralph daemon init and missing --config', () => {
  const sandbox = useCliSandbox();

  it('writes a commented configuration that loads as written', async () => {
    const out = join(sandbox().root, 'daemon.jsonc');
    const result = await sandbox().ralph([
      'daemon',
      'init',
      '--out',
      out,
      '--identity',
      'ids/daemon.json',
      '--service',
      'ralph-box',
      '--workspace',
      workspace,
    ]);
    expect(result.exitCode).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^\s*\/\/ Who may do what/m);
    expect(loadDaemonConfig(out, paths)).toMatchObject({
      identity: join(sandbox().root, 'ids', 'daemon.json'),
      service: 'ralph-box',
      workspace,
    });
    const again = await sandbox().ralph(['daemon', 'init', '--out', out]);
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toMatch(/exists already/);
  });

  it('refuses to run without --config, and names a bad file clearly', async () => {
    const none = await sandbox().ralph(['daemon']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/needs --config/);
    const bad = join(sandbox().root, 'bad.jsonc');
    writeFileSync(bad, '{"identity": 5}');
    const result = await sandbox().ralph(['daemon', '--config', bad]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/bad\.jsonc: identity: expected string/);
  });
});

describe('the executor setting', () => {
  it('is the process executor unless the file says otherwise', () => {
    expect(parse(minimal()).executor).toEqual({ kind: 'process' });
    expect(parse(minimal(', "executor": {"kind": "process"}')).executor).toEqual({ kind: 'process' });
  });

  it('fills in the Kubernetes executor with its defaults, paths relative to the file', () => {
    const config = parse(
      minimal(
        ', "executor": {"kind": "kubernetes", "namespace": "loops", "image": "ralph-runner:1", ' +
          '"kubeconfig": "kube/config", "secret": "agent-keys"}',
      ),
    );
    expect(config.executor).toEqual({
      kind: 'kubernetes',
      namespace: 'loops',
      image: 'ralph-runner:1',
      imagePullPolicy: 'IfNotPresent',
      kubeconfig: join(root, 'kube', 'config'),
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
      storageClass: null,
      storageSize: '5Gi',
      secret: 'agent-keys',
      ttlSecondsAfterFinished: 86400,
      nodeSelector: {},
      tolerations: [],
      hostNetwork: false,
      runAsUser: 65532,
      deadlineGraceSeconds: 60,
      nodePath: '/usr/local/bin/node',
      maxTaskBytes: 512 * 1024 * 1024,
      awaitFilesMs: null,
      store: join(paths.dataDir, 'daemon', 'kubernetes.sqlite'),
    });
  });

  it.each([
    ['an unknown kind', '{"kind": "nomad"}', /executor\.kind: /],
    ['no namespace', '{"kind": "kubernetes", "image": "i"}', /executor\.namespace: /],
    [
      'a namespace that is not a DNS label',
      '{"kind": "kubernetes", "namespace": "Loops_1", "image": "i"}',
      /executor\.namespace: must be a DNS-1123 label/,
    ],
    [
      'root',
      '{"kind": "kubernetes", "namespace": "loops", "image": "i", "runAsUser": 0}',
      /executor\.runAsUser: /,
    ],
    [
      'a bad quantity',
      '{"kind": "kubernetes", "namespace": "loops", "image": "i", "storageSize": "lots"}',
      /executor\.storageSize: must be a quantity/,
    ],
    [
      'an unknown field',
      '{"kind": "kubernetes", "namespace": "loops", "image": "i", "replicas": 2}',
      /executor\.replicas: unknown field/,
    ],
    [
      'a field of the other kind',
      '{"kind": "process", "namespace": "loops"}',
      /executor\.namespace: unknown field/,
    ],
  ])('refuses %s in one line naming the field', (_what, executor, message) => {
    const why = failure(minimal(`, "executor": ${executor}`));
    expect(why).toMatch(message);
    expect(why.split('\n')).toHaveLength(1);
  });
});
