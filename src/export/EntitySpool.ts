import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityCollector, ListedEntity } from '../contract/catalogApi';

export interface EntitySpoolOptions {
  /** Entity bytes kept in memory before the spool moves to a temporary file. @default 4194304 (4 MiB) */
  memoryLimitBytes?: number;
  /** Folder for the temporary file. @default os.tmpdir() */
  directory?: string | undefined;
  /**
   * Bytes per chunk yielded by `sortedJson`: the size of a staged block, so a spool that fits one block
   * is yielded as one chunk, uploaded as it is. @default 4194304 (4 MiB)
   */
  chunkBytes?: number;
  /** Opens the spool file (injectable to test a failure right after its folder was made). @default fs.open */
  openSpoolFile?: (path: string) => Promise<FileHandle>;
}

/**
 * Spool folders are named after the process that made them (`gallery-export-spool-<pid>-<random>`), so a
 * later start can tell the folders of a crashed process from those of a live one (see
 * removeAbandonedSpools).
 */
export const SPOOL_FOLDER_PREFIX = 'gallery-export-spool-';

export const DEFAULT_SPOOL_MEMORY_LIMIT = 4 * 1024 * 1024;
export const DEFAULT_SPOOL_CHUNK_BYTES = 4 * 1024 * 1024;

/** Chunks that know their total length before the first is read (createBlobOnce sizes its block by it). */
export interface SizedChunks extends AsyncIterable<Buffer> {
  readonly byteLength: number;
}

/**
 * Holds one author's entities between paging and writing `entities.json`, sorted by id, without holding
 * every entity in memory: small authors stay in memory, as the slices of the pages they came in (not
 * copied: each entity's bytes are copied once, into `entities.json`'s chunk); past `memoryLimitBytes`
 * the entity texts go to a temporary file and only an index (id, offset, length: some tens of bytes per
 * entity) stays in memory, about 20 MB for 200,000 entities. The file needs as much disk as the
 * entities' JSON.
 */
export class EntitySpool implements EntityCollector {
  private ids: string[] = [];
  /** Ids the catalog sent as JSON numbers sort as numbers (1, 2, 10), before any string id. */
  private numericIds: Array<number | undefined> = [];
  private offsets: number[] = [];
  private lengths: number[] = [];
  private size = 0;
  /** In memory: each entity's bytes (a slice of its page), by its index. */
  private raws: Buffer[] = [];
  private file: { handle: FileHandle; folder: string } | undefined;
  private readonly memoryLimit: number;
  private readonly chunkBytes: number;

  constructor(private readonly options: EntitySpoolOptions = {}) {
    this.memoryLimit = options.memoryLimitBytes ?? DEFAULT_SPOOL_MEMORY_LIMIT;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_SPOOL_CHUNK_BYTES;
  }

  get count(): number {
    return this.ids.length;
  }

  get bytes(): number {
    return this.size;
  }

  /** True once the spool has moved to disk. */
  get spilled(): boolean {
    return this.file !== undefined;
  }

  async reset(): Promise<void> {
    this.ids = [];
    this.numericIds = [];
    this.offsets = [];
    this.lengths = [];
    this.size = 0;
    this.raws = [];
    if (this.file) await this.file.handle.truncate(0);
  }

  async add(entities: readonly ListedEntity[]): Promise<void> {
    if (entities.length === 0) return;
    let offset = this.size;
    for (const entity of entities) {
      this.ids.push(entity.id);
      this.numericIds.push(entity.numericId);
      this.offsets.push(offset);
      this.lengths.push(entity.raw.length);
      offset += entity.raw.length;
    }
    const added = offset - this.size;
    if (!this.file && this.size + added > this.memoryLimit) await this.spill();
    if (this.file) {
      await this.file.handle.writev(
        entities.map((entity) => entity.raw),
        this.size,
      );
    } else {
      for (const entity of entities) this.raws.push(entity.raw);
    }
    this.size += added;
  }

  /**
   * `entities.json`'s bytes: a JSON array of the entities as received, one per line, ordered by id:
   * string ids in UTF-16 code unit order (the same in every runtime); ids sent as JSON numbers
   * numerically, before the string ones. Its `byteLength` is known before the first chunk is read. With
   * `lendChunks`, one chunk buffer (and one scratch buffer) serves every chunk: a chunk is valid until
   * the next is asked for.
   */
  sortedJson(options: { lendChunks?: boolean } = {}): SizedChunks {
    const count = this.ids.length;
    const byteLength = count === 0 ? 3 : this.size + SEPARATOR.length * (count - 1) + 5;
    return { byteLength, [Symbol.asyncIterator]: () => this.chunks(byteLength, options) };
  }

