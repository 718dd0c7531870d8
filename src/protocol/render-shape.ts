/** Renders a zod schema as compact, TypeScript-like text for the protocol docs (through its JSON Schema). */
import { z } from 'zod';

type Json = Record<string, unknown>;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function range(lo: unknown, hi: unknown, unit = ''): string {
  const min = typeof lo === 'number' && lo > -MAX_SAFE ? lo : undefined;
  const max = typeof hi === 'number' && hi < MAX_SAFE ? hi : undefined;
  if (min !== undefined && max !== undefined) return ` ${min}..${max}${unit}`;
  if (min !== undefined) return min === 0 && unit === '' ? ' ≥ 0' : ` ≥ ${min}${unit}`;
  if (max !== undefined) return ` ≤ ${max}${unit}`;
  return '';
}

function renderScalar(type: string, s: Json): string {
  switch (type) {
    case 'integer':
    case 'number':
      return type + range(s.minimum, s.maximum);
    case 'string': {
      if (s.format === 'date-time') return 'string (ISO 8601 time)';
      const len = range(s.minLength === 0 ? undefined : s.minLength, s.maxLength, ' chars');
      return len === '' ? 'string' : `string (${len.trim()})`;
    }
    default:
      return type;
  }
}

function isUnion(s: Json): boolean {
  return (
    (Array.isArray(s.enum) && s.enum.length > 1) ||
    Array.isArray(s.anyOf) ||
    Array.isArray(s.oneOf) ||
    (Array.isArray(s.type) && s.type.length > 1)
  );
}

/** One schema as inline text. */
export function renderInline(s: Json): string {
  let out: string;
  if (s.const !== undefined) out = JSON.stringify(s.const);
  else if (Array.isArray(s.enum)) out = s.enum.map((v) => JSON.stringify(v)).join(' | ');
  else if (Array.isArray(s.anyOf)) out = (s.anyOf as Json[]).map(renderInline).join(' | ');
  else if (Array.isArray(s.oneOf)) out = (s.oneOf as Json[]).map(renderInline).join(' | ');
  else if (Array.isArray(s.type)) out = (s.type as string[]).map((t) => renderScalar(t, s)).join(' | ');
  else if (s.type === 'object') out = renderObjectInline(s);
  else if (s.type === 'array') {
    const items = (s.items ?? {}) as Json;
    out = isUnion(items) ? `(${renderInline(items)})[]` : `${renderInline(items)}[]`;
  } else if (typeof s.type === 'string') out = renderScalar(s.type, s);
  else out = 'unknown';
  if (s.default !== undefined) out += ` = ${JSON.stringify(s.default)}`;
  return out;
}

function fields(s: Json): { name: string; optional: boolean; type: string }[] {
  const props = (s.properties ?? {}) as Record<string, Json>;
  const required = new Set((s.required ?? []) as string[]);
  return Object.entries(props).map(([name, prop]) => ({
    name,
    optional: !required.has(name),
    type: renderInline(prop),
  }));
}

function renderObjectInline(s: Json): string {
  const list = fields(s);
  if (list.length === 0) return '{}';
  return `{ ${list.map((f) => `${f.name}${f.optional ? '?' : ''}: ${f.type}`).join('; ')} }`;
}

/** Markdown for a top-level params or result schema: a bullet per field, or per alternative of a union. */
export function renderShape(schema: z.ZodType, io: 'input' | 'output'): string {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  if (Array.isArray(json.anyOf)) {
    return (json.anyOf as Json[]).map((alt) => `- one of: \`${renderInline(alt)}\``).join('\n');
  }
  if (json.type !== 'object') return `\`${renderInline(json)}\``;
  const list = fields(json);
  if (list.length === 0) return io === 'input' ? 'none: send `{}` or leave `params` out' : '`{}`';
  return list.map((f) => `- \`${f.name}${f.optional ? '?' : ''}\`: \`${f.type}\``).join('\n');
}
