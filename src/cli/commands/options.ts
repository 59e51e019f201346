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
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw usageError(`${name} "${value.slice(0, 40)}" is not a date such as 2026-11-28`);
  }
  return new Date(`${value}T00:00:00Z`);
}
