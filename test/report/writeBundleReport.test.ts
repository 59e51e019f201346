import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeDocument, type SignatureDocument } from '../../src/contract/formats';
import { writeBundleReport } from '../../src/report/writeBundleReport';
import { sampleEntity, writeBundle } from './reportFixtures';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bundle-report-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const signature: SignatureDocument = {
  schemaVersion: 1,
  alg: 'RS256',
  keyId: 'https://vault.example/keys/manifest-signing/0123456789abcdef',
  signed: 'manifest.json',
  sha256: 'd'.repeat(64),
  signature: 'c2lnbmF0dXJl',
};

async function bundleFolder(name: string, extra: Record<string, string | Buffer> = {}) {
  const folder = join(root, name);
  await mkdir(folder);
  const bundle = await writeBundle(folder, [sampleEntity(1), sampleEntity(2)]);
  await writeFile(join(folder, 'manifest.json'), serializeDocument(bundle.manifest));
  await writeFile(
    join(folder, 'SHA256SUMS'),
    bundle.manifest.files.map((file) => `${file.sha256}  ${file.name}\n`).join(''),
  );
  for (const [file, content] of Object.entries(extra)) await writeFile(join(folder, file), content);
  return bundle;
}

test('in a get --out folder: report.html beside the files, with their commands and the signature', async () => {
  const bundle = await bundleFolder('signed', { 'signature.json': serializeDocument(signature) });
  const report = await writeBundleReport(bundle.folder, bundle.manifest);
  expect(report.files).toEqual([join(bundle.folder, 'report.html')]);
  const html = await readFile(report.files[0]!, 'utf8');
  expect(html).toContain('sha256sum -c SHA256SUMS');
  expect(html).toContain(signature.keyId);
  expect(html).toContain('openssl dgst -sha256 -verify key.pem');
  expect(html).toContain('in a terminal opened in the folder that holds this page');
  expect(html).toContain('entities.json, in the same folder as this page');
  expect((await readdir(bundle.folder)).sort()).toEqual([
    'SHA256SUMS',
    'entities.json',
    'manifest.json',
    'profile.json',
    'report.html',
    'signature.json',
  ]);
});

test('a signature.json that is not the documented document is left out rather than shown', async () => {
  const bundle = await bundleFolder('bad-signature', { 'signature.json': '{"alg":"none"}' });
  const html = await readFile((await writeBundleReport(bundle.folder, bundle.manifest)).files[0]!, 'utf8');
  expect(html).toContain('not signed');
  expect(html).not.toContain('openssl');
});

test('written elsewhere, the report stands alone and says where the complete list is', async () => {
  const bundle = await bundleFolder('elsewhere');
  const outFile = join(root, 'operator-copy.html');
  await writeBundleReport(bundle.folder, bundle.manifest, {
    outFile,
    completeListLocation: 'snapshots/…/entities.json in the archive',
  });
  const html = await readFile(outFile, 'utf8');
  expect(html).toContain('snapshots/…/entities.json in the archive');
  expect(html).not.toContain('sha256sum -c SHA256SUMS');
  expect(html).toContain('the folder of the downloaded export');
});
