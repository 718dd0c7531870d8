/** Per-iteration boundaries and outcomes, kept beside the output log so they outlive the runner. */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { writeError } from './disk-full.js';
import type { IterationRecord } from './types.js';

export class IterationLog {
  private readonly records: IterationRecord[];

  constructor(private readonly file: string) {
    this.records = IterationLog.read(file);
  }

  static read(file: string): IterationRecord[] {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as IterationRecord[];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  all(): IterationRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  last(): IterationRecord | undefined {
    return this.records.at(-1);
  }

  begin(record: IterationRecord): void {
    this.records.push(record);
    this.save();
  }

  /** Patches the open (last) record, e.g. with its agent once started. */
  update(patch: Partial<IterationRecord>): IterationRecord {
    return this.finish(patch);
  }

  /** Patches the last record with how it ended. */
  finish(patch: Partial<IterationRecord>): IterationRecord {
    const current = this.records.at(-1);
    if (!current) throw new Error('no iteration has begun');
    Object.assign(current, patch);
    this.save();
    return { ...current };
  }

  /** Writes the records as they are in memory once more (after a failed save); false when that fails too. */
  flush(): boolean {
    try {
      this.save();
      return true;
    } catch {
      return false;
    }
  }

  /** Replaces the file whole (write aside, then rename): a failed write leaves the previous version intact. */
  private save(): void {
    const tmp = `${this.file}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.records, null, 2), { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw writeError(err, this.file);
    }
  }
}
