import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countJsonArray, readJsonArray } from '../../src/report/readJsonArray';

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'read-json-array-'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

let files = 0;
async function fileWith(content: string | Buffer): Promise<string> {
  const path = join(folder, `array-${files++}.json`);
  await writeFile(path, content);
  return path;
}

async function readAll(path: string, chunkBytes?: number): Promise<unknown[]> {
  const elements: unknown[] = [];
  for await (const element of readJsonArray(path, { chunkBytes })) elements.push(element);
  return elements;
}

const TRICKY = [
  { id: 'a', name: 'commas, brackets ] } [ { and "quotes"', n: 86.351575190956922 },
  { id: 'b', name: 'a backslash at the end \\', nested: { list: [1, [2, [3]]], empty: {} } },
  { id: 'c', name: 'escapes \\" \\\\ \u0007 \u2028 🚀 تحليل', hidden: true },
  { id: 'd', name: '', items: [{ entity: { id: 'x', name: ']' } }] },
];

test('the project layout: one entity per line, as EntitySpool writes it', async () => {
  const path = await fileWith(`[\n${TRICKY.map((entity) => JSON.stringify(entity)).join(',\n')}\n]\n`);
  expect(await readAll(path)).toEqual(TRICKY);
  expect(await countJsonArray(path)).toBe(4);
});

test('any other layout: pretty-printed, on one line, with a BOM, entities spanning lines', async () => {
  for (const text of [
    JSON.stringify(TRICKY, null, 2),
    JSON.stringify(TRICKY),
    `\ufeff  ${JSON.stringify(TRICKY, null, '\t')}  \n`,
    `[${TRICKY.map((entity) => `\r\n  ${JSON.stringify(entity, null, 1)}  `).join(' ,')}]`,
  ]) {
    const path = await fileWith(text);
    expect(await readAll(path)).toEqual(TRICKY);
    expect(await countJsonArray(path)).toBe(4);
  }
});

test('elements split across reads at every byte: strings, escapes and multi-byte characters survive', async () => {
  const path = await fileWith(`[\n${TRICKY.map((entity) => JSON.stringify(entity)).join(',\n')}\n]\n`);
  for (const chunkBytes of [1, 2, 3, 7, 64]) expect(await readAll(path, chunkBytes)).toEqual(TRICKY);
  expect(await countJsonArray(path, { chunkBytes: 1 })).toBe(4);
});

test('empty arrays and arrays of other values', async () => {
  expect(await readAll(await fileWith('[]\n'))).toEqual([]);
  expect(await readAll(await fileWith('[ \n ]'))).toEqual([]);
  expect(await countJsonArray(await fileWith('[]'))).toBe(0);
  expect(await readAll(await fileWith('[1, "two", null, true, [3], {"x": "]"}]'))).toEqual([
    1,
    'two',
    null,
    true,
    [3],
    { x: ']' },
  ]);
});

test('what is not a JSON array fails with SNAPSHOT_DAMAGED and names the file', async () => {
  const cases = [
    ['{"value": []}', /does not start with "\["/],
    ['', /ends before its closing/],
    ['[{"id": 1},', /ends before its closing/],
    ['[{"id": 1}] trailing', /unexpected byte/],
    ['[{"id": 1},]', /unexpected byte/],
    ['[{"id": 1}}]', /unexpected "}"/],
    ['[{"id": tru}]', /not valid JSON/],
    ['[{"id": "unterminated}]', /ends before its closing/],
  ] as const;
  for (const [text, reason] of cases) {
    const path = await fileWith(text);
    const failure = readAll(path);
    await expect(failure).rejects.toMatchObject({ code: 'SNAPSHOT_DAMAGED' });
    await expect(readAll(path)).rejects.toThrow(reason);
    await expect(readAll(path)).rejects.toThrow(path);
  }
});

test('a file far larger than the heap is read in bounded memory', async () => {
  // 60 MB of entities, read in a child whose whole heap is 40 MB: parsing the file at once would need
  // several times the file's size.
  const path = join(folder, 'large.json');
  const handle = await open(path, 'w');
  const entity = (index: number): string =>
    JSON.stringify({ id: String(index).padStart(32, '0'), name: `entity ${index} ${'x'.repeat(950)}` });
  const count = 60_000;
  await handle.write('[\n');
  for (let index = 0; index < count; index += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - index) }, (_, offset) =>
      entity(index + offset),
    );
    await handle.write(`${index > 0 ? ',\n' : ''}${batch.join(',\n')}`);
  }
  await handle.write('\n]\n');
  await handle.close();
  const result = await runChild(['--max-old-space-size=40', TS_CHILD, CHILD, path]);
  expect(result.stderr).toBe('');
  const { elements, peakHeap } = JSON.parse(result.stdout) as { elements: number; peakHeap: number };
  expect(elements).toBe(count);
  expect(peakHeap).toBeLessThan(40 * 1024 * 1024);
});

const TS_CHILD = join(__dirname, '..', 'support', 'tsChild.js');
const CHILD = join(__dirname, 'readJsonArrayChild.ts');

function runChild(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
