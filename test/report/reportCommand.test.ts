import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { DEMO_HOSTILE_ENTITY_NAMES, DEMO_HOSTILE_NAMES_AUTHOR } from '../../dev/catalog-simulator/demoData';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { CliContext } from '../../src/cli/CliContext';
import { reportCommand, type ReportOptions } from '../../src/cli/commands/report';
import type { RunRecord } from '../../src/contract/formats';
import { escapeHtml, visibleText } from '../../src/report/htmlText';
import { runCli } from '../support/cliHarness';
import { containerFor, uniqueName } from '../support/storage';

/**
 * `gallery-export report` against the local stack: a real export of the demo authors (catalog simulator,
 * vault emulator, Azurite), then the report of one snapshot, downloaded and checked the way `get` does.
 */
let stack: LocalStack;
let env: Record<string, string>;
let record: RunRecord;
let out: string;
const zoe = DEMO_AUTHORS.find((author) => author.label === DEMO_HOSTILE_NAMES_AUTHOR)!;
const sofia = DEMO_AUTHORS.find((author) => author.label === 'sofia-ramirez')!;

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
  env = { ...stack.env, EXPORT_CONTAINER: uniqueName('report') };
  const run = await runCli(['run', '--json'], env);
  record = JSON.parse(run.stdout) as RunRecord;
  out = await mkdtemp(join(tmpdir(), 'report-command-'));
});

afterAll(async () => {
  await stack?.stop();
  if (out) await rm(out, { recursive: true, force: true });
});

async function report(options: ReportOptions): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const cli = new CliContext({
    env,
    stdout,
    stderr: new PassThrough(),
    signal: new AbortController().signal,
  });
  const code = await reportCommand(cli, options);
  return { code, stdout: Buffer.concat(chunks).toString('utf8') };
}

async function leftoverWorkFolders(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('gallery-export-report-'));
}

test('writes only the report of the latest snapshot, checked, and leaves no temporary files', async () => {
  const before = await leftoverWorkFolders();
  const file = join(out, 'reports', 'zoe.html');
  const result = await report({ author: zoe.authorId.toLowerCase(), out: file });
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(
    `Report of snapshot ${record.runId} of author ${zoe.authorId}: ${zoe.entities} entities on 1 page(s):`,
  );
  expect(result.stdout).toContain(`  ${file}\n`);
  expect(await readdir(join(out, 'reports'))).toEqual(['zoe.html']);
  expect(await leftoverWorkFolders()).toEqual(before);

  const html = await readFile(file, 'utf8');
  for (const name of DEMO_HOSTILE_ENTITY_NAMES)
    expect(html).toContain(`<bdi>${escapeHtml(visibleText(name))}</bdi>`);
  expect(html).not.toContain('<script>');
  expect(html).toMatch(new RegExp(`<th scope="row">Entities in this export</th><td>${zoe.entities}</td>`));
  expect(html).toMatch(new RegExp(`<th scope="row">Unlisted \\(hidden\\)</th><td>${zoe.unlisted}</td>`));
  expect(html).toContain('<strong>Access token: valid.</strong>');
  const snapshot = `snapshots/${zoe.authorId}/${record.runId.slice(0, 4)}/${record.runId.slice(4, 6)}/${record.runId.slice(6, 8)}/${record.runId}/`;
  expect(html).toContain(`${snapshot}entities.json in the archive`);
  expect(html).toContain(
    `gallery-export get --author ${zoe.authorId} --run ${record.runId} --out &lt;folder&gt;`,
  );
  // The report stands alone: it does not offer a SHA256SUMS file that is not there.
  expect(html).not.toContain('sha256sum -c SHA256SUMS');
  expect(html).toContain('sha256sum profile.json entities.json');
});

test('--run picks the snapshot; an expired token is explained', async () => {
  const file = join(out, 'sofia.html');
  expect((await report({ author: sofia.authorId, run: record.runId, out: file })).code).toBe(0);
  const html = await readFile(file, 'utf8');
  expect(html).toContain('<strong>Access token: expired.</strong>');
  expect(html).toContain('Unlisted entities: <strong>not included</strong>');
  expect(html).toContain('Sofía Ramírez 🚀');
});

test('an existing file, an unknown snapshot and malformed options fail before anything is written', async () => {
  const file = join(out, 'exists.html');
  await writeFile(file, 'mine');
  await expect(report({ author: zoe.authorId, out: file })).rejects.toMatchObject({
    code: 'OUTPUT_NOT_EMPTY',
  });
  expect(await readFile(file, 'utf8')).toBe('mine');
  await expect(
    report({ author: zoe.authorId, run: '20200101T000000Z-000000', out: join(out, 'x.html') }),
  ).rejects.toMatchObject({
    code: 'SNAPSHOT_NOT_FOUND',
  });
  await expect(report({ author: 'not-an-id', out: join(out, 'x.html') })).rejects.toMatchObject({
    code: 'USAGE',
  });
  await expect(
    report({ author: zoe.authorId, run: 'yesterday', out: join(out, 'x.html') }),
  ).rejects.toMatchObject({ code: 'USAGE' });
  await expect(report({ author: zoe.authorId })).rejects.toMatchObject({ code: 'USAGE' });
  await expect(report({ out: join(out, 'x.html') })).rejects.toMatchObject({ code: 'USAGE' });
  expect((await readdir(out)).includes('x.html')).toBe(false);
});

test('a stored file that no longer matches its manifest gives no report at all', async () => {
  const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;
  const container = containerFor(env.EXPORT_STORAGE!, env.EXPORT_CONTAINER!);
  const path = `snapshots/${ada.authorId}/${record.runId.slice(0, 4)}/${record.runId.slice(4, 6)}/${record.runId.slice(6, 8)}/${record.runId}/entities.json`;
  const original = await container.getBlockBlobClient(path).downloadToBuffer();
  const damaged = Buffer.from(original.toString('utf8').replace('"name":"', '"name":"X'));
  await container.getBlockBlobClient(path).uploadData(damaged);
  const before = await leftoverWorkFolders();
  const file = join(out, 'ada.html');
  await expect(report({ author: ada.authorId, out: file })).rejects.toMatchObject({
    code: 'SNAPSHOT_DAMAGED',
  });
  expect((await readdir(out)).includes('ada.html')).toBe(false);
  expect(await leftoverWorkFolders()).toEqual(before);
});
