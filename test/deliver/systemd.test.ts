/**
 * The daemon's systemd units (systemd/): each passes `systemd-analyze verify` (the system unit as an instance,
 * the user unit in a user manager), the settings the setup depends on are there, and a broken copy of a unit
 * is caught. `systemd-analyze verify` exits 0 on unknown keys and unparsable values and only prints a warning,
 * so a unit passes only when verify exits 0 AND prints nothing about it.
 *
 * Without systemd-analyze the tests are skipped with a notice; RALPH_REQUIRE_SYSTEMD_ANALYZE=1 (set by
 * .ci/run) makes its absence a failure.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const UNITS = join(ROOT, 'systemd');
const REQUIRE_ENV = 'RALPH_REQUIRE_SYSTEMD_ANALYZE';

function findSystemdAnalyze(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = join(dir, 'systemd-analyze');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return null;
}

const analyze = findSystemdAnalyze();
const required = process.env[REQUIRE_ENV] === '1';
if (analyze === null && !required) {
  console.warn(
    `[systemd] SKIPPING the systemd unit checks: systemd-analyze was not found. Install it ` +
      `(Debian/Ubuntu: apt-get install systemd) or set ${REQUIRE_ENV}=1 to make its absence a failure.`,
  );
}

interface Verdict {
  code: number;
  output: string;
}

/** Runs `systemd-analyze [--user] verify <file>`; never rejects. */
function verify(file: string, user: boolean, runtimeDir: string): Promise<Verdict> {
  return new Promise((resolve) => {
    if (analyze === null) {
      resolve({ code: 127, output: `systemd-analyze not found (${REQUIRE_ENV}=1 requires it)` });
      return;
    }
    const args = [...(user ? ['--user'] : []), 'verify', '--man=no', file];
    // A user manager needs a runtime directory even to verify; a private one keeps the host's out of it.
    const env = { ...process.env, XDG_RUNTIME_DIR: runtimeDir, SYSTEMD_LOG_COLOR: '0' };
    execFile(analyze, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

/** The verify output lines that concern this unit (verify also loads the host's units it references). */
function linesAbout(output: string, unitName: string, file: string): string[] {
  const stem = unitName.replace(/\.service$/, '');
  return output
    .split('\n')
    .filter((l) => l.includes(file) || l.includes(stem) || /not executable|Failed to/.test(l));
}

interface UnitCase {
  /** File in systemd/. */
  source: string;
  /** Name it is verified under (an instance for the template). */
  unitName: string;
  user: boolean;
}

const CASES: UnitCase[] = [
  { source: 'ralph-daemon.service', unitName: 'ralph-daemon.service', user: true },
  { source: 'ralph-daemon@.service', unitName: 'ralph-daemon@1000.service', user: false },
];

/** `Key=value` lines of the unit that are not comments, as [key, value] pairs. */
function settings(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';') && !l.startsWith('['))
    .map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i), l.slice(i + 1)] as [string, string];
    });
}

function values(text: string, key: string): string[] {
  return settings(text)
    .filter(([k]) => k === key)
    .map(([, v]) => v);
}

