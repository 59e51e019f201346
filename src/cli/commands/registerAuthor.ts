import { KeyVaultAuthorRegistry } from '../../authors/KeyVaultAuthorRegistry';
import { registerAuthor } from '../../authors/registerAuthor';
import { CliContext, EXIT_OK, usageError } from '../CliContext';
import { readHiddenLine, type TerminalInput } from '../hiddenInput';

export interface RegisterAuthorOptions {
  label?: string;
  authorId?: string;
  tokenStdin?: boolean;
}

/** Most bytes read from stdin for a token: a JWT is a few KB; anything far larger is a mistake. */
const MAX_TOKEN_BYTES = 64 * 1024;

/**
 * `gallery-export register-author`: writes the contract's secret. The token is read from stdin only, never
 * from the command line (where other users could see it in the process list): from a pipe as it comes,
 * on a terminal after a prompt, without echo. An author already registered under another label is
 * refused: a run exports each author once, so the second label would be skipped without a word.
 */
export async function registerAuthorCommand(
  cli: CliContext,
  options: RegisterAuthorOptions,
): Promise<number> {
  if (options.label === undefined) throw usageError('--label is required');
  if (options.authorId === undefined) throw usageError('--author-id is required');
  const config = cli.config({ needsStorage: false });
  const token = options.tokenStdin ? await readToken(cli, options.label) : null;
  const registry = new OneLabelPerAuthorRegistry({
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
  for (const note of registered.notes) cli.errLines(`note: ${note}`);
  return EXIT_OK;
}

/**
 * The registry, refusing (after registerAuthor has checked the label, the ID and the token, before it
 * writes) an author whose ID another label's secret is tagged with. The same label is a new version of
 * the same secret (a renewed token); Key Vault's secret names ignore case, and so does this comparison.
 */
class OneLabelPerAuthorRegistry extends KeyVaultAuthorRegistry {
  override async writeAuthor(
    label: string,
    authorId: string,
    accessToken: string | null,
    expiresOn: Date | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const others = (await this.listAuthorSecrets(signal)).filter(
      (ref) => ref.taggedAuthorId === authorId && ref.label.toLowerCase() !== label.toLowerCase(),
    );
    const [first] = others;
    if (first) {
      throw usageError(
        `Author ${authorId} is already registered as ${others.map((ref) => `${ref.secretName}${ref.enabled ? '' : ' (disabled)'}`).join(', ')}; a run exports each author once, so a second label would be skipped. To renew its token, register it again with --label ${first.label}; to rename it, delete that secret first (az keyvault secret delete --vault-name <vault> --name ${first.secretName}), then register the new label. Nothing was written.`,
      );
    }
    return super.writeAuthor(label, authorId, accessToken, expiresOn, signal);
  }
}

async function readToken(cli: CliContext, label: string): Promise<string> {
  const input = cli.io.stdin as (NodeJS.ReadableStream & Partial<TerminalInput>) | undefined;
  if (!input) throw usageError('--token-stdin needs the token on standard input');
  if (input.isTTY && typeof input.setRawMode === 'function') {
    // A person at a terminal: say what is awaited, and show nothing of what is typed or pasted.
    const typed = await readHiddenLine(input as TerminalInput, {
      maxBytes: MAX_TOKEN_BYTES,
      signal: cli.io.signal,
      prompt: () =>
        cli.io.stderr.write(`Paste the DataLabAccessToken of ${label} (input hidden), then press Enter: `),
    }).finally(() => cli.io.stderr.write('\n'));
    if (typed === undefined) throw usageError('register-author was cancelled; nothing was written');
    if (typed.trim() === '') throw usageError('No token was typed; nothing was written');
    return typed.trim();
  }
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
