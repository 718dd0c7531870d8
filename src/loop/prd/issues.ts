/** Problems found in a prd.json: the JSON path (`userStories[2].priority`) and what is wrong there. */
export type JsonPath = ReadonlyArray<PropertyKey>;

export interface PrdProblem {
  /** e.g. `userStories[2].priority`; `(root)` for the document itself. */
  path: string;
  message: string;
}

export function formatPath(path: JsonPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

export function valueAt(root: unknown, path: JsonPath): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** "string \"high\"", "number 3", "array", "object", "null". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'array';
  if (typeof value === 'string') {
    const shown = value.length > 30 ? `${value.slice(0, 27)}...` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}