describe.skipIf(analyze === null && !required)('systemd units pass systemd-analyze verify', () => {
  let dir: string;
  let runtimeDir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ralph-systemd-'));
    runtimeDir = join(dir, 'runtime');
    await mkdir(runtimeDir, { mode: 0o700 });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Writes `text` as <dir>/<sub>/<unitName> and verifies it. */
  async function verifyText(sub: string, c: UnitCase, text: string): Promise<Verdict & { file: string }> {
    await mkdir(join(dir, sub), { recursive: true });
    const file = join(dir, sub, c.unitName);
    await writeFile(file, text);
    return { ...(await verify(file, c.user, runtimeDir)), file };
  }

  for (const c of CASES) {
    it(`${c.source} verifies cleanly${c.user ? ' in a user manager' : ` as ${c.unitName}`}`, async () => {
      const text = await readFile(join(UNITS, c.source), 'utf8');
      const result = await verifyText('good', c, text);
      expect(linesAbout(result.output, c.unitName, result.file)).toEqual([]);
      expect(result.code).toBe(0);
    });

    it(`${c.source}: a missing ExecStart binary fails verify`, async () => {
      const text = await readFile(join(UNITS, c.source), 'utf8');
      const [execStart] = values(text, 'ExecStart');
      const binary = execStart!.split(/\s+/)[0]!;
      const broken = text.replace(`ExecStart=${binary}`, `ExecStart=${join(dir, 'no-such-binary')}`);
      expect(broken).not.toBe(text);
      const result = await verifyText('missing-binary', c, broken);
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(/no-such-binary.*not executable/);
    });

    it(`${c.source}: an unknown key or a bad value is reported (verify exits 0 on those)`, async () => {
      const text = await readFile(join(UNITS, c.source), 'utf8');
      const broken = text
        .replace('Restart=on-failure', 'Restart=sometimes')
        .replace('UMask=0077', 'UMask=0077\nKilMode=process');
      expect(broken).not.toBe(text);
      const result = await verifyText('bad-keys', c, broken);
      const lines = linesAbout(result.output, c.unitName, result.file);
      expect(lines.some((l) => /sometimes/.test(l))).toBe(true);
      expect(lines.some((l) => /KilMode/.test(l))).toBe(true);
    });
  }
});

describe('systemd units carry the settings the setup relies on', () => {
  for (const c of CASES) {
    describe(c.source, () => {
      let text: string;
      beforeAll(async () => {
        text = await readFile(join(UNITS, c.source), 'utf8');
      });

      it('runs `ralph daemon --config <file>` and restarts on failure', () => {
        expect(values(text, 'ExecStart')).toEqual([
          expect.stringMatching(/(^|\/| )ralph daemon --config \S+\.json$/),
        ]);
        expect(values(text, 'Restart')).toEqual(['on-failure']);
      });

      it('never kills runners that share its control group on stop or restart', () => {
        expect(values(text, 'KillMode')).toEqual(['process']);
      });

      it('reads the agents API keys from an EnvironmentFile', () => {
        expect(values(text, 'EnvironmentFile')).toEqual([expect.stringMatching(/^-?\/|^-?%E\//)]);
      });

      it('is hardened in ways Node and the agents survive', () => {
        expect(values(text, 'NoNewPrivileges')).toEqual(['yes']);
        expect(values(text, 'UMask')).toEqual(['0077']);
        expect(values(text, 'RestrictAddressFamilies')).toEqual(['AF_UNIX AF_INET AF_INET6 AF_NETLINK']);
        expect(values(text, 'MemoryDenyWriteExecute')).toEqual([]);
        if (!c.user) {
          expect(values(text, 'ProtectSystem')).toEqual(['full']);
          expect(values(text, 'PrivateTmp')).toEqual(['yes']);
          expect(values(text, 'User')).toEqual(['%i']);
          expect(values(text, 'Environment')).toContain('XDG_RUNTIME_DIR=/run/user/%i');
        }
      });

      it('documents loginctl enable-linger', () => {
        expect(text).toMatch(/loginctl enable-linger/);
      });
    });
  }
});

describe('docs/remote-setup.md matches the units', () => {
  it('names each unit file, the config and environment files they read, and linger', async () => {
    const doc = await readFile(join(ROOT, 'docs', 'remote-setup.md'), 'utf8');
    const user = await readFile(join(UNITS, 'ralph-daemon.service'), 'utf8');
    const system = await readFile(join(UNITS, 'ralph-daemon@.service'), 'utf8');
    // %E is ~/.config in a user manager.
    const expand = (s: string): string => s.replace('%E/', '~/.config/').replace(/^-/, '');
    const configOf = (unit: string): string =>
      expand(/--config (\S+)$/.exec(values(unit, 'ExecStart')[0]!)![1]!);
    for (const expected of [
      'systemd/ralph-daemon.service',
      'systemd/ralph-daemon@.service',
      configOf(user),
      configOf(system),
      expand(values(user, 'EnvironmentFile')[0]!),
      expand(values(system, 'EnvironmentFile')[0]!),
      'loginctl enable-linger',
      'ralph-daemon@$(id -u ralph).service',
    ])
      expect(doc).toContain(expected);
  });
});
