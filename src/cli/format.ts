import Table from 'cli-table3';
import { shortAuthorId } from '../contract/authorId';
import type { AuthorOutcome, RunRecord } from '../contract/formats';

export function renderTable(head: string[], rows: string[][]): string {
  const table = new Table({
    head,
    style: { head: [], border: [] },
    wordWrap: true,
  });
  table.push(...rows);
  return table.toString();
}

export function describeOutcome(author: AuthorOutcome): string {
  switch (author.status) {
    case 'complete':
      return author.snapshot ?? '';
    case 'skipped':
      return author.reason ?? 'skipped';
    case 'failed':
      return author.error ? `${author.error.code}: ${author.error.message}` : 'failed';
    case 'pending':
      return 'not finished';
  }
}

export function renderRunSummary(record: RunRecord): string {
  const rows = record.authors.map((author) => [
    author.secretName,
    author.authorId ? shortAuthorId(author.authorId) : '-',
    author.status,
    author.counts ? `${author.counts.entities} (${author.counts.unlisted} unlisted)` : '-',
    author.tokenStatus ?? '-',
    describeOutcome(author),
  ]);
  const { complete, failed, skipped } = record.counts;
  return [
    renderTable(['secret', 'author', 'status', 'entities', 'token', 'snapshot / reason'], rows),
    `Run ${record.runId}: ${record.status} (${complete} complete, ${failed} failed, ${skipped} skipped)${record.error ? ` - ${record.error.code}: ${record.error.message}` : ''}`,
  ].join('\n');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
