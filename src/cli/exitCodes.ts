/**
 * The one exit-code contract of every command, as `--help` prints it and README's command table states
 * it (test/cli/helpAndReadme.test.ts holds them to each other).
 */
export const EXIT_CODES_HELP = `
Exit codes (every command):
  0    success
  1    the work failed or found a problem (each command's --help says which), or storage, the vault or
       the catalog could not be reached
  2    usage or configuration error: a malformed option or setting, an unknown author or label, an --out
       that exists already; nothing was started
  130  a second Ctrl-C (the first one stops the work cleanly, and a run then exits 1)
`;

/** What each command's exit codes mean: `Exit: ...` in its --help, the "exit" column of README's table. */
export const COMMAND_EXITS: Readonly<Record<string, string>> = {
  run: '0 all complete; 1 any author failed, or the run could not be done; 2 usage or configuration error',
  list: '0 listed (also when nothing matches); 1 storage could not be read; 2 usage or configuration error',
  verify: '0 all match; 1 any damage, or storage could not be read; 2 usage or configuration error',
  'public-key':
    '0 printed or written; 1 the vault could not be read; 2 usage or configuration error (no SIGNING_KEY_NAME, --out exists)',
  report:
    '0 written; 1 the snapshot is not proven, or storage could not be read; 2 usage or configuration error (--out exists)',
  get: '0 written; 1 the snapshot is not proven, or storage could not be read; 2 usage or configuration error (--out not empty)',
  purge:
    '0 erased (or nothing left to erase); 1 without --yes (nothing erased), or a check or step failed; 2 usage or configuration error',
  erasures:
    '0 listed; 1 an erasure is unfinished or a record cannot be trusted, or storage could not be read; 2 usage or configuration error',
  audit: '0 listed; 1 an entry is not valid, or storage could not be read; 2 usage or configuration error',
  authors: '0 listed; 1 the vault or storage could not be read; 2 usage or configuration error',
  'register-author':
    '0 registered; 1 the vault could not be written; 2 usage or configuration error (a token of another author, a label already used for another author, an author registered under another label)',
  local:
    '0 stopped with Ctrl-C; 1 the stack could not start (a port in use); 2 usage error, or its data folder is in use by a running stack',
};
