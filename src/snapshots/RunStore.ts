import type { AuthorOutcome, RunRecord } from './formats';

/** Run records and per-author outcomes. */
export interface RunStore {
  /** Writes a new run record; fails if one exists for that run ID. */
  create(record: RunRecord, signal?: AbortSignal): Promise<void>;
  /** The stored run record (not merged with outcomes), or undefined. */
  read(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined>;
  /**
   * Read-modify-write with `If-Match`, retried on conflict: `change` gets the latest record and returns
   * the new one, or undefined to leave it as it is.
   */
  update(
    runId: string,
    change: (record: RunRecord) => RunRecord | undefined,
    signal?: AbortSignal,
  ): Promise<RunRecord>;
  /** Records one author's outcome in its own small blob; the first outcome for an author wins. */
  writeOutcome(runId: string, outcome: AuthorOutcome, signal?: AbortSignal): Promise<AuthorOutcome>;
  readOutcome(runId: string, secretName: string, signal?: AbortSignal): Promise<AuthorOutcome | undefined>;
  listOutcomes(runId: string, signal?: AbortSignal): Promise<AuthorOutcome[]>;
  /** Records a transient failure of one delivery (one blob per attempt), for the poison handler. */
  writeLastError(runId: string, outcome: AuthorOutcome, signal?: AbortSignal): Promise<void>;
  readLastError(runId: string, secretName: string, signal?: AbortSignal): Promise<AuthorOutcome | undefined>;
  /** Run IDs, newest first. */
  listRunIds(options?: { since?: Date; signal?: AbortSignal }): Promise<string[]>;
}
