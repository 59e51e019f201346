import type { Config } from '../../config';
import { isRunId } from '../../contract/layout';
import { AuthorDirectory, checkAuthorOption } from '../authorDirectory';
import { usageError, type CliContext } from '../CliContext';

export { checkAuthorOption };

/**
 * The whole author ID an `--author` value names: the ID itself, a unique prefix of it, or a registered
 * label (see AuthorDirectory), printed back in full on stderr when it was not whole already.
 */
export function resolveAuthorOption(
  cli: CliContext,
  config: Config,
  value: string | undefined,
): Promise<string> {
  return new AuthorDirectory(cli, config).resolve(value);
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
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : undefined;
  // Date() rolls 2026-02-30 over to March 2: a day that does not exist is refused instead.
  if (!day || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== value) {
    throw usageError(
      `${name} "${value.slice(0, 40)}" is not a date such as 2026-11-28 (a day that exists, UTC)`,
    );
  }
  return day;
}
