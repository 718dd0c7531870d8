/**
 * `ralph remote add|list|remove` through the built binary: the config file they keep (0600, valid JSON, atomic),
 * and one-line errors with the exit codes of src/exit-codes.ts for every bad input.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { useCliSandbox } from '../cli/harness.js';
import { writeIdentity } from './identities.js';

const sandbox = useCliSandbox();

function remotesFile(): string {
  return join(sandbox().paths.configDir, 'remotes.json');
}

function oneLineError(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines.length).toBeLessThanOrEqual(2); // the message, and perhaps a hint
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  return lines[0]!;
}

describe('ralph remote add/list/remove', () => {
  it('adds, lists and removes remotes in a private config file', async () => {
    const sb = sandbox();
    const empty = await sb.ralph(['remote', 'list']);
    expect(empty.exitCode).toBe(0);
    expect(empty.stdout).toContain('no remotes');

    const identity = await writeIdentity(sb.root, 'laptop', 'https://127.0.0.1:1');
    const added = await sb.ralph([
      'remote',
      'add',
      'vps1',
      '--identity',
      identity,
      '--service',
      'ralph-vps1',
    ]);
    expect(added.stderr).toBe('');
    expect(added.exitCode).toBe(0);
    expect(added.stdout).toContain('added remote vps1');
    // A relative identity path is stored absolute.
    const second = await sb.ralph([
      'remote',
      'add',
      'box2',
      '--identity',
      'laptop.json',
      '--service',
      'ralph-box2',
    ]);
    expect(second.exitCode).toBe(0);

    expect(statSync(remotesFile()).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(remotesFile(), 'utf8'))).toEqual({
      remotes: {
        box2: { identity, service: 'ralph-box2' },
        vps1: { identity, service: 'ralph-vps1' },
      },
    });

    const listed = await sb.ralph(['remote', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual({
      remotes: [
        { name: 'box2', identity, service: 'ralph-box2' },
        { name: 'vps1', identity, service: 'ralph-vps1' },
      ],
    });
    const table = await sb.ralph(['remote', 'list']);
    expect(table.stdout).toMatch(/vps1\s+ralph-vps1\s+\//);

    const removed = await sb.ralph(['remote', 'remove', 'box2']);
    expect(removed.exitCode).toBe(0);
    const after = await sb.ralph(['remote', 'list', '--json']);
    expect((JSON.parse(after.stdout) as { remotes: { name: string }[] }).remotes.map((r) => r.name)).toEqual([
      'vps1',
    ]);
    const again = await sb.ralph(['remote', 'remove', 'box2']);
    expect(again.exitCode).toBe(ExitCode.notFound);
    expect(oneLineError(again.stderr)).toContain('no remote named "box2"');
  });

  it('refuses bad input with one line and its exit code, leaving the file as it was', async () => {
    const sb = sandbox();
    const identity = await writeIdentity(sb.root, 'laptop2', 'https://127.0.0.1:1');
    const before = readFileSync(remotesFile(), 'utf8');
    const cases: [string[], number, RegExp][] = [
      [
        ['remote', 'add', 'vps1', '--identity', identity, '--service', 's'],
        ExitCode.conflict,
        /already configured/,
      ],
      [
        ['remote', 'add', 'a:b', '--identity', identity, '--service', 's'],
        ExitCode.usage,
        /invalid remote name/,
      ],
      [
        ['remote', 'add', 'local', '--identity', identity, '--service', 's'],
        ExitCode.usage,
        /'local' names this machine/,
      ],
      [
        ['remote', 'add', 'x', '--identity', identity, '--service', 'two words'],
        ExitCode.usage,
        /invalid service name/,
      ],
      [
        ['remote', 'add', 'x', '--identity', join(sb.root, 'missing.json'), '--service', 's'],
        ExitCode.usage,
        /cannot read/,
      ],
      [
        ['remote', 'add', 'x', '--identity', join(sb.root, 'laptop2.json')],
        ExitCode.usage,
        /identity|service/i,
      ],
      [['remote', 'test', 'nope'], ExitCode.notFound, /no remote named "nope"/],
    ];
    writeFileSync(join(sb.root, 'junk.json'), '{"ztAPI": 3}');
    cases.push([
      ['remote', 'add', 'x', '--identity', join(sb.root, 'junk.json'), '--service', 's'],
      ExitCode.usage,
      /junk\.json/,
    ]);
    for (const [args, code, message] of cases) {
      const result = await sb.ralph(args);
      expect(result.exitCode, args.join(' ')).toBe(code);
      expect(oneLineError(result.stderr), args.join(' ')).toMatch(message);
    }
    expect(readFileSync(remotesFile(), 'utf8')).toBe(before);
  });

  it('names the file and the fault when the config is malformed', async () => {
    const sb = sandbox();
    const good = readFileSync(remotesFile(), 'utf8');
    try {
      for (const [text, fault] of [
        ['{ not json', /remotes\.json: .*JSON/],
        [
          '{"remotes": {"vps1": {"identity": "rel.json", "service": "s"}}}',
          /remotes\.vps1\.identity: must be an absolute path/,
        ],
        ['{"remotes": {"bad name": {"identity": "/a.json", "service": "s"}}}', /not a valid remote name/],
        ['{"remotes": {"__proto__": {"identity": "/a.json", "service": "s"}}}', /"__proto__" is not a valid/],
        [
          '{"remotes": {"vps1": {"identity": "/a.json", "service": "two words"}}}',
          /remotes\.vps1\.service: /,
        ],
        ['{"remotes": {"vps1": {"identity": "/a.json"}}}', /remotes\.vps1\.service: /],
        ['{"remotes": []}', /remotes: must be an object/],
        ['{"remotes": {}, "extra": 1}', /remotes\.json: /],
      ] as const) {
        writeFileSync(remotesFile(), text);
        const result = await sb.ralph(['remote', 'list']);
        expect(result.exitCode, text).toBe(ExitCode.failure);
        expect(oneLineError(result.stderr), text).toMatch(fault);
      }
    } finally {
      writeFileSync(remotesFile(), good, { mode: 0o600 });
    }
  });
});
