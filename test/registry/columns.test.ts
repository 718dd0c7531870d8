/** Records from rows read as arrays (src/registry/columns.ts): every field from its column, in FIELDS' order. */
import { describe, expect, it } from 'vitest';
import { FIELDS, SELECT_COLUMNS, valuesToRecord } from '../../src/registry/columns.js';

describe('valuesToRecord', () => {
  it('takes each field from the column SELECT_COLUMNS lists at its place, keeping FIELDS order', () => {
    const values = FIELDS.map((_, i) => `value ${i}`);
    const record = valuesToRecord(values) as unknown as Record<string, unknown>;
    // The order is what `status --json` prints.
    expect(Object.keys(record)).toEqual(FIELDS);
    FIELDS.forEach((field, i) => expect(record[field], field).toBe(`value ${i}`));
    expect(SELECT_COLUMNS.split(', ')).toHaveLength(FIELDS.length);
  });

  it('gives null for a column with no value', () => {
    const record = valuesToRecord([]) as unknown as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(FIELDS);
    expect(Object.values(record).every((v) => v === null)).toBe(true);
  });
});
