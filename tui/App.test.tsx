/**
 * The whole app on a real fleet: a registry in a temporary RALPH_HOME holding loops that have ended and one on
 * a remote this client cannot reach, so no loop has to run. Keys go in through stdin; every check polls the
 * frame until it matches or a few seconds pass.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render, type Instance } from 'ink';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Fleet } from '../src/client/fleet/index.js';
import { ralphPaths, type RalphPaths } from '../src/config/paths.js';
import { Registry, type NewSession } from '../src/registry/index.js';
import { App } from './App.js';
import { eventually, FOREGROUND, lines, stripAnsi } from './test-fixtures.js';

// Chalk decides at import whether to emit colours; force them on so that their absence means something.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

const ESC = '\x1b';
const ENTER = '\r';

let home: string;
let paths: RalphPaths;
let fleet: Fleet | null = null;
let app: Terminal | null = null;

/**
 * A terminal for Ink to draw on, as ink-testing-library's but with its size chosen and the instance kept, so
 * a test can wait for the app to exit.
 */
class Terminal {
  readonly stdout = Object.assign(new EventEmitter(), {
    columns: 100,
    rows: 30,
    frames: [] as string[],
    write: (frame: string): boolean => {
      this.stdout.frames.push(frame);
      return true;
    },
  });
  readonly stdin = Object.assign(new EventEmitter(), {
    isTTY: true,
    pending: [] as string[],
    write: (data: string): void => {
      this.stdin.pending.push(data);
      this.stdin.emit('readable');
      this.stdin.emit('data', data);
    },
    read: (): string | null => this.stdin.pending.shift() ?? null,
    setEncoding: (): void => undefined,
    setRawMode: (): void => undefined,
    resume: (): void => undefined,
    pause: (): void => undefined,
    ref: (): void => undefined,
    unref: (): void => undefined,
  });
  readonly stderr = Object.assign(new EventEmitter(), { write: (): boolean => true });
  readonly instance: Instance;

  constructor(tree: ReactNode) {
    this.instance = render(tree, {
      stdout: this.stdout as unknown as NodeJS.WriteStream,
      stdin: this.stdin as unknown as NodeJS.ReadStream,
      stderr: this.stderr as unknown as NodeJS.WriteStream,
      debug: true,
      exitOnCtrlC: false,
      patchConsole: false,
    });
  }

  lastFrame(): string {
    return this.stdout.frames.at(-1) ?? '';
  }
}

function seed(sessions: NewSession[]): void {
  const registry = Registry.open(paths.registryFile);
  try {
    for (const s of sessions) registry.create(s);
  } finally {
    registry.close();
  }
}

function local(task: string, status: 'completed' | 'failed' | 'stopped', exitReason: string): NewSession {
  return {
    task,
    location: 'local',
    transport: 'unix',
    address: join(paths.runDir, `${task}.sock`),
    agent: 'claude',
    taskDir: join(home, 'tasks', task),
    maxIterations: 10,
    iteration: 4,
    status,
    exitReason,
  };
}

const REMOTE: NewSession = {
  task: 'delta',
  location: 'remote',
  transport: 'ziti',
  address: 'ralph-delta',
  identity: 'vps1.json',
  remoteName: 'vps1',
  agent: 'codex',
  taskDir: '/srv/tasks/delta',
  maxIterations: 30,
  iteration: 2,
  status: 'running',
};

function start(color = false): Terminal {
  fleet = new Fleet({ paths, pollMs: 100 });
  app = new Terminal(<App fleet={fleet} color={color} />);
  return app;
}

function frame(): string {
  return stripAnsi(app?.lastFrame() ?? '');
}

/** The plain line of the list that shows `task` (the first line that names it). */
function listLine(task: string): string {
  return lines(app?.lastFrame()).find((l) => l.includes(`${task} `)) ?? '';
}

function until(check: (text: string) => void): Promise<void> {
  return eventually(() => check(frame()), 5000);
}

/**
 * Lets Ink and React finish with what has happened: the frame is written when React commits, but the key
 * handler of the new render is installed a turn later, and a key sent before that meets the old one.
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Sends one key and waits until the frame shows its effect. */
async function press(input: string, check: (text: string) => void): Promise<void> {
  app!.stdin.write(input);
  await until(check);
  await settle();
}

