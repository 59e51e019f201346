import { setMaxListeners } from 'node:events';
import { Command, CommanderError } from 'commander';
import { linkedSignal } from '../catalog/linkedSignal';
import { toGalleryExportError } from '../contract/errors';
import { startTelemetry } from '../telemetry/startTelemetry';
import { GENERATOR } from '../version';
import { CliContext, EXIT_FAILED, EXIT_USAGE, type CliIo } from './CliContext';
import type { AuditOptions } from './commands/audit';
import type { AuthorsOptions } from './commands/authors';
import { nextStepFor } from './errorHints';
import { COMMAND_EXITS, EXIT_CODES_HELP } from './exitCodes';
import type { ErasuresOptions } from './commands/erasures';
import type { GetOptions } from './commands/get';
import type { ListOptions } from './commands/list';
import type { PublicKeyOptions } from './commands/publicKey';
import type { PurgeOptions } from './commands/purge';
import type { RegisterAuthorOptions } from './commands/registerAuthor';
import type { ReportOptions } from './commands/report';
import type { VerifyOptions } from './commands/verify';
import type { RunOptions } from './commands/run';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** What every --author accepts (see AuthorDirectory). */
const AUTHOR_OPTION = 'its 64-hex ID, 6 or more of its first characters, or its label';

/** Wraps a command handler so that its resolved exit code becomes the program's. */
export type CliAction = <T>(handler: (options: T) => Promise<number>) => (options: unknown) => Promise<void>;

/**
 * More commands, registered by code outside src/: the embedded local stack's `local` and `demo` come from
 * dev/ this way (bin/gallery-export.js adds them when dev/ is built), so the product never loads dev/.
 */
export type CliExtension = (program: Command, context: { cli: CliContext; action: CliAction }) => void;

