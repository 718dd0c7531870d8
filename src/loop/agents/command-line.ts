/** Helpers for building argv: a quote-aware splitter for command templates and safe prompt arguments. */
import { RalphError, ExitCode } from '../../errors.js';

/**
 * Splits a command line into words without a shell: whitespace separates words; '...' keeps everything
 * literally; "..." keeps spaces and honours \" \\ \$ \`; a backslash outside quotes escapes the next character.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string))
        word += line[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote !== null) {
    throw new RalphError('INVALID_AGENT_COMMAND', `unterminated ${quote} quote in agent command: ${line}`, {
      exitCode: ExitCode.usage,
    });
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN). Prompts are far smaller in practice; a prompt
 * past this limit is replaced by an instruction to read the prompt file.
 */
export const MAX_PROMPT_ARG_BYTES = 100_000;

export function promptArgument(prompt: string, promptFile: string): string {
  if (Buffer.byteLength(prompt) <= MAX_PROMPT_ARG_BYTES) return prompt;
  return `Read the file ${promptFile} and follow the instructions in it exactly.`;
}

/**
 * A positional argument that starts with '-' would be read as an option by parsers without `--` support;
 * a leading newline keeps it a positional without changing what the prompt says.
 */
export function positional(text: string): string {
  return text.startsWith('-') ? `\n${text}` : text;
}