/** Types `text` one key at a time into a prompt labelled `label`, waiting for each character to show. */
async function type(label: string, text: string): Promise<void> {
  let typed = '';
  for (const ch of text) {
    const before = typed;
    typed += ch;
    await press(ch, (frame) =>
      expect(frame, `after ${JSON.stringify(before)}`).toContain(`${label}: ${typed}█`),
    );
  }
}

const selected = (task: string) => (): void => expect(listLine(task).startsWith(`▸ ${task}`)).toBe(true);

/** Waits for every seeded row, with the remote marked as unreachable. */
async function started(): Promise<void> {
  start();
  await until((text) => {
    expect(text).toMatch(/delta\s+vps1 ✗\s+unreachable/);
    for (const task of ['alpha', 'beta', 'gamma']) expect(text).toContain(`${task} `);
  });
  await settle();
}

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'ralph-tui-app-'));
  paths = ralphPaths({ RALPH_HOME: home });
  seed([
    local('gamma', 'stopped', 'stopped by the user'),
    local('beta', 'failed', 'agent exited with code 2'),
    local('alpha', 'completed', 'all stories pass'),
    REMOTE,
  ]);
});

afterEach(() => {
  app?.instance.unmount();
  app?.instance.cleanup();
  app = null;
  fleet?.close();
  fleet = null;
  rmSync(home, { recursive: true, force: true });
});

