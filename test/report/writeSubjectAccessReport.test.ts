import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SignatureDocument } from '../../src/contract/formats';
import { reportPageFiles } from '../../src/report/entityTable';
import { REPORT_CONTENT_SECURITY_POLICY } from '../../src/report/reportPage';
import { writeSubjectAccessReport } from '../../src/report/writeSubjectAccessReport';
import { AUTHOR_ID, RUN_ID, sampleEntity, writeBundle } from './reportFixtures';

let root: string;
let folders = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'report-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function newFolder(): Promise<string> {
  const folder = join(root, `bundle-${folders++}`);
  await mkdir(folder);
  return folder;
}

const BUNDLE_FILES = ['profile.json', 'entities.json', 'manifest.json', 'SHA256SUMS', 'README.txt'];

test('every page is a complete, self-contained document: doctype, lang, charset, CSP, no script', async () => {
  const folder = await newFolder();
  const bundle = await writeBundle(folder, [sampleEntity(1), sampleEntity(2), sampleEntity(3)]);
  const outFile = join(folder, 'report.html');
  const result = await writeSubjectAccessReport({
    ...bundle,
    outFile,
    bundleFiles: BUNDLE_FILES,
    entitiesPerPage: 2,
  });
  expect(result).toEqual({ files: [outFile, join(folder, 'report-0002.html')], pages: 2, entities: 3 });
  for (const file of result.files) {
    const html = await readFile(file, 'utf8');
    expect(html.startsWith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')).toBe(true);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="${REPORT_CONTENT_SECURITY_POLICY}">`,
    );
    expect(html).toContain('<meta name="referrer" content="no-referrer">');
    expect(html).toContain('@media print');
    expect(html).not.toMatch(
      /<script|<img|<link|<iframe|<object|<form|url\(|@import|src=|https?:\/\/[^<\s]*"/i,
    );
    expect(html).toMatch(/<caption>Entities \d to \d of 3, ordered by id<\/caption>/);
    expect(html).toContain('<th scope="col">Type</th>');
    expect(html).toContain('<th scope="row">');
  }
  expect(REPORT_CONTENT_SECURITY_POLICY).toMatch(
    /^default-src 'none'; script-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*';/,
  );
  expect(REPORT_CONTENT_SECURITY_POLICY).toContain("form-action 'none'; base-uri 'none'");
});

test('the first page answers who, when, what, what is missing and how the files are proven', async () => {
  const folder = await newFolder();
  const bundle = await writeBundle(folder, [sampleEntity(1), sampleEntity(2), sampleEntity(5)]);
  const outFile = join(folder, 'report.html');
  await writeSubjectAccessReport({
    ...bundle,
    outFile,
    bundleFiles: BUNDLE_FILES,
    generatedAt: new Date('2026-12-04T08:00:00Z'),
  });
  const html = await readFile(outFile, 'utf8');
  expect(html).toContain('<bdi>Zoë Müller-Łukasiewicz</bdi>');
  expect(html).toContain(AUTHOR_ID);
  expect(html).toContain(RUN_ID);
  expect(html).toContain('an export started by an operator from the command line');
  expect(html).toContain('2026-12-03 17:04:37 UTC');
  expect(html).toContain('2026-12-04 08:00:00 UTC');
  expect(html).toMatch(/<th scope="row">Entities in this export<\/th><td>3<\/td>/);
  expect(html).toMatch(/<th scope="row">Unlisted \(hidden\)<\/th><td>1<\/td>/);
  expect(html).toMatch(/<th scope="row"><bdi>notebook<\/bdi><\/th><td class="num">2<\/td>/);
  expect(html).toContain('<strong>Access token: valid.</strong>');
  expect(html).toContain('entities.json, in the same folder as this page');
  for (const file of bundle.manifest.files) expect(html).toContain(file.sha256);
  expect(html).toContain('sha256sum -c SHA256SUMS');
  expect(html).toContain(`gallery-export verify --author ${AUTHOR_ID} --run ${RUN_ID}`);
  expect(html).toContain('not signed');
  expect(html).not.toContain('openssl');
  expect(html).toContain('Entity number 5');
  expect(html).toContain('<span class="unlisted">unlisted</span>');
  expect(html).toContain(
    'https://catalog.azureml.net/tenants/t/communities/c/entities/00000000000000000000000000000001',
  );
  expect(html).not.toContain('<a href="https://');
});

test('a signed export shows the key, what it signs and the openssl command', async () => {
  const folder = await newFolder();
  const bundle = await writeBundle(folder, [sampleEntity(1)], {
    manifest: { previous: { runId: '20261202T020000Z-aaaaaa', manifestSha256: 'b'.repeat(64) } },
  });
  const signature: SignatureDocument = {
    schemaVersion: 1,
    alg: 'RS256',
    keyId: 'https://vault.example/keys/manifest-signing/0123456789abcdef',
    signed: 'manifest.json',
    sha256: 'a'.repeat(64),
    signature: 'c2lnbmF0dXJl',
  };
  const outFile = join(folder, 'report.html');
  await writeSubjectAccessReport({
    ...bundle,
    outFile,
    signature,
    bundleFiles: [...BUNDLE_FILES, 'signature.json'],
  });
  const html = await readFile(outFile, 'utf8');
  expect(html).toContain(signature.keyId);
  expect(html).toContain('a'.repeat(64));
  expect(html).toContain('gallery-export public-key --out key.pem');
  expect(html).toContain('openssl dgst -sha256 -verify key.pem -signature signature.bin manifest.json');
  expect(html).toContain('20261202T020000Z-aaaaaa');
  expect(html).toContain('b'.repeat(64));
});

test('an expired token, warnings and counts that disagree are all said in words', async () => {
  const folder = await newFolder();
  const bundle = await writeBundle(folder, [sampleEntity(1), sampleEntity(2)], {
    manifest: {
      token: { status: 'expired', expiresAt: '2026-12-03T09:00:00Z' },
      includesUnlisted: false,
      warnings: ['The access token expired at 2026-12-03T09:00:00Z: unlisted entities are missing <b>'],
    },
  });
  bundle.manifest.counts = { entities: 5, unlisted: 0, reportedByCatalog: 4 };
  const outFile = join(folder, 'report.html');
  await writeSubjectAccessReport({ ...bundle, outFile });
  const html = await readFile(outFile, 'utf8');
  expect(html).toContain('<strong>Access token: expired.</strong>');
  expect(html).toContain('(it expired at 2026-12-03T09:00:00Z)');
  expect(html).toContain('Unlisted entities: <strong>not included</strong>');
  expect(html).toContain('unlisted entities are missing &lt;b&gt;');
  expect(html).toContain('entities.json holds 2 entities but the manifest records 5');
  expect(html).toContain('The catalog reported 4 entities and 5 were exported.');
  // The report alone (no bundle next to it): commands that work on the downloaded files.
  expect(html).toContain('sha256sum profile.json entities.json');
  expect(html).toContain('gallery-export get');
});

test('entities left out as created during the export of an unordered list explain the count they leave behind', async () => {
  const folder = await newFolder();
  const warning =
    '2 entities were created in the catalog while this export was reading it, and are not included.';
  const bundle = await writeBundle(folder, [sampleEntity(1), sampleEntity(2), sampleEntity(3)], {
    manifest: {
      warnings: [warning],
      listing: { ordered: false, passes: 3, createdDuringExport: { count: 2, ids: ['n1', 'n2'] } },
    },
  });
  bundle.manifest.counts = { ...bundle.manifest.counts, reportedByCatalog: 5 };
  const outFile = join(folder, 'report.html');
  await writeSubjectAccessReport({ ...bundle, outFile });
  const html = await readFile(outFile, 'utf8');
  expect(html).toContain(
    'The catalog reported 5 entities and 3 were exported: the other 2 were created in the catalog during the export.',
  );
  expect(html).toContain(warning);
});

test('hostile names are escaped and made visible, never markup', async () => {
  const names = [
    '<script>alert(1)</script>',
    '"Quotes" & \'apostrophes\' </td></tr></table>',
    'Bell\u0007 \u001b[31mred',
    'Invoice \u202etxt.exe',
  ];
  const folder = await newFolder();
  const bundle = await writeBundle(
    folder,
    names.map((name, index) => sampleEntity(index, { name })),
    { profileName: '<img src=x onerror=alert(1)>' },
  );
  const outFile = join(folder, 'report.html');
  await writeSubjectAccessReport({ ...bundle, outFile });
  const html = await readFile(outFile, 'utf8');
  expect(html).toContain('<bdi>&lt;script&gt;alert(1)&lt;/script&gt;</bdi>');
  expect(html).toContain(
    '<bdi>&quot;Quotes&quot; &amp; &#39;apostrophes&#39; &lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</bdi>',
  );
  expect(html).toContain('<bdi>Bell⟨U+0007⟩ ⟨U+001B⟩[31mred</bdi>');
  expect(html).toContain('<bdi>Invoice \u27e8U+202E\u27e9txt.exe</bdi>');
  expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  expect(html).not.toMatch(/(?!\n)[\p{Cc}\u202e]/u);
  expect(html).not.toContain('<script');
  expect(html).not.toContain('<img');
});

test('pages: one file per page, linked previous and next, each saying where it is', async () => {
  const folder = await newFolder();
  const entities = Array.from({ length: 7 }, (_, index) => sampleEntity(index));
  const bundle = await writeBundle(folder, entities);
  const outFile = join(folder, 'my report.html');
  const result = await writeSubjectAccessReport({ ...bundle, outFile, entitiesPerPage: 3 });
  expect(result.pages).toBe(3);
  expect(result.files).toEqual(reportPageFiles(outFile, 3));
  expect(result.files.map((file) => file.slice(folder.length + 1))).toEqual([
    'my report.html',
    'my report-0002.html',
    'my report-0003.html',
  ]);
  const [first, second, third] = await Promise.all(result.files.map((file) => readFile(file, 'utf8')));
  expect(first).toContain('<a href="my%20report-0002.html" rel="next">');
  expect(first).toContain('<strong>Page 1 of 3</strong>');
  expect(second).toContain('<a href="my%20report.html" rel="prev">');
  expect(second).toContain('<a href="my%20report-0003.html" rel="next">');
  expect(second).toContain('<caption>Entities 4 to 6 of 7, ordered by id</caption>');
  expect(second).toContain('<a href="my%20report-0002.html" aria-current="page">4–6</a>');
  expect(third).toContain('<span>Next page ›</span>');
  expect(third).toContain('<caption>Entities 7 to 7 of 7, ordered by id</caption>');
  expect(second).toContain('<h1>Your data in the Azure AI Gallery: entities, page 2 of 3</h1>');
  // Each entity is on exactly one page, in order.
  const positions = [first!, second!, third!].map((html) =>
    [...html.matchAll(/<tr><td class="num">(\d+)<\/td>/g)].map((m) => Number(m[1])),
  );
  expect(positions).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
});

test('an author without entities gets one page that says so', async () => {
  const folder = await newFolder();
  const bundle = await writeBundle(folder, []);
  const outFile = join(folder, 'report.html');
  expect(await writeSubjectAccessReport({ ...bundle, outFile })).toEqual({
    files: [outFile],
    pages: 1,
    entities: 0,
  });
  const html = await readFile(outFile, 'utf8');
  expect(html).toContain('This export holds no entities.');
  expect(html).not.toContain('<table class="entities">');
});

test('nothing is overwritten, and a failure leaves no page behind', async () => {
  const folder = await newFolder();
  const bundle = await writeBundle(folder, [sampleEntity(1), sampleEntity(2), sampleEntity(3)]);
  const outFile = join(folder, 'report.html');
  await writeFile(outFile, 'mine');
  await expect(writeSubjectAccessReport({ ...bundle, outFile })).rejects.toMatchObject({
    code: 'OUTPUT_NOT_EMPTY',
  });
  expect(await readFile(outFile, 'utf8')).toBe('mine');

  // A later page exists already: the pages written so far and the claimed first page are removed.
  await rm(outFile);
  await writeFile(join(folder, 'report-0003.html'), 'mine too');
  await expect(writeSubjectAccessReport({ ...bundle, outFile, entitiesPerPage: 1 })).rejects.toMatchObject({
    code: 'OUTPUT_NOT_EMPTY',
  });
  expect((await readdir(folder)).sort()).toEqual(['entities.json', 'profile.json', 'report-0003.html']);

  // A damaged entities.json fails the same way.
  await rm(join(folder, 'report-0003.html'));
  await writeFile(bundle.entitiesFile, '[{"id": 1}, {"id": ');
  await expect(writeSubjectAccessReport({ ...bundle, outFile })).rejects.toMatchObject({
    code: 'SNAPSHOT_DAMAGED',
  });
  expect((await readdir(folder)).sort()).toEqual(['entities.json', 'profile.json']);
  await expect(writeSubjectAccessReport({ ...bundle, outFile, entitiesPerPage: 0 })).rejects.toMatchObject({
    code: 'USAGE',
  });
});

test('a profile that is not JSON is reported, and the rest of the report still written', async () => {
  const folder = await newFolder();
  const bundle = await writeBundle(folder, [sampleEntity(1)]);
  const outFile = join(folder, 'report.html');
  await writeSubjectAccessReport({ ...bundle, profile: Buffer.from('<html>oops'), outFile });
  const html = await readFile(outFile, 'utf8');
  expect(html).toContain('profile.json is not valid JSON');
  expect(html).toContain('Entity number 1');
});
