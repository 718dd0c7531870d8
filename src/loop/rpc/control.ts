/** stop, checkpoint, inject_prompt, pause, resume, add_iterations, resize. */
import type { HandlerTable } from '../../protocol/dispatch.js';
import { RpcError } from '../../protocol/errors.js';
import { isRalphError } from '../../errors.js';
import type { LoopServer } from './server.js';

/** Runs a runner action, turning its typed refusals into protocol errors. */
export function guarded<T>(action: () => T): T {
  try {
    return action();
  } catch (err) {
    if (isRalphError(err, 'LOOP_ENDED')) throw RpcError.of('LOOP_ENDED', err.message);
    throw err;
  }
}

export function controlHandlers(server: LoopServer): HandlerTable {
  const { runner } = server;
  return {
    stop: (params) => {
      runner.stop(params.force ?? false);
      return { status: 'stop_requested' };
    },
    checkpoint: () => {
      guarded(() => runner.checkpoint());
      return { status: 'checkpoint_requested' };
    },
    inject_prompt: ({ prompt }) => {
      guarded(() => runner.injectPrompt(prompt));
      return { status: 'prompt_injected', prompt };
    },
    pause: () => {
      guarded(() => runner.pause());
      return { status: 'paused' };
    },
    resume: () => {
      guarded(() => runner.resume());
      return { status: 'running' };
    },
    add_iterations: ({ count }) => ({ max_iterations: guarded(() => runner.addIterations(count)) }),
    resize: ({ cols, rows }) => {
      if (runner.ended)
        throw RpcError.of('LOOP_ENDED', `cannot resize a loop that is ${runner.state.status}`);
      runner.resize(cols, rows);
      return { cols, rows };
    },
  };
}
