/**
 * One agent process in a PTY. node-pty makes the child a session leader, so its pid is also its process group
 * and signals reach everything the agent started.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import pty from 'node-pty';

export interface AgentSpawn {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  cols: number;
  rows: number;
}

export interface AgentExit {
  exitCode: number | null;
  signal: string | null;
}

interface AgentProcessEvents {
  data: [Buffer];
  exit: [AgentExit];
}

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals as Record<string, number>).map(([name, num]) => [num, name]),
);

/** Output quiet this long after exit means the PTY has nothing more to give. */
const EXIT_QUIET_MS = 30;
const EXIT_DRAIN_MAX_MS = 1000;

export class AgentProcess extends EventEmitter<AgentProcessEvents> {
  readonly pid: number;
  private readonly term: pty.IPty;
  private exited = false;
  private lastDataAt = 0;

  constructor(spec: AgentSpawn) {
    super();
    this.term = pty.spawn(spec.file, spec.args, {
      name: 'xterm-256color',
      cols: spec.cols,
      rows: spec.rows,
      cwd: spec.cwd,
      env: spec.env,
      encoding: null,
    });
    this.pid = this.term.pid;
    this.term.onData((chunk) => {
      this.lastDataAt = Date.now();
      this.emit('data', chunk as unknown as Buffer);
    });
    this.term.onExit(({ exitCode, signal }) => {
      this.exited = true;
      const name = signal ? (SIGNAL_NAMES.get(signal) ?? String(signal)) : null;
      // The PTY can still hand over output after the exit is reported; wait for a short quiet spell so the
      // iteration's last bytes land in the log before it is judged.
      this.afterQuiet(() => this.emit('exit', { exitCode: name ? null : exitCode, signal: name }));
    });
  }

  private afterQuiet(done: () => void, deadline = Date.now() + EXIT_DRAIN_MAX_MS): void {
    const quietFor = Date.now() - this.lastDataAt;
    if (quietFor >= EXIT_QUIET_MS || Date.now() >= deadline) return done();
    setTimeout(() => this.afterQuiet(done, deadline), EXIT_QUIET_MS - quietFor);
  }

  get running(): boolean {
    return !this.exited;
  }

  write(data: string | Buffer): void {
    if (!this.exited) this.term.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.exited) this.term.resize(cols, rows);
  }

  /** Signals the agent's whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (this.exited) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        // Already gone: the exit event is on its way.
      }
    }
  }
}
