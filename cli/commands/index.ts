/** Every command, in the order `ralph --help` lists them. */
import type { CommandModule } from 'yargs';
import { agentsCommand } from './agents.js';
import { attachCommand } from './attach.js';
import { daemonCommand } from './daemon.js';
import { demoCommand } from './demo.js';
import { injectCommand } from './inject.js';
import { linkCommand } from './link.js';
import { logsCommand } from './logs.js';
import { peekCommand } from './peek.js';
import { pruneCommand } from './prune.js';
import { pullCommand } from './pull.js';
import { remoteCommand } from './remote.js';
import { startCommand } from './start.js';
import { statusCommand } from './status.js';
import { stopCommand } from './stop.js';
import { tuiCommand } from './tui.js';
import { waitCommand } from './wait.js';
import { webCommand } from './web.js';

// Each module is typed with its own argument shape; yargs takes them as a list of modules.
export const commands = [
  startCommand,
  statusCommand,
  attachCommand,
  stopCommand,
  waitCommand,
  logsCommand,
  peekCommand,
  injectCommand,
  pruneCommand,
  pullCommand,
  remoteCommand,
  linkCommand,
  demoCommand,
  agentsCommand,
  tuiCommand,
  webCommand,
  daemonCommand,
] as unknown as CommandModule[];
