import { schemaProblems } from '../../src/contract/schemas';

const AUTHOR = 'CB9AEFCBEB947FD5D25D29A477B9CBC572AAD7BEF3236FF55724282F7C8CE8BE';
const RUN = '20261128T020000Z-3fa9c1';
const prefix = `snapshots/${AUTHOR}/2026/11/28/${RUN}/`;
const manifest = {
  schemaVersion: 1,
  runId: RUN,
  authorId: AUTHOR,
  trigger: 'timer',
  startedAt: '2026-11-28T02:00:00.123Z',
  completedAt: '2026-11-28T02:00:04.456Z',
  source: { baseUrl: 'https://catalog.cortanaanalytics.com' },
  token: { status: 'valid', expiresAt: '2026-11-28T09:00:00Z' },
  includesUnlisted: true,
  counts: { entities: 42, unlisted: 3, reportedByCatalog: 42 },
  warnings: [],
  files: [
    {
      name: 'profile.json',
      path: `${prefix}profile.json`,
      bytes: 812,
      sha256: 'a'.repeat(64),
      contentType: 'application/json',
    },
    {
      name: 'entities.json',
      path: `${prefix}entities.json`,
      bytes: 91234,
      sha256: 'b'.repeat(64),
      contentType: 'application/json',
    },
  ],
  generator: { name: 'gallery-export', version: '0.1.0' },
};

test('the contract example manifest is valid', () => {
  expect(schemaProblems('manifest', manifest)).toEqual([]);
});

test.each([
  [
    'a token field slipped in',
    { ...manifest, token: { ...manifest.token, value: 'eyJ...' } },
    /must NOT have additional properties/,
  ],
  [
    'an unknown token status',
    { ...manifest, token: { status: 'fine' } },
    /token\/status must be equal to one of the allowed values/,
  ],
  [
    'a lower-case author ID',
    { ...manifest, authorId: AUTHOR.toLowerCase() },
    /\/authorId must match pattern/,
  ],
  [
    'a short hash',
    { ...manifest, files: [{ ...manifest.files[0], sha256: 'abc' }, manifest.files[1]] },
    /\/files\/0\/sha256/,
  ],
  ['a missing file', { ...manifest, files: [manifest.files[0]] }, /\/files must NOT have fewer than 2 items/],
  [
    'a date that is not a date',
    { ...manifest, completedAt: 'yesterday' },
    /\/completedAt must match format "date-time"/,
  ],
])('a manifest with %s is refused', (_, document, problem) => {
  expect(schemaProblems('manifest', document).join('\n')).toMatch(problem);
});

test('an outcome must say why: complete needs its snapshot, failed its error, skipped its reason', () => {
  const base = { secretName: 'gallery-author-jane', authorId: AUTHOR };
  expect(schemaProblems('outcome', { ...base, status: 'complete' }).join('\n')).toMatch(
    /must have required property 'snapshot'/,
  );
  expect(schemaProblems('outcome', { ...base, status: 'failed' }).join('\n')).toMatch(
    /must have required property 'error'/,
  );
  expect(schemaProblems('outcome', { ...base, status: 'skipped' }).join('\n')).toMatch(
    /must have required property 'reason'/,
  );
  expect(schemaProblems('outcome', { ...base, status: 'skipped', reason: 'the secret is disabled' })).toEqual(
    [],
  );
});

test('an erasure record may not carry the author ID in the clear', () => {
  const record = {
    schemaVersion: 1,
    erasureId: RUN,
    authorIdSha256: 'c'.repeat(64),
    requestedAt: '2026-11-30T10:15:00.010Z',
    completedAt: '2026-11-30T10:15:01.220Z',
    requestedBy: 'DSR-1234',
    deleted: { snapshots: 1, blobs: 3, bytes: 10, runIds: [RUN] },
    generator: { name: 'gallery-export', version: '0.1.0' },
  };
  expect(schemaProblems('erasure', record)).toEqual([]);
  expect(schemaProblems('erasure', { ...record, authorId: AUTHOR })).not.toEqual([]);
});
