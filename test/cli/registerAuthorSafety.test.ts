import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  generateCatalogData,
  startCatalogSimulator,
  type CatalogSimulator,
} from '../../dev/catalog-simulator';
import { startVaultEmulator, type VaultEmulator } from '../../dev/vault-emulator';
import { runCli } from '../support/cliHarness';

/**
 * Issue 27: register-author's traps. On a terminal `--token-stdin` waited silently, and the next commands
 * typed were read as the token: it now prompts, without echo. A second label for an author already
 * registered was accepted without a word, and the next run skipped it: it is refused, saying what to do.
 */
const JANE = '3A'.repeat(32);
const ROTATED = '4B'.repeat(32);
let vault: VaultEmulator;
let catalog: CatalogSimulator;
let env: Record<string, string>;
const root = join(__dirname, '..', '..');

beforeAll(async () => {
  vault = await startVaultEmulator();
  catalog = await startCatalogSimulator({
    data: generateCatalogData({ seed: 1, authors: [{ authorId: JANE, entities: 1 }] }),
  });
  env = { KEY_VAULT_URL: vault.url };
});
afterAll(async () => {
  await vault?.close();
  await catalog?.close();
});

test('a second label for a registered author is refused, naming the first; a new token for the same label is not', async () => {
  const first = await runCli(['register-author', '--label', 'jane', '--author-id', JANE], env);
  expect(first.code).toBe(0);
  const second = await runCli(
    ['register-author', '--label', 'jane-again', '--author-id', JANE.toLowerCase()],
    env,
  );
  expect(second.code).toBe(2);
  expect(second.stderr).toContain('gallery-author-jane');
  expect(second.stderr).toContain('--label jane');
  expect(second.stderr).toContain('Nothing was written');
  expect(vault.getSecret('gallery-author-jane-again')).toBeUndefined();
  // Renewing the token: the same label (Key Vault secret names ignore case) writes a new version.
  const token = catalog.issueToken(JANE);
  const renewed = await runCli(
    ['register-author', '--label', 'JANE', '--author-id', JANE, '--token-stdin'],
    env,
    {
      stdin: token,
    },
  );
  expect(renewed.code).toBe(0);
  expect(vault.getSecret('gallery-author-jane')).toHaveLength(2);
});

/** register-author in a pseudo-terminal (util-linux `script`), the token typed after the prompt. */
function onTerminal(args: string[], typed: string): Promise<{ code: number | null; output: string }> {
  const command = [
    process.execPath,
    join(root, 'test/support/tsChild.js'),
    join(root, 'test/support/processEntry.ts'),
    ...args,
  ]
    .map((part) => `'${part.replace(/'/g, "'\\''")}'`)
    .join(' ');
  const child = spawn('script', ['-qfec', `stty cols 120 rows 40; ${command}`, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let typedYet = false;
  const take = (chunk: Buffer): void => {
    chunks.push(chunk);
    // Type the token only once the prompt asks for it, as a person would.
    if (!typedYet && Buffer.concat(chunks).toString('utf8').includes('input hidden')) {
      typedYet = true;
      child.stdin.write(typed);
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(deadline);
      child.stdin.destroy();
      resolve({ code, output: Buffer.concat(chunks).toString('utf8') });
    }),
  );
}

test('on a terminal --token-stdin prompts for the token and does not echo it', async () => {
  const token = catalog.issueToken(ROTATED);
  const result = await onTerminal(
    ['register-author', '--label', 'typed', '--author-id', ROTATED, '--token-stdin'],
    `${token}\r`,
  );
  expect(result.output).toContain('input hidden');
  expect(result.output).not.toContain(token);
  expect(result.output).not.toContain(token.slice(0, 20));
  expect(result.code).toBe(0);
  expect(result.output).toContain('Registered author');
  expect(JSON.parse(vault.getSecret('gallery-author-typed')![0]!.value)).toEqual({
    authorId: ROTATED,
    accessToken: token,
  });
}, 60_000);