  private async *chunks(wholeBytes: number, options: { lendChunks?: boolean }): AsyncGenerator<Buffer> {
    const order = Array.from(this.ids.keys()).sort((a, b) => {
      const m = this.numericIds[a];
      const n = this.numericIds[b];
      if (m !== undefined || n !== undefined) {
        if (m === undefined) return 1;
        if (n === undefined) return -1;
        if (m !== n) return m - n;
      }
      const x = this.ids[a]!;
      const y = this.ids[b]!;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    if (order.length === 0) {
      yield Buffer.from('[]\n');
      return;
    }
    // Entities are copied straight into chunk-sized buffers, a chunk's worth of reads at a time: no
    // per-entity allocation on the way out. Entities that follow each other in the spool as they do in
    // the output (a catalog that honours $orderby sends them in order) are read with one request for the
    // run and then spread out between separators: a few hundred reads for 200,000 entities, not 200,000.
    let position = 0;
    let first = true;
    let lent: { chunk: Buffer; scratch: Buffer | undefined } | undefined;
    while (position < order.length) {
      // No bigger than the whole array: a small author's file is one chunk of exactly its size. A spilled
      // spool's chunks are copied into blocks anyway: smaller ones (and their scratch) hold less memory.
      const chunkBytes = this.file ? Math.min(this.chunkBytes, SPILLED_CHUNK_BYTES) : this.chunkBytes;
      const size = Math.max(Math.min(chunkBytes, wholeBytes), this.lengths[order[position]!]! + 5);
      const buffers =
        lent && lent.chunk.length >= size ? lent : { chunk: Buffer.allocUnsafe(size), scratch: undefined };
      // Runs of entities read from disk land in scratch first (their parts sum to less than a chunk).
      if (this.file) buffers.scratch ??= Buffer.allocUnsafe(buffers.chunk.length);
      if (options.lendChunks) lent = buffers;
      const { chunk, scratch } = buffers;
      let used = first ? chunk.write('[\n') : 0;
      const runs: SpoolRun[] = [];
      let run: SpoolRun | undefined;
      while (position < order.length) {
        const index = order[position]!;
        const length = this.lengths[index]!;
        if (used + length + (position > 0 ? SEPARATOR.length : 0) > chunk.length) break;
        if (position > 0) used += SEPARATOR.copy(chunk, used);
        if (!this.file) {
          // In memory: straight from the page it came in.
          used += this.raws[index]!.copy(chunk, used);
          position++;
          continue;
        }
        const offset = this.offsets[index]!;
        if (run && run.offset + run.length === offset) {
          run.targets.push(used);
          run.lengths.push(length);
          run.length += length;
        } else {
          run = { offset, length, targets: [used], lengths: [length] };
          runs.push(run);
        }
        used += length;
        position++;
      }
      let scratchUsed = 0;
      await Promise.all(
        runs.map((each) => {
          const at = scratchUsed;
          if (each.targets.length > 1) scratchUsed += each.length;
          return this.readRun(each, chunk, scratch?.subarray(at, at + each.length));
        }),
      );
      first = false;
      if (position === order.length && used + 3 <= chunk.length) {
        used += chunk.write('\n]\n', used);
        yield chunk.subarray(0, used);
        return;
      }
      yield chunk.subarray(0, used);
    }
    yield Buffer.from('\n]\n');
  }

  async dispose(): Promise<void> {
    this.raws = [];
    if (this.file) {
      const { handle, folder } = this.file;
      this.file = undefined;
      await handle.close().catch(() => undefined);
      await rm(folder, { recursive: true, force: true });
    }
  }

  private async spill(): Promise<void> {
    const folder = await mkdtemp(
      join(this.options.directory ?? tmpdir(), `${SPOOL_FOLDER_PREFIX}${process.pid}-`),
    );
    let handle: FileHandle;
    try {
      const path = join(folder, 'entities.spool');
      handle = await (this.options.openSpoolFile?.(path) ?? open(path, 'w+', 0o600));
    } catch (error) {
      // The folder is this spool's alone: nothing may be left behind when the file cannot be made.
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
    this.file = { handle, folder };
    // What was held in memory goes first, in the order it came, a batch of slices per write.
    const batch = 1024;
    let position = 0;
    for (let from = 0; from < this.raws.length; from += batch) {
      const parts = this.raws.slice(from, from + batch);
      const { bytesWritten } = await handle.writev(parts, position);
      position += bytesWritten;
    }
    this.raws = [];
  }

  /**
   * Copies a run of entities stored back to back into `target`, each at its place: a single entity
   * straight there, several through one read of the run.
   */
  private async readRun(run: SpoolRun, target: Buffer, scratch: Buffer | undefined): Promise<void> {
    if (run.targets.length === 1 || !scratch) {
      // A single entity: nothing to save by a scratch copy.
      let offset = run.offset;
      for (let k = 0; k < run.targets.length; k++) {
        await this.readInto(offset, run.lengths[k]!, target, run.targets[k]!);
        offset += run.lengths[k]!;
      }
      return;
    }
    await this.readInto(run.offset, run.length, scratch, 0);
    let from = 0;
    run.targets.forEach((at, k) => {
      const length = run.lengths[k]!;
      scratch.copy(target, at, from, from + length);
      from += length;
    });
  }

  /** Copies `length` spooled bytes from `offset` of the spool file into `target` at `at`. */
  private async readInto(offset: number, length: number, target: Buffer, at: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.file!.handle.read(target, at + done, length - done, offset + done);
      if (bytesRead === 0) throw new Error('The entity spool file is shorter than its index');
      done += bytesRead;
    }
  }
}

const SEPARATOR = Buffer.from(',\n');
const SPILLED_CHUNK_BYTES = 1024 * 1024;

/** Entities stored back to back in the spool, and where each goes in the output chunk. */
interface SpoolRun {
  offset: number;
  length: number;
  targets: number[];
  lengths: number[];
}
