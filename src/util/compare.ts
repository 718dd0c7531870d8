/**
 * Orders two strings by their UTF-16 code units, as `sort()` does with no comparator. For names, ids and ISO
 * times this is the order wanted, and it costs nothing: the first `localeCompare` of a process loads the ICU
 * collation data, about 9 ms, which a short command such as `ralph status` pays in full.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
