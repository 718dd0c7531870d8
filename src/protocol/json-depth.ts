/**
 * How deeply a JSON text nests, found without parsing it. `JSON.parse` turns every `[` into an array of its
 * own (about 58 bytes of heap for each 2 bytes of `[]`), so a 200 KB line of nested brackets costs some
 * 6 MB, built while the parse runs and so kept through the garbage collections it triggers. A message is
 * refused before it is parsed when it nests deeper than anything the protocol sends.
 */

/** Deepest nesting of arrays and objects a message may have (a batch counts as one level). */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * True when `text` opens more than `max` arrays or objects at once (brackets inside strings do not count).
 * Exact for valid JSON; for text that is not JSON the answer only decides which error it gets.
 */
export function nestsDeeperThan(text: string, max: number = MAX_JSON_DEPTH): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i += 1;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth -= 1;
    }
  }
  return false;
}
