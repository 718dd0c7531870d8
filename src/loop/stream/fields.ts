/** Small readers for untrusted JSON: a field of the wrong type reads as absent. */
export type Json = Record<string, unknown>;

export function obj(v: unknown): Json | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A tool's input or output as one string: strings as they are, anything else as JSON. */
export function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  const parts = arr(v);
  if (parts.length > 0 && parts.every((p) => obj(p)?.type === 'text')) {
    return parts.map((p) => str(obj(p)?.text) ?? '').join('\n');
  }
  return JSON.stringify(v);
}
