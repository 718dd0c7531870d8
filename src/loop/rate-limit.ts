/**
 * Rate and usage limits: recognising an agent's "limit reached" message, and the note every runner on the
 * machine shares so that loops using the same agent account wait together.
 *
 * A `RateLimitSignal` is what any detector hands the runner: the text patterns here (run on the end of an
 * iteration's ANSI-stripped output), or a structured stream parser that reads a rate-limit event, through
 * `LoopRunner.reportRateLimit`. `resetAt` is absent when the agent gave no time; the runner then backs off.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RateLimitSignal {
  /** When the limit resets, if the agent said. */
  resetAt?: Date | undefined;
  /** The agent's own words (one line), for the loop's log and notifications. */
  message: string;
}

/** Messages that always mean a limit, whatever the exit code (agents' own wording of a usage cap). */
const STRONG = [
  /usage limit reached/i, // Claude Code: "Claude AI usage limit reached|<epoch>"
  /\b\d+-hour limit reached\b/i, // Claude Code: "5-hour limit reached ∙ resets 4am"
  /\bhit your (usage )?limit\b/i, // Codex: "You've hit your usage limit"; Claude: "You've hit your limit · resets 3pm"
  /\bweekly limit reached\b/i,
  /"type"\s*:\s*"rate_limit_error"/, // Anthropic API error body
  /\bRESOURCE_EXHAUSTED\b/, // Gemini API status
];

/** Messages that mean a limit only when the agent also failed: a working agent may print them about code. */
const WEAK = [
  /\brate[ -]?limit(ed|s)?\b.*\b(reached|exceeded|hit)\b/i,
  /\b429\b.*\b(too many requests|rate limit)/i,
  /\btoo many requests\b/i,
  /\bquota exceeded\b/i,
  /\bexceeded your current quota\b/i,
];

/**
 * Looks for a limit message in `lines` (the last lines of an iteration, oldest first). `failed` says whether the
 * agent exited with an error; without it only the unmistakable usage-cap messages count.
 */
export function detectRateLimit(
  lines: readonly string[],
  failed: boolean,
  now = new Date(),
): RateLimitSignal | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const hit = STRONG.some((re) => re.test(line)) || (failed && WEAK.some((re) => re.test(line)));
    if (!hit) continue;
    const resetAt = parseResetTime(line, now);
    return { message: line.slice(0, 300), ...(resetAt ? { resetAt } : {}) };
  }
  return null;
}

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/** The reset time a message names, in any of the forms agents use; undefined when it names none. */
export function parseResetTime(text: string, now = new Date()): Date | undefined {
  // "usage limit reached|1760000000": epoch seconds after a bar.
  const epoch = /\|\s*(\d{10})(\d{3})?\b/.exec(text);
  if (epoch) return new Date(Number(epoch[1]) * 1000 + Number(epoch[2] ?? 0));
  // "try again in 4 days 3 hours", "retry after 30s", "Please retry in 12.5s".
  const rel =
    /\b(?:in|after)\s+((?:\d+(?:\.\d+)?\s*(?:seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)\b[\s,]*(?:and\s+)?)+)/i.exec(
      text,
    );
  if (rel) {
    let ms = 0;
    for (const part of (rel[1] ?? '').matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi)) {
      const word = (part[2] ?? '').toLowerCase();
      const unit = word.length > 1 ? word.replace(/s$/, '') : word;
      ms += Number(part[1]) * (UNIT_MS[unit] ?? 0);
    }
    if (ms > 0) return new Date(now.getTime() + Math.ceil(ms));
  }
  // "try again at Sep 29th, 2026 12:55 AM": a full date.
  const dated =
    /\bagain at ([A-Z][a-z]{2,8} \d{1,2})(?:st|nd|rd|th)?,? (\d{4}),? (\d{1,2}:\d{2}\s*[AP]M)/i.exec(text);
  if (dated) {
    const at = Date.parse(`${dated[1]} ${dated[2]} ${dated[3]}`);
    if (Number.isFinite(at)) return new Date(at);
  }
  // "resets 4am", "resets 4:10pm", "try again at 3:51 PM", "at 16:05": the next such time of day, in local
  // time unless the message says (UTC).
  const clock = /\b(?:resets?(?: at)?|again at|at)\s+(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?/i.exec(text);
  if (clock && (clock[2] !== undefined || clock[3] !== undefined)) {
    let hours = Number(clock[1]);
    const minutes = Number(clock[2] ?? 0);
    const half = clock[3]?.toLowerCase().replace(/\./g, '');
    if (half === 'pm' && hours < 12) hours += 12;
    if (half === 'am' && hours === 12) hours = 0;
    if (hours > 23 || minutes > 59) return undefined;
    const at = new Date(now);
    if (/\(UTC\)/i.test(text)) at.setUTCHours(hours, minutes, 0, 0);
    else at.setHours(hours, minutes, 0, 0);
    if (at.getTime() <= now.getTime()) at.setTime(at.getTime() + 86_400_000);
    return at;
  }
  return undefined;
}

/** The wait when the agent names no reset time: 1 min, doubling with each limit in a row, at most 30 min. */
export function backoffMs(consecutive: number, baseMs = 60_000, capMs = 30 * 60_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, consecutive - 1));
}

/** The shared note: `<data>/rate-limits/<agent>.json` holding `{resetAt, message, task, writtenAt}`. */
export interface RateLimitNote {
  resetAt: string;
  message: string;
  task: string;
  writtenAt: string;
}

export class RateLimitNotes {
  constructor(private readonly dir: string) {}

  file(agent: string): string {
    return join(this.dir, `${agent.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }

  /** The note for `agent` when its reset time is still ahead; null when there is none, it passed, or it is unreadable. */
  active(agent: string, now = new Date()): RateLimitNote | null {
    let note: RateLimitNote;
    try {
      note = JSON.parse(readFileSync(this.file(agent), 'utf8')) as RateLimitNote;
    } catch {
      return null;
    }
    const at = Date.parse(note.resetAt);
    return Number.isFinite(at) && at > now.getTime() ? note : null;
  }

  /**
   * Records that `agent` is limited until `resetAt`, unless a note already holds a later time. Written to a
   * temporary file and renamed, so a runner reading at the same moment sees the old note or the new, never half.
   */
  record(agent: string, note: RateLimitNote): RateLimitNote {
    const current = this.active(agent);
    if (current && Date.parse(current.resetAt) >= Date.parse(note.resetAt)) return current;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(agent);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(note, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
    return note;
  }
}
