/**
 * Protocol limits that code without the schemas needs too (the CLI's help text names them): importing them
 * from here costs nothing, while the schemas module builds every zod schema when it loads.
 */

/** Largest payload a client may send as a prompt or as keystrokes, in UTF-8 bytes. */
export const MAX_INPUT_BYTES = 64 * 1024;
