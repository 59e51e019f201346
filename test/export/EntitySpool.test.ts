import { mkdtemp, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { EntitySpool } from '../../src/export/EntitySpool';

async function collect(spool: EntitySpool): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of spool.sortedJson()) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const entity = (id: string, extra = ''): { id: string; raw: Buffer; hidden: boolean } => ({
  id,
  raw: Buffer.from(`{"id":"${id}","text":"é ✓ 李 ${extra}"}`),
  hidden: false,
});

test('writes one JSON array sorted by id (code-unit order), entities as received', async () => {
  const spool = new EntitySpool();
  await spool.add([entity('b'), entity('B'), entity('a')]);
  await spool.add([entity('aa')]);
  const text = await collect(spool);
  expect(text).toBe(
    '[\n{"id":"B","text":"é ✓ 李 "},\n{"id":"a","text":"é ✓ 李 "},\n{"id":"aa","text":"é ✓ 李 "},\n{"id":"b","text":"é ✓ 李 "}\n]\n',
  );
  expect(JSON.parse(text)).toHaveLength(4);
  await spool.dispose();
});

test('an empty spool is an empty array', async () => {
  expect(await collect(new EntitySpool())).toBe('[]\n');
});

test('past the memory limit it moves to a temporary file, and cleans it up', async () => {
  const directory = tmpdir();
  const spool = new EntitySpool({ memoryLimitBytes: 1000, directory, chunkBytes: 512 });
  const ids = Array.from({ length: 300 }, (_, index) => `id${String((index * 7919) % 300).padStart(3, '0')}`);
  for (let start = 0; start < ids.length; start += 50) {
    await spool.add(ids.slice(start, start + 50).map((id) => entity(id, 'x'.repeat(20))));
  }
  expect(spool.spilled).toBe(true);
  const parsed = JSON.parse(await collect(spool)) as Array<{ id: string }>;
  expect(parsed.map((item) => item.id)).toEqual([...ids].sort());
  const before = (await readdir(directory)).filter((name) => name.startsWith('gallery-export-spool-'));
  await spool.dispose();
  const after = (await readdir(directory)).filter((name) => name.startsWith('gallery-export-spool-'));
  expect(after.length).toBe(before.length - 1);
});

test('reset forgets a discarded pass, in memory and on disk', async () => {
  const spool = new EntitySpool({ memoryLimitBytes: 10 });
  await spool.add([entity('x'), entity('y')]);
  await spool.reset();
  await spool.add([entity('z')]);
  expect(JSON.parse(await collect(spool))).toEqual([{ id: 'z', text: 'é ✓ 李 ' }]);
  expect(spool.count).toBe(1);
  await spool.dispose();
});

test('entities larger than a chunk still come out whole, in order, from memory and from disk', async () => {
  for (const memoryLimitBytes of [1 << 20, 10]) {
    const spool = new EntitySpool({ chunkBytes: 16, memoryLimitBytes });
    await spool.add([entity('c', 'x'.repeat(50)), entity('a', 'y'.repeat(5)), entity('b')]);
    const text = await collect(spool);
    expect((JSON.parse(text) as Array<{ id: string }>).map((item) => item.id)).toEqual(['a', 'b', 'c']);
    expect(text.startsWith('[\n{"id":"a"')).toBe(true);
    expect(text.endsWith('"}\n]\n')).toBe(true);
    await spool.dispose();
  }
});

test('a failure between creating the spool folder and opening its file leaks nothing', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'spool-leak-'));
  try {
    const spool = new EntitySpool({
      directory,
      memoryLimitBytes: 10,
      openSpoolFile: () => Promise.reject(new Error('EMFILE: too many open files')),
    });
    await expect(
      spool.add([
        { id: 'a', raw: Buffer.from('{"id":"a","name":"far more than ten bytes"}'), hidden: false },
      ]),
    ).rejects.toThrow(/EMFILE/);
    await spool.dispose();
    expect(await readdir(directory)).toEqual([]);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('entities in order, out of order and partly in order come out the same from memory and from disk', async () => {
  // A seeded shuffle of runs: some entities arrive in id order (read back with one request per run),
  // some not, with chunk boundaries falling inside runs and entities of very different sizes.
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const ids = Array.from({ length: 700 }, (_, index) => `e${String(index).padStart(4, '0')}`);
  const arrival: string[] = [];
  for (let start = 0; start < ids.length;) {
    const run = ids.slice(start, start + 1 + Math.floor(random() * 40));
    arrival.splice(Math.floor(random() * (arrival.length + 1)), 0, ...run);
    start += run.length;
  }
  const expected = `[\n${ids.map((id) => entity(id, 'y'.repeat(Number(id.slice(1)) % 97)).raw.toString()).join(',\n')}\n]\n`;
  for (const options of [
    { chunkBytes: 333 },
    { chunkBytes: 333, memoryLimitBytes: 0 },
    { chunkBytes: 4096, memoryLimitBytes: 5000 },
  ]) {
    for (const order of [ids, arrival]) {
      let reads = 0;
      const spool = new EntitySpool({
        ...options,
        openSpoolFile: async (path: string): Promise<FileHandle> => {
          const handle = await open(path, 'w+', 0o600);
          const read = handle.read.bind(handle) as (...args: unknown[]) => ReturnType<FileHandle['read']>;
          handle.read = (...args: unknown[]) => {
            reads++;
            return read(...args);
          };
          return handle;
        },
      });
      for (let start = 0; start < order.length; start += 23) {
        await spool.add(
          order.slice(start, start + 23).map((id) => entity(id, 'y'.repeat(Number(id.slice(1)) % 97))),
        );
      }
      const chunks: Buffer[] = [];
      for await (const chunk of spool.sortedJson()) chunks.push(chunk);
      expect(Buffer.concat(chunks).toString('utf8')).toBe(expected);
      if (order === ids && spool.spilled) {
        // In order on disk: one read per output chunk, not one per entity.
        expect(reads).toBeLessThanOrEqual(chunks.length);
        expect(reads).toBeLessThan(ids.length / 2);
      }
      await spool.dispose();
    }
  }
});

test('the JSON announces its exact length before its first chunk, and a spool that fits a chunk comes in one', async () => {
  for (const memoryLimitBytes of [1 << 20, 10]) {
    const spool = new EntitySpool({ memoryLimitBytes, chunkBytes: 4096 });
    expect(spool.sortedJson().byteLength).toBe(Buffer.byteLength('[]\n'));
    // Pages keep their bytes around the entities (the envelope, a wrapper): only the entities are kept.
    const page = Buffer.from('{"value":[{"entity":{"id":"b"}},{"id":"a","t":"é"}]}');
    const slice = (text: string): Buffer => {
      const at = page.indexOf(text);
      return page.subarray(at, at + Buffer.byteLength(text));
    };
    await spool.add([
      { id: 'b', raw: slice('{"id":"b"}'), hidden: false },
      { id: 'a', raw: slice('{"id":"a","t":"é"}'), hidden: true },
    ]);
    await spool.add([entity('c')]);
    const chunks: Buffer[] = [];
    const json = spool.sortedJson();
    for await (const chunk of json) chunks.push(Buffer.from(chunk));
    const text = Buffer.concat(chunks);
    expect(text.toString('utf8')).toBe(
      `[\n{"id":"a","t":"é"},\n{"id":"b"},\n${entity('c').raw.toString('utf8')}\n]\n`,
    );
    expect(json.byteLength).toBe(text.length);
    expect(chunks).toHaveLength(1);
    await spool.dispose();
  }
});
