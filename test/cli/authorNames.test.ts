import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_AUTHORS, DEMO_UNKNOWN_AUTHOR_ID } from '../../dev/catalog-simulator';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import type { RunRecord } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { uniqueName } from '../support/storage';

/**
 * Issue 27: a person can tell which row is which author and copy what the next command needs. `list`
 * shows each author's full ID and the label of its secret (when the vault can be read: list needs only
 * storage); every --author accepts the full ID, a unique prefix of it or a registered label, and prints
 * the ID it resolved to; `authors` lists the registrations.
 */
let stack: LocalStack;
let env: Record<string, string>;
let record: RunRecord;
const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;
const li = DEMO_AUTHORS.find((author) => author.label === 'li-wei')!;
const sofia = DEMO_AUTHORS.find((author) => author.label === 'sofia-ramirez')!;

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
  env = { ...stack.env, EXPORT_CONTAINER: uniqueName('names') };
  const run = await runCli(['run', '--json'], env);
  expect(run.code).toBe(1); // the demo's unknown and malformed authors fail on purpose
  record = JSON.parse(run.stdout) as RunRecord;
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe('list', () => {
  test("names every author by its full ID and its secret's label, and cuts nothing", async () => {
    const result = await runCli(['list'], { ...env, COLUMNS: '120' });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('…');
    for (const author of record.authors.filter((outcome) => outcome.status === 'complete')) {
      const label = author.secretName.replace(/^gallery-author-/, '');
      expect(result.stdout).toMatch(new RegExp(`^author ${label}\\b.*\\b${author.authorId}$`, 'm'));
    }
    // ada-lovelace's ID is also the disabled demo secret's: both labels are named.
    expect(result.stdout).toMatch(new RegExp(`^author ada-lovelace, disabled-author +${ada.authorId}$`, 'm'));
    expect(result.stdout).toContain(record.runId);
    for (const line of result.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
  });

  test('needs only storage: without KEY_VAULT_URL it lists the full IDs, without labels', async () => {
    const { KEY_VAULT_URL: _vault, SIGNING_KEY_NAME: _key, ...storageOnly } = env;
    const result = await runCli(['list'], storageOnly);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^author ${li.authorId}$`, 'm'));
    expect(result.stdout).not.toContain('li-wei');
  });

  test('a vault that cannot be read leaves the labels out, says so, and lists all the same', async () => {
    const result = await runCli(['list'], { ...env, KEY_VAULT_URL: 'http://127.0.0.1:9' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^author ${li.authorId}$`, 'm'));
    expect(result.stderr).toMatch(/labels are not shown/);
    expect(result.stderr).toContain('http://127.0.0.1:9');
  }, 60_000);
});

describe('--author takes a full ID, a unique prefix or a label, and prints the ID it stands for', () => {
  test('a label (of a registered secret)', async () => {
    const result = await runCli(['list', '--json', '--author', 'li-wei'], env);
    expect(result.code).toBe(0);
    const listed = JSON.parse(result.stdout) as Array<{ authorId: string }>;
    expect(listed.map((entry) => entry.authorId)).toEqual([li.authorId]);
    expect(result.stderr).toContain(`li-wei is author ${li.authorId}`);
  });

  test('a unique prefix, in either case', async () => {
    const prefix = sofia.authorId.slice(0, 8).toLowerCase();
    const result = await runCli(['verify', '--author', prefix], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`${prefix} is author ${sofia.authorId}`);
    expect(result.stdout).toContain(sofia.authorId);
  });

  test('get with a label writes the bundle of that author', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'names-')), 'bundle');
    const result = await runCli(['get', '--author', 'ada-lovelace', '--out', out], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(ada.authorId);
    expect(await readdir(out)).toContain('report.html');
  });

  test('a prefix shared by several authors is refused, naming them; a short one is not a prefix', async () => {
    const twins = ['ABCDEF01', 'ABCDEF02'].map((start) => start.padEnd(64, '7'));
    twins.forEach((authorId, index) =>
      stack.vault.setSecret(`gallery-author-twin-${index}`, JSON.stringify({ authorId, accessToken: null }), {
        contentType: 'application/json',
        tags: { authorId },
      }),
    );
    const result = await runCli(['list', '--author', 'abcdef'], env);
    expect(result.code).toBe(2);
    for (const authorId of twins) expect(result.stderr).toContain(authorId);
    const longer = await runCli(['list', '--json', '--author', 'ABCDEF02'], env);
    expect(longer.code).toBe(0);
    expect(longer.stderr).toContain(`ABCDEF02 is author ${twins[1]}`);
    const short = await runCli(['list', '--author', 'ABC'], env);
    expect(short.code).toBe(2);
  });

  test('an unknown label is a usage error that points to `authors`', async () => {
    const result = await runCli(['list', '--author', 'nobody-here'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nobody-here');
    expect(result.stderr).toContain('gallery-export authors');
  });

  test('a label without KEY_VAULT_URL says it needs the vault, or the ID', async () => {
    const { KEY_VAULT_URL: _vault, SIGNING_KEY_NAME: _key, ...storageOnly } = env;
    const result = await runCli(['list', '--author', 'li-wei'], storageOnly);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('KEY_VAULT_URL');
  });
});

describe('authors', () => {
  test('lists every registration: label, full author ID, token status and expiry, last complete snapshot', async () => {
    const result = await runCli(['authors', '--json'], env);
    expect(result.code).toBe(0);
    const authors = JSON.parse(result.stdout) as Array<{
      label: string;
      secretName: string;
      authorId: string | null;
      enabled: boolean;
      token: { status: string; expiresAt: string | null } | null;
      lastSnapshot: { runId: string; path: string } | null;
      problem: string | null;
    }>;
    const byLabel = new Map(authors.map((author) => [author.label, author]));
    expect(byLabel.get('ada-lovelace')).toMatchObject({
      secretName: 'gallery-author-ada-lovelace',
      authorId: ada.authorId,
      enabled: true,
      token: { status: 'valid' },
      lastSnapshot: { runId: record.runId },
      problem: null,
    });
    expect(byLabel.get('ada-lovelace')!.token!.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(byLabel.get('sofia-ramirez')!.token!.status).toBe('expired');
    expect(byLabel.get('aasa-odegaard')!.token!.status).toBe('absent');
    expect(byLabel.get('unknown-author')).toMatchObject({
      authorId: DEMO_UNKNOWN_AUTHOR_ID,
      lastSnapshot: null,
    });
    expect(byLabel.get('disabled-author')).toMatchObject({ enabled: false, authorId: ada.authorId });
    expect(byLabel.get('malformed-author')!.problem).toMatch(/not valid JSON/);
    expect(byLabel.get('malformed-author')!.authorId).toBeNull();
  });

  test('as text: every label and full ID, whole, within the terminal', async () => {
    const result = await runCli(['authors'], { ...env, COLUMNS: '120' });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('…');
    for (const line of result.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
    for (const author of DEMO_AUTHORS) {
      expect(result.stdout).toContain(author.label);
      expect(result.stdout).toContain(author.authorId);
    }
    expect(result.stdout).toContain(record.runId);
  });

  test('needs KEY_VAULT_URL, and says so', async () => {
    const { KEY_VAULT_URL: _vault, ...noVault } = env;
    const result = await runCli(['authors'], noVault);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('KEY_VAULT_URL');
  });
});
