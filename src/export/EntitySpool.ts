import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityCollector, ListedEntity } from '../contract/catalogApi';

export interface EntitySpoolOptions {
  /** Entity bytes kept in memory before the spool moves to a temporary file. @default 4194304 (4 MiB) */
  memoryLimitBytes?: number;
  /** Folder for the temporary file. @default os.tmpdir() */
  directory?: string | undefined;
  /** Bytes per chunk yielded by `sortedJson`. @default 1048576 */
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

/**
 * Holds one author's entities between paging and writing `entities.json`, sorted by id, without holding
 * every entity in memory: small authors stay in memory; past `memoryLimitBytes` the entity texts go to a
 * temporary file and only an index (id, offset, length: some tens of bytes per entity) stays in memory,
 * about 20 MB for 200,000 entities. The file needs as much disk as the entities' JSON.
 */
export class EntitySpool implements EntityCollector {
  private ids: string[] = [];
  /** Ids the catalog sent as JSON numbers sort as numbers (1, 2, 10), before any string id. */
  private numericIds: Array<number | undefined> = [];
  private offsets: number[] = [];
  private lengths: number[] = [];
  private size = 0;
  private memory: Buffer[] = [];
  private memoryStarts: number[] = [];
  private file: { handle: FileHandle; folder: string } | undefined;
  private readonly memoryLimit: number;
  private readonly chunkBytes: number;

  constructor(private readonly options: EntitySpoolOptions = {}) {
    this.memoryLimit = options.memoryLimitBytes ?? DEFAULT_SPOOL_MEMORY_LIMIT;
    this.chunkBytes = options.chunkBytes ?? 1024 * 1024;
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
    this.memory = [];
    this.memoryStarts = [];
    if (this.file) await this.file.handle.truncate(0);
  }

  async add(entities: readonly ListedEntity[]): Promise<void> {
    if (entities.length === 0) return;
    const parts = entities.map((entity) => entity.raw);
    let offset = this.size;
    entities.forEach((entity, index) => {
      this.ids.push(entity.id);
      this.numericIds.push(entity.numericId);
      this.offsets.push(offset);
      this.lengths.push(parts[index]!.length);
      offset += parts[index]!.length;
    });
    const added = offset - this.size;
    if (!this.file && this.size + added > this.memoryLimit) await this.spill();
    if (this.file) {
      await this.file.handle.writev(parts, this.size);
    } else {
      this.memoryStarts.push(this.size);
      this.memory.push(Buffer.concat(parts, added));
    }
    this.size += added;
  }

  /**
   * `entities.json`'s bytes: a JSON array of the entities as received, one per line, ordered by id:
   * string ids in UTF-16 code unit order (the same in every runtime); ids sent as JSON numbers
   * numerically, before the string ones. With `lendChunks`, one chunk buffer (and one scratch buffer)
   * serves every chunk: a chunk is valid until the next is asked for.
   */
  async *sortedJson(options: { lendChunks?: boolean } = {}): AsyncGenerator<Buffer> {
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
    const separator = Buffer.from(',\n');
    let position = 0;
    let first = true;
    // No bigger than the whole array: a small author's file is one small chunk.
    const wholeBytes = this.size + separator.length * order.length + 8;
    let lent: { chunk: Buffer; scratch: Buffer | undefined } | undefined;
    while (position < order.length) {
      const size = Math.max(Math.min(this.chunkBytes, wholeBytes), this.lengths[order[position]!]! + 4);
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
        if (used + length + (position > 0 ? separator.length : 0) > chunk.length) break;
        if (position > 0) used += separator.copy(chunk, used);
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
    this.memory = [];
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
    let position = 0;
    for (const block of this.memory) {
      await handle.write(block, 0, block.length, position);
      position += block.length;
    }
    this.memory = [];
    this.memoryStarts = [];
  }

  /**
   * Copies a run of entities stored back to back into `target`, each at its place: a single entity
   * straight there, several through one read of the run.
   */
  private async readRun(run: SpoolRun, target: Buffer, scratch: Buffer | undefined): Promise<void> {
    if (run.targets.length === 1 || !this.file || !scratch) {
      // In memory, or a single entity: nothing to save by a scratch copy.
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

  /** Copies `length` spooled bytes from `offset` into `target` at `at`. */
  private async readInto(offset: number, length: number, target: Buffer, at: number): Promise<void> {
    if (this.file) {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await this.file.handle.read(target, at + done, length - done, offset + done);
        if (bytesRead === 0) throw new Error('The entity spool file is shorter than its index');
        done += bytesRead;
      }
      return;
    }
    // Memory blocks are contiguous and ascending: find the one holding this offset.
    let low = 0;
    let high = this.memoryStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.memoryStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    // A run may cross from one memory block into the next.
    let done = 0;
    for (let block = low; done < length; block++) {
      const start = offset + done - this.memoryStarts[block]!;
      done += this.memory[block]!.copy(
        target,
        at + done,
        start,
        Math.min(this.memory[block]!.length, start + length - done),
      );
    }
  }
}

/** Entities stored back to back in the spool, and where each goes in the output chunk. */
interface SpoolRun {
  offset: number;
  length: number;
  targets: number[];
  lengths: number[];
}
