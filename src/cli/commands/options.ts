import { normalizeAuthorId } from '../../contract/authorId';
import { isRunId } from '../../contract/layout';
import { usageError } from '../CliContext';

/** Validates repeated `--author` values before anything starts (a malformed one is a usage error). */
export function parseAuthorOptions(values: readonly string[] | undefined): string[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((value) => parseAuthorOption(value));
}

export function parseAuthorOption(value: string | undefined): string {
  const authorId = normalizeAuthorId(value);
  if (!authorId)
    throw usageError(
      `--author "${String(value).slice(0, 80)}" is not an author ID (64 hexadecimal characters)`,
    );
  return authorId;
}

export function parseRunOption(value: string | undefined): string | undefined {
  if (value === undefined || value === 'latest') return undefined;
  if (!isRunId(value))
    throw usageError(
      `--run "${String(value).slice(0, 80)}" is not a run ID such as 20261128T020000Z-3fa9c1 (or "latest")`,
    );
  return value;
}

export function parseDateOption(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw usageError(`${name} "${value.slice(0, 40)}" is not a date such as 2026-11-28`);
  }
  return new Date(`${value}T00:00:00Z`);
}
