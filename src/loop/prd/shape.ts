/**
 * A small checker for the shapes prd.json files are written in: strings, numbers, booleans, arrays, objects
 * (extra fields allowed), nullable and optional fields, and unions. It reports every field at fault, in the
 * order the shape lists them, as `PrdProblem`s that name the JSON path and what the file holds instead.
 *
 * The protocol's schemas use zod; prd.json is checked without it because every loop's runner reads the file
 * once an iteration, and zod is most of a runner's code by size.
 */
import type { JsonPath, PrdProblem } from './issues.js';
import { describeValue, formatPath, valueAt } from './issues.js';

type TypeName = 'string' | 'number' | 'boolean' | 'array' | 'object';

/** A value's shape; `T` is the type a value that passes the check has (for inference only). */
export interface Shape<T = unknown> {
  readonly check: (value: unknown, path: JsonPath, out: Fault[]) => void;
  readonly _type?: T;
}

/** A field of an object shape: optional fields may be absent. */
interface Field<T = unknown> {
  readonly shape: Shape<T>;
  readonly optional: boolean;
}

export type Infer<S> = S extends Shape<infer T> ? T : never;

/** What is wrong at `path`: a value of the wrong type (or none), or a rule with its own message. */
export type Fault =
  { path: JsonPath; expected: TypeName; message?: undefined } | { path: JsonPath; message: string };

function typeOf(value: unknown): TypeName | 'null' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'object' ? t : 'other';
}

function primitive<T>(expected: 'string' | 'number' | 'boolean'): Shape<T> {
  return {
    check(value, path, out) {
      if (typeOf(value) !== expected || (expected === 'number' && !Number.isFinite(value))) {
        out.push({ path, expected });
      }
    },
  };
}

export const string = (): Shape<string> => primitive('string');
export const number = (): Shape<number> => primitive('number');
export const boolean = (): Shape<boolean> => primitive('boolean');

/** A string with at least one character; an empty one is reported with `message`. */
export function nonEmptyString(message: string): Shape<string> {
  return {
    check(value, path, out) {
      if (typeof value !== 'string') out.push({ path, expected: 'string' });
      else if (value.length === 0) out.push({ path, message });
    },
  };
}

/** An array of `item`s; with `emptyMessage`, an empty array is reported with it. */
export function array<T>(item: Shape<T>, emptyMessage?: string): Shape<T[]> {
  return {
    check(value, path, out) {
      if (!Array.isArray(value)) {
        out.push({ path, expected: 'array' });
        return;
      }
      value.forEach((element, index) => item.check(element, [...path, index], out));
      if (emptyMessage !== undefined && value.length === 0) out.push({ path, message: emptyMessage });
    },
  };
}

export function nullable<T>(inner: Shape<T>): Shape<T | null> {
  return {
    check(value, path, out) {
      if (value !== null) inner.check(value, path, out);
    },
  };
}

export function optional<T>(shape: Shape<T>): Field<T | undefined> {
  return { shape, optional: true };
}

type Fields = Record<string, Shape | Field>;
type FieldType<F> = F extends Field<infer T> ? T : F extends Shape<infer T> ? T : never;
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends Field ? K : never }[keyof F];
type ObjectType<F extends Fields> = { [K in Exclude<keyof F, OptionalKeys<F>>]: FieldType<F[K]> } & {
  [K in OptionalKeys<F>]?: FieldType<F[K]>;
};

function asField(entry: Shape | Field): Field {
  return 'shape' in entry ? entry : { shape: entry, optional: false };
}

/** An object with these fields, checked in this order; fields not listed are allowed and ignored. */
export function object<F extends Fields>(fields: F): Shape<ObjectType<F>> & { fields: F } {
  const entries = Object.entries(fields).map(([key, entry]) => [key, asField(entry)] as const);
  return {
    fields,
    check(value, path, out) {
      if (typeOf(value) !== 'object') {
        out.push({ path, expected: 'object' });
        return;
      }
      const record = value as Record<string, unknown>;
      for (const [key, field] of entries) {
        const fieldValue = Object.hasOwn(record, key) ? record[key] : undefined;
        if (fieldValue === undefined && field.optional) continue;
        field.shape.check(fieldValue, [...path, key], out);
      }
    },
  };
}

/** `base`'s fields, with these added or replacing the ones of the same name (which keep their place). */
export function extend<B extends Fields, F extends Fields>(
  base: Shape & { fields: B },
  fields: F,
): Shape<ObjectType<Omit<B, keyof F> & F>> & { fields: Omit<B, keyof F> & F } {
  return object<Omit<B, keyof F> & F>({ ...base.fields, ...fields });
}

/**
 * A value of one of `options`. When none fits, the option that got furthest into the value (the longest path
 * of its first fault) is the one the author meant, and its fault is reported; when none got past the value
 * itself, every option's expected type is named.
 */
export function union<T extends Shape[]>(...options: T): Shape<Infer<T[number]>> {
  return {
    check(value, path, out) {
      const firsts: Fault[] = [];
      for (const option of options) {
        const faults: Fault[] = [];
        option.check(value, path, faults);
        if (faults.length === 0) return;
        firsts.push(faults[0]!);
      }
      let best: Fault | undefined;
      for (const fault of firsts) {
        if (fault.path.length > path.length && (best === undefined || fault.path.length > best.path.length)) {
          best = fault;
        }
      }
      if (best !== undefined) {
        out.push(best);
        return;
      }
      const expected = firsts.flatMap((f) => (f.message === undefined ? [ARTICLE[f.expected]] : []));
      out.push({
        path,
        message: `expected ${expected.join(' or ') || 'a valid value'}, got ${describeValue(value)}`,
      });
    },
  };
}

const ARTICLE: Record<TypeName, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
};

/** Every fault of `root` against `shape`, as problems that say what was expected and what is there. */
export function checkShape(shape: Shape, root: unknown): PrdProblem[] {
  const faults: Fault[] = [];
  shape.check(root, [], faults);
  return faults.map((fault) => {
    if (fault.message !== undefined) return { path: formatPath(fault.path), message: fault.message };
    const value = valueAt(root, fault.path);
    return {
      path: formatPath(fault.path),
      message:
        value === undefined
          ? `missing (expected ${ARTICLE[fault.expected]})`
          : `expected ${ARTICLE[fault.expected]}, got ${describeValue(value)}`,
    };
  });
}
