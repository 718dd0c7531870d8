/** Usage and transcript shapes on the wire (snake_case), for iteration records and `get_transcript`. */
import { z } from 'zod';

export const usageSchema = z.object({
  /** Every input token, cached or not. */
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
  /** Of the input tokens, how many were read from the agent's prompt cache. */
  cached_input_tokens: z.number().int().min(0),
  /** Of the input tokens, how many were written to the prompt cache. */
  cache_write_tokens: z.number().int().min(0),
  /** As the agent reported it; null when the agent reports no cost (Codex). */
  cost_usd: z.number().min(0).nullable(),
  model: z.string().nullable(),
});
export type WireUsage = z.infer<typeof usageSchema>;

export const transcriptEntry = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('system'), text: z.string() }),
  z.object({ kind: z.literal('message'), role: z.enum(['assistant', 'user']), text: z.string() }),
  z.object({ kind: z.literal('reasoning'), text: z.string() }),
  z.object({ kind: z.literal('tool_call'), id: z.string().nullable(), name: z.string(), input: z.string() }),
  z.object({
    kind: z.literal('tool_result'),
    id: z.string().nullable(),
    output: z.string(),
    is_error: z.boolean(),
  }),
  z.object({
    kind: z.literal('result'),
    text: z.string(),
    is_error: z.boolean(),
    usage: usageSchema.nullable(),
  }),
  z.object({
    kind: z.literal('rate_limit'),
    status: z.string(),
    resets_at: z.string().nullable(),
    limit_type: z.string().nullable(),
  }),
  z.object({ kind: z.literal('error'), text: z.string() }),
]);
export type WireTranscriptEntry = z.infer<typeof transcriptEntry>;
