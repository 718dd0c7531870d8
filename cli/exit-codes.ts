/** The exit codes live in one table, `ExitCode` in src/exit-codes.ts; `LoopExit` is the same table. */
export { ExitCode as LoopExit, loopEndExitCode } from '../src/exit-codes.js';