describe('App', () => {
  it('shows the registry rows once the fleet has started', async () => {
    start();
    await until((text) => {
      expect(text).toContain('ralph · 4 loops · 1 active');
      expect(text).toMatch(/alpha\s+local\s+completed\s+4\/10\s+-\s+claude\s+\S+\s+all stories pass/);
      expect(text).toMatch(/beta\s+local\s+failed\s+4\/10 .*agent exited with code 2/);
      expect(text).toMatch(/gamma\s+local\s+stopped .*stopped by the user/);
      expect(text).toMatch(/delta\s+vps1 ✗\s+unreachable\s+2\/30\s+-\s+codex/);
    });
    // The running remote row comes first and is selected; its detail says why it cannot be reached.
    selected('delta')();
    await until((text) => {
      expect(text).toContain('delta · vps1');
      expect(text).toContain('cannot reach remote vps1 (ralph-delta)');
    });
  });

  it('moves the selection with j and k, and the detail follows', async () => {
    await started();
    selected('delta')();
    await press('j', selected('alpha'));
    expect(listLine('delta').startsWith('▸')).toBe(false);
    await until((text) => expect(text).toContain('alpha · local · ended'));
    await press('j', selected('beta'));
    await press('j', selected('gamma'));
    // The last row stays selected.
    await press('j', selected('gamma'));
    await press('k', selected('beta'));
    await until((text) => expect(text).toContain('beta · local · ended'));
    expect(frame().match(/▸ \w+\s+(local|vps1)/g)).toHaveLength(1);
  });

  it('shows the help on ? and closes it on any key', async () => {
    await started();
    await press('?', (text) => {
      expect(text).toContain('ralph: keys');
      expect(text).toContain('pause or resume the loop');
      expect(text).not.toContain('LAST OUTPUT');
    });
    await press('j', (text) => {
      expect(text).not.toContain('ralph: keys');
      expect(text).toContain('LAST OUTPUT');
    });
    // The key that closed the help did nothing else.
    selected('delta')();
  });

  it('filters the list as / and a word are typed, and Esc clears it', async () => {
    await started();
    await press('/', (text) => expect(text).toContain('Filter: █'));
    await type('Filter', 'bet');
    await until((text) => {
      expect(text).toContain('filter: bet');
      expect(listLine('beta')).not.toBe('');
      expect(text).not.toMatch(/alpha\s+local/);
      expect(text).not.toMatch(/delta\s+vps1/);
    });
    // The selection falls to the one row left, and its detail shows.
    await until((text) => {
      selected('beta')();
      expect(text).toContain('beta · local');
    });
    await press('\x7f', (text) => expect(text).toContain('Filter: be█'));
    await press(ESC, (text) => {
      expect(text).not.toContain('Filter:');
      expect(text).not.toContain('filter: be');
      for (const task of ['alpha', 'beta', 'gamma', 'delta']) expect(listLine(task)).not.toBe('');
    });
  });

  it('handles keys that arrive before the screen is redrawn in order, as a paste or a fast typist sends them', async () => {
    await started();
    for (const key of ['/', 'b', 'e', 't']) app!.stdin.write(key);
    await until((text) => {
      expect(text).toContain('Filter: bet█');
      expect(text).toContain('filter: bet');
    });
  });

  it('says that nothing matches a filter that hides every row, and keeps it after enter', async () => {
    await started();
    await press('/', (text) => expect(text).toContain('Filter: █'));
    await type('Filter', 'zzz');
    await until((text) => {
      expect(text).toContain('no loop matches the filter "zzz"');
      expect(text).toContain('select a loop to see it here');
    });
    await press(ENTER, (text) => {
      expect(text).not.toContain('Filter: zzz█');
      expect(text).toContain('filter: zzz');
      expect(text).toContain('no loop matches the filter "zzz"');
    });
    // With nothing selected, the loop keys say so.
    await press('s', (text) => expect(text).toContain('✗ no loop selected'));
    // Esc in the list clears the filter and the message.
    await press(ESC, (text) => {
      expect(text).not.toContain('filter: zzz');
      expect(text).not.toContain('no loop selected');
      expect(listLine('alpha')).not.toBe('');
    });
  });

  it('refuses to stop, pause or extend a loop that has ended', async () => {
    await started();
    await press('j', selected('alpha'));
    await press('s', (text) => expect(text).toContain('✗ alpha has already ended'));
    expect(frame()).not.toContain('SIGTERM');
    await press(ESC, (text) => expect(text).not.toContain('has already ended'));
    await press('p', (text) => expect(text).toContain('✗ alpha has already ended'));
    await press(ESC, (text) => expect(text).not.toContain('has already ended'));
    await press('+', (text) => expect(text).toContain('✗ alpha has already ended'));
    expect(frame()).not.toContain('Iterations to add');
  });

  it('says a remote loop cannot be reached when asked to attach', async () => {
    await started();
    await press(ENTER, (text) =>
      expect(text).toMatch(/✗ delta cannot be reached: .*remote vps1/),
    );
    // The app is still there.
    expect(frame()).toContain('LAST OUTPUT');
  });

  it('says an ended loop has ended when asked to attach', async () => {
    await started();
    await press('j', selected('alpha'));
    await press('i', (text) => expect(text).toContain('✗ alpha has ended (completed)'));
  });

  it('asks how many iterations to add on +, and Esc cancels', async () => {
    await started();
    await press('+', (text) => expect(text).toContain('Iterations to add: 5█'));
    await press('\x7f', (text) => expect(text).toContain('Iterations to add: █'));
    await type('Iterations to add', '12');
    await press(ESC, (text) => {
      expect(text).not.toContain('Iterations to add');
      expect(text).toContain('↵ attach');
    });
  });

  it('asks before stopping the remote loop, and n keeps it running', async () => {
    await started();
    await press('s', (text) => expect(text).toContain('Stop delta? The agent gets SIGTERM'));
    await press('n', (text) => {
      expect(text).toContain('✓ delta keeps running');
      expect(text).not.toContain('SIGTERM');
    });
  });

  it('switches the detail view with tab and the number keys', async () => {
    await started();
    await press('j', (text) => expect(text).toContain('alpha · local · ended'));
    expect(frame()).toContain('[1 screen]');
    await press('\t', (text) => expect(text).toContain('[2 output]'));
    await press('4', (text) => {
      expect(text).toContain('[4 stories]');
      expect(text).toContain('no stories to show');
    });
    await press('3', (text) => expect(text).toContain('[3 iterations]'));
  });

  it('emits no colour with color={false}, only attributes such as inverse', async () => {
    await started();
    await press(ENTER, (text) => expect(text).toContain('cannot be reached'));
    expect(app!.lastFrame()).toContain('\x1b[7m');
    expect(app!.lastFrame()).not.toMatch(FOREGROUND);
  });

  it('emits colour with color={true}', async () => {
    start(true);
    await until((text) => expect(text).toMatch(/delta\s+vps1 ✗\s+unreachable/));
    await settle();
    await press(ENTER, (text) => expect(text).toContain('cannot be reached'));
    expect(app!.lastFrame()).toMatch(FOREGROUND);
  });

  it('ends on q', async () => {
    await started();
    const exited = app!.instance.waitUntilExit();
    app!.stdin.write('q');
    await expect(exited).resolves.toBeUndefined();
  });
});
