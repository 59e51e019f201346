import { createStorageServices } from '../../services';
import { CliContext, EXIT_FAILED, EXIT_OK } from '../CliContext';
import { renderTable, terminalWidth } from '../format';
import { parseDateOption } from './options';

export interface AuditOptions {
  since?: string;
  json?: boolean;
}

/**
 * `gallery-export audit [--since <day>]`: every data-subject request made over HTTP (who, what, when, the
 * outcome), oldest first, from the append-only audit blobs; an entry that is not valid is named. Exit 1
 * when one is.
 */
export async function auditCommand(cli: CliContext, options: AuditOptions): Promise<number> {
  const since = parseDateOption('--since', options.since);
  const { requests } = createStorageServices(cli.config({ needsVault: false }));
  const entries = await requests.listAudit({ since, signal: cli.io.signal });
  const valid = entries.flatMap((entry) => ('entry' in entry ? [entry.entry] : []));
  const invalid = entries.flatMap((entry) => ('problem' in entry ? [entry] : []));
  if (options.json) {
    cli.out(JSON.stringify({ entries: valid, problems: invalid }, null, 2));
    return invalid.length > 0 ? EXIT_FAILED : EXIT_OK;
  }
  if (valid.length === 0) {
    cli.out(
      since ? `No data-subject request since ${options.since}.` : 'No data-subject request is recorded.',
    );
  } else {
    cli.out(
      renderTable(
        ['when', 'who', 'what', 'author', 'outcome'],
        valid.map((entry) => [
          entry.at.replace(/\.\d+Z$/, 'Z'),
          entry.principal.authenticated
            ? `${entry.principal.name ?? ''} (${entry.principal.objectId ?? ''})`
            : 'not authenticated',
          [entry.action, entry.runId, entry.erasureId, entry.reference].filter(Boolean).join(' '),
          entry.authorId ?? '-',
          `${entry.outcome.status}${entry.outcome.code ? ` ${entry.outcome.code}` : ''}`,
        ]),
        { width: terminalWidth(cli.io.stdout, cli.io.env) },
      ),
    );
  }
  for (const entry of invalid) cli.out(`PROBLEM ${entry.path}: ${entry.problem}`);
  cli.out(`${valid.length} request(s)${invalid.length ? `, ${invalid.length} entry(ies) not valid` : ''}.`);
  return invalid.length > 0 ? EXIT_FAILED : EXIT_OK;
}
