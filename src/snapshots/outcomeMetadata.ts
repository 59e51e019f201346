import { schemaProblems } from '../contract/schemas';
import type { AuthorOutcome } from '../contract/formats';

/**
 * Outcome blobs carry their outcome in metadata too (base64url JSON), so a listing of the run's folder
 * shows every outcome without reading each blob: finalising a run and `GET /api/exports/{runId}` cost a
 * listing, not one read per author. Azure allows 8 KiB of metadata per blob; an outcome larger than this
 * budget carries a summary instead (marked partial) and its blob is read when the whole outcome is needed.
 */
const OUTCOME_METADATA = 'outcome';
export const PARTIAL_METADATA = 'outcomepartial';
const OUTCOME_METADATA_BUDGET = 6 * 1024;
const SUMMARY_TEXT_LIMIT = 500;

export function outcomeMetadata(outcome: AuthorOutcome): Record<string, string> {
  const whole = Buffer.from(JSON.stringify(outcome)).toString('base64url');
  if (whole.length <= OUTCOME_METADATA_BUDGET) return { [OUTCOME_METADATA]: whole };
  const summary: AuthorOutcome = {
    secretName: outcome.secretName,
    authorId: outcome.authorId,
    status: outcome.status,
    ...(outcome.reason !== undefined && { reason: clip(outcome.reason) }),
    ...(outcome.error && { error: { code: outcome.error.code, message: clip(outcome.error.message) } }),
    ...(outcome.tokenStatus && { tokenStatus: outcome.tokenStatus }),
    ...(outcome.counts && { counts: outcome.counts }),
    ...(outcome.snapshot && { snapshot: outcome.snapshot }),
    ...(outcome.completedAt && { completedAt: outcome.completedAt }),
  };
  return {
    [OUTCOME_METADATA]: Buffer.from(JSON.stringify(summary)).toString('base64url'),
    [PARTIAL_METADATA]: 'true',
  };
}

function clip(text: string): string {
  return text.length <= SUMMARY_TEXT_LIMIT ? text : `${text.slice(0, SUMMARY_TEXT_LIMIT)}…`;
}

/** The outcome a listing's metadata carries, if it is one and belongs to that blob's secret. */
export function outcomeFromMetadata(
  metadata: Record<string, string> | undefined,
  secretName: string,
): AuthorOutcome | undefined {
  const encoded = metadata?.[OUTCOME_METADATA];
  if (encoded === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown;
    // Metadata is anyone's to write who can write the blob: only a valid outcome of this secret counts.
    if (schemaProblems('outcome', value).length > 0) return undefined;
    const outcome = value as AuthorOutcome;
    return outcome.secretName === secretName ? outcome : undefined;
  } catch {
    return undefined;
  }
}
