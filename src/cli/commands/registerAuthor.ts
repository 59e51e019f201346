import { KeyVaultAuthorRegistry } from '../../authors/KeyVaultAuthorRegistry';
import { registerAuthor } from '../../authors/registerAuthor';
import { CliContext, EXIT_OK, usageError } from '../CliContext';

export interface RegisterAuthorOptions {
  label?: string;
  authorId?: string;
  tokenStdin?: boolean;
}

/** Most bytes read from stdin for a token: a JWT is a few KB; anything far larger is a mistake. */
const MAX_TOKEN_BYTES = 64 * 1024;

/**
 * `gallery-export register-author`: writes the contract's secret. The token is read from stdin only, never
 * from the command line (where other users could see it in the process list).
 */
export async function registerAuthorCommand(
  cli: CliContext,
  options: RegisterAuthorOptions,
): Promise<number> {
  if (options.label === undefined) throw usageError('--label is required');
  if (options.authorId === undefined) throw usageError('--author-id is required');
  const token = options.tokenStdin ? await readToken(cli) : null;
  const config = cli.config({ needsStorage: false });
  const registry = new KeyVaultAuthorRegistry({
    vaultUrl: config.keyVaultUrl,
    secretPrefix: config.authorSecretPrefix,
  });
  const registered = await registerAuthor(registry, {
    label: options.label,
    authorId: options.authorId,
    token,
    now: new Date(),
    signal: cli.io.signal,
  });
  cli.out(
    `Registered author ${registered.authorId} as secret ${registered.secretName}${registered.expiresOn ? ` (token expires ${registered.expiresOn.toISOString()})` : ''}.`,
  );
  for (const note of registered.notes) cli.err(`note: ${note}`);
  return EXIT_OK;
}

async function readToken(cli: CliContext): Promise<string> {
  const input = cli.io.stdin;
  if (!input) throw usageError('--token-stdin needs the token on standard input');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    size += buffer.length;
    if (size > MAX_TOKEN_BYTES)
      throw usageError(`The token on standard input is larger than ${MAX_TOKEN_BYTES} bytes`);
    chunks.push(buffer);
  }
  const token = Buffer.concat(chunks).toString('utf8').trim();
  if (token === '') throw usageError('--token-stdin was given but standard input was empty');
  return token;
}