/** Builds the `gallery-export` program. Each action resolves to its exit code. */
export function buildProgram(
  cli: CliContext,
  setExitCode: (code: number) => void,
  extensions: readonly CliExtension[] = [],
): Command {
  const program = new Command('gallery-export')
    .description('Archive Azure AI Gallery author data as verifiable JSON snapshots in Azure Blob Storage.')
    .version(GENERATOR.version)
    .option('-v, --verbose', 'also print the machine-oriented log lines')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => cli.io.stdout.write(text),
      writeErr: (text) => cli.io.stderr.write(text),
      // "unknown option '--token=eyJ…'" would print whatever followed the '=': name the option only.
      outputError: (text, write) => write(text.replace(/'(--?[^\s'=]+)=[^']*'/g, "'$1'")),
    })
    .hook('preAction', (command) => {
      cli.verbose = Boolean(command.opts<{ verbose?: boolean }>().verbose);
    })
    .addHelpText('after', EXIT_CODES_HELP);

  // commander hands actions untyped options; each command's options type documents what it reads.
  // Commands are loaded when run, so `run` does not pay for the local stack's or verify's modules.
  const action: CliAction =
    <T>(handler: (options: T) => Promise<number>) =>
    async (options: unknown): Promise<void> => {
      setExitCode(await handler(options as T));
    };

  program
    .command('run')
    .description('export now, in this process; progress on stderr, a summary table at the end')
    .option('--author <id>', `only this author (${AUTHOR_OPTION}); repeat for several`, collect)
    .option('--json', 'print the run record as JSON instead of a table')
    .action(action<RunOptions>(async (options) => (await import('./commands/run')).runCommand(cli, options)));

  program
    .command('list')
    .description('complete snapshots, newest first')
    .option('--author <id>', `only this author (${AUTHOR_OPTION})`)
    .option('--since <date>', 'runs on or after this day (YYYY-MM-DD, UTC)')
    .option('--until <date>', 'runs on or before this day (YYYY-MM-DD, UTC)')
    .option('--json', 'print JSON instead of a table')
    .action(
      action<ListOptions>(async (options) => (await import('./commands/list')).listCommand(cli, options)),
    );

  program
    .command('verify')
    .description(
      "re-hash every file against its manifest, check signatures and each author's chain; name what is missing, changed, unexpected or unsigned",
    )
    .option('--author <id>', `only this author (${AUTHOR_OPTION})`)
    .option('--run <runId>', 'only this run, or "latest" (the newest run that completed a snapshot)')
    .option('--since <date>', 'runs on or after this day (YYYY-MM-DD, UTC)')
    .option('--until <date>', 'runs on or before this day (YYYY-MM-DD, UTC)')
    .option(
      '--public-key <file.pem>',
      'check signatures offline with the keys in this PEM file (repeat for several)',
      collect,
    )
    .option('--require-signatures', 'an unsigned snapshot or erasure record is damage')
    .option('--problems', 'print only what is wrong, with the next step, and a one-line total')
    .option('--json', 'print JSON instead of lines (full paths, and the next step of each problem)')
    .action(
      action<VerifyOptions>(async (options) =>
        (await import('./commands/verify')).verifyCommand(cli, options),
      ),
    );

  program
    .command('get')
    .description(
      'download one snapshot into a new folder (a subject-access bundle), only when it is proven: files, signature, chain link',
    )
    .option('--author <id>', `the author (${AUTHOR_OPTION})`)
    .option('--run <runId>', 'the run, or "latest"', 'latest')
    .option('--out <dir>', 'a new or empty folder')
    .option('--public-key <file.pem>', 'check the signature offline with this PEM file (repeatable)', collect)
    .option('--require-signatures', 'refuse a snapshot that is not signed')
    .action(action<GetOptions>(async (options) => (await import('./commands/get')).getCommand(cli, options)));

  program
    .command('report')
    .description(
      'write the subject-access report of one snapshot (self-contained HTML), only when the snapshot is proven',
    )
    .option('--author <id>', `the author (${AUTHOR_OPTION})`)
    .option('--run <runId>', 'the run, or "latest"', 'latest')
    .option('--out <file.html>', 'a new file; the further pages of a large author are written next to it')
    .option('--public-key <file.pem>', 'check the signature offline with this PEM file (repeatable)', collect)
    .option('--require-signatures', 'refuse a snapshot that is not signed')
    .action(
      action<ReportOptions>(async (options) =>
        (await import('./commands/report')).reportCommand(cli, options),
      ),
    );

  program
    .command('purge')
    .description(
      'erase every snapshot of an author, delete its Key Vault registration and write an erasure record (needs --yes)',
    )
    .option('--author <id>', `the author (${AUTHOR_OPTION})`)
    .option('--yes', 'confirm the erasure (without it: show what would be erased, erase nothing)')
    .option('--requested-by <who>', 'recorded in the erasure record (default: your user name)')
    .option(
      '--keep-registration',
      "keep the author's Key Vault secrets (the next run then exports the author again)",
    )
    .option('--json', 'print JSON')
    .action(
      action<PurgeOptions>(async (options) => (await import('./commands/purge')).purgeCommand(cli, options)),
    );

  program
    .command('erasures')
    .description(
      'the erasure records (when, who asked, what was erased, whether the signature verifies) and any unfinished erasure',
    )
    .option('--author <id>', `only this author (${AUTHOR_OPTION})`)
    .option('--public-key <file.pem>', 'check signatures offline with this PEM file (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(
      action<ErasuresOptions>(async (options) =>
        (await import('./commands/erasures')).erasuresCommand(cli, options),
      ),
    );

  program
    .command('audit')
    .description('the data-subject requests made over HTTP: who asked what, when, and what they got')
    .option('--since <date>', 'requests on or after this day (YYYY-MM-DD, UTC)')
    .option('--json', 'print JSON')
    .action(
      action<AuditOptions>(async (options) => (await import('./commands/audit')).auditCommand(cli, options)),
    );

  program
    .command('public-key')
    .description(
      'print the public part (PEM) of every enabled version of the signing key, newest first, each with its keyId',
    )
    .option('--out <file.pem>', 'write them to a new file instead (for verify --public-key)')
    .option('--key-version <version>', 'only that key version (the last part of a keyId)')
    .action(
      action<PublicKeyOptions>(async (options) =>
        (await import('./commands/publicKey')).publicKeyCommand(cli, options),
      ),
    );

  program
    .command('authors')
    .description(
      'the registered authors (Key Vault secrets): label, author ID, token status and expiry, last complete snapshot',
    )
    .option('--json', 'print JSON')
    .action(
      action<AuthorsOptions>(async (options) =>
        (await import('./commands/authors')).authorsCommand(cli, options),
      ),
    );

  program
    .command('register-author')
    .description("write an author's Key Vault secret (checks the token's author_id, sets expiresOn)")
    .option('--label <label>', 'the secret name suffix: letters, digits, dashes')
    .option('--author-id <id>', 'the author (64 hex)')
    .option('--token-stdin', 'read the DataLabAccessToken from standard input')
    .action(
      action<RegisterAuthorOptions>(async (options) =>
        (await import('./commands/registerAuthor')).registerAuthorCommand(cli, options),
      ),
    );

  for (const extend of extensions) extend(program, { cli, action });
  for (const command of program.commands) {
    const exits = COMMAND_EXITS[command.name()];
    if (exits) command.addHelpText('after', `\nExit: ${exits}\n`);
  }
  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(
  argv: readonly string[],
  io: CliIo,
  extensions: readonly CliExtension[] = [],
): Promise<number> {
  // Every command's work hangs off Ctrl-C: a listing reads 16 manifests at once, a run exports many
  // authors, each Azure SDK request listening to the signal. That fan-in is by design, so commands get a
  // signal of their own without Node's limit of 10 listeners (past it Node warns of a leak).
  const interrupt = linkedSignal(io.signal);
  setMaxListeners(0, interrupt.signal);
  const cli = new CliContext({ ...io, signal: interrupt.signal });
  let exitCode = 0;
  const program = buildProgram(
    cli,
    (code) => {
      exitCode = code;
    },
    extensions,
  );
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or another OTEL_* destination) is set; then flushed before exit.
  const telemetry = await startTelemetry(io.env, {
    serviceVersion: GENERATOR.version,
    azureMonitor: false,
    warn: (message) => cli.err(`warning: ${message}`),
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; real usage errors get the contract's 2.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const failure = toGalleryExportError(error);
    const next = nextStepFor(failure);
    cli.errLines(`error: ${failure.message}${next ? `\n${next}` : ''}`);
    // Nothing was started: a malformed option or setting, or an output that exists already.
    if (['USAGE', 'CONFIG', 'OUTPUT_NOT_EMPTY'].includes(failure.code)) return EXIT_USAGE;
    return EXIT_FAILED;
  } finally {
    interrupt.dispose();
    await telemetry?.shutdown();
  }
}

/** The process entry point (bin/gallery-export.js). */
export function runFromProcess(extensions: readonly CliExtension[] = []): void {
  const controller = new AbortController();
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\nStopping (press Ctrl-C again to quit at once)...\n');
    controller.abort(new Error('interrupted'));
  });
  process.on('SIGTERM', () => controller.abort(new Error('terminated')));
  // `gallery-export list | head`: once the reader is gone, output is dropped instead of crashing on EPIPE.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  void main(
    process.argv.slice(2),
    {
      env: process.env,
      stdout: process.stdout,
      stderr: process.stderr,
      signal: controller.signal,
      stdin: process.stdin,
    },
    extensions,
  ).then((code) => {
    process.exitCode = code;
  });
}
