import { get } from 'node:http';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { SIGN_IN_PATH } from '../../dev/catalog-simulator/CatalogSimulator';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import type { Manifest } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { uniqueName } from '../support/storage';

/**
 * The local stack's stand-in for signing in to the gallery (GET /_simulator/sign-in): a person registers
 * or renews a token by hand, as docs/day-two.md shows.
 */
const li = DEMO_AUTHORS.find((author) => author.label === 'li-wei')!;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ signing: false });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** GET on a connection of its own, closed after the answer (what `curl` does). */
function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    }).on('error', reject);
  });
}

test('a token from the sign-in stand-in registers an author whose next export includes unlisted entities', async () => {
  const env = { ...stack.env, EXPORT_CONTAINER: uniqueName('sign-in') };
  expect((await fetchText(`${stack.catalog.url}${SIGN_IN_PATH}?author=nobody`)).status).toBe(400);
  const answer = await fetchText(`${stack.catalog.url}${SIGN_IN_PATH}?author=${li.authorId}&expires-in=3600`);
  expect(answer.status).toBe(200);
  const token = answer.body;
  const registered = await runCli(
    ['register-author', '--label', 'li-wei', '--author-id', li.authorId, '--token-stdin'],
    env,
    { stdin: token },
  );
  expect(registered.code).toBe(0);
  expect(registered.stdout + registered.stderr).not.toContain(token);
  expect((await runCli(['run', '--author', 'li-wei'], env)).code).toBe(0);
  const listed = JSON.parse(
    (await runCli(['list', '--json', '--author', li.authorId], env)).stdout,
  ) as Array<{
    token: Manifest['token'];
    includesUnlisted: boolean;
  }>;
  expect(listed[0]).toMatchObject({ token: { status: 'valid' }, includesUnlisted: true });
}, 60_000);
