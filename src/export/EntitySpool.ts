import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListedEntity } from '../catalog/catalogResponses';
import type { EntityCollector } from '../catalog/consistentListing';

export interface EntitySpoolOptions {
  /** Entity bytes kept in memory before the spool moves to a temporary file. @default 16777216 (16 MiB) */
  memoryLimitBytes?: number;
  /** Folder for the temporary file. @default os.tmpdir() */
  directory?: string | undefined;
  /** Bytes per chunk yielded by `sortedJson`. @default 1048576 */
  chunkBytes?: number;
}

export const DEFAULT_SPOOL_MEMORY_LIMIT = 16 * 1024 * 1024;

/**
 * Holds one author's entities between paging and writing `entities.json`, sorted by id, without holding
 * every entity in memory: small authors stay in memory; past `memoryLimitBytes` the entity texts go to a
 * temporary file and only an index (id, offset, length: some tens of bytes per entity) stays in memory,
 * about 20 MB for 200,000 entities. The file needs as much disk as the entities' JSON.
 */
export class EntitySpool implements EntityCollector {
  private ids: string[] = [];
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
    this.offsets = [];
    this.lengths = [];
    this.size = 0;
    this.memory = [];
    this.memoryStarts = [];
    if (this.file) await this.file.handle.truncate(0);
  }

  async add(entities: readonly ListedEntity[]): Promise<void> {
    if (entities.length === 0) return;
    const parts = entities.map((entity) => Buffer.from(entity.raw, 'utf8'));
    const block = Buffer.concat(parts);
    let offset = this.size;
    entities.forEach((entity, index) => {
      this.ids.push(entity.id);
      this.offsets.push(offset);
      this.lengths.push(parts[index]!.length);
      offset += parts[index]!.length;
    });
    if (!this.file && this.size + block.length > this.memoryLimit) await this.spill();
    if (this.file) {
      await this.file.handle.write(block, 0, block.length, this.size);
    } else {
      this.memoryStarts.push(this.size);
      this.memory.push(block);
    }
    this.size += block.length;
  }

  /**
   * `entities.json`'s bytes: a JSON array of the entities as received, one per line, ordered by id
   * (UTF-16 code unit order, the same in every runtime).
   */
  async *sortedJson(): AsyncGenerator<Buffer> {
    const order = Array.from(this.ids.keys()).sort((a, b) => {
      const x = this.ids[a]!;
      const y = this.ids[b]!;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    if (order.length === 0) {
      yield Buffer.from('[]\n');
      return;
    }
    const separator = Buffer.from(',\n');
    let pending: Buffer[] = [Buffer.from('[\n')];
    let pendingBytes = 2;
    for (let start = 0; start < order.length; start += 256) {
      const batch = order.slice(start, start + 256);
      const texts = await Promise.all(batch.map((index) => this.read(index)));
      texts.forEach((text, position) => {
        if (start + position > 0) pending.push(separator);
        pending.push(text);
        pendingBytes += text.length + 2;
      });
      if (pendingBytes >= this.chunkBytes) {
        yield Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
    pending.push(Buffer.from('\n]\n'));
    yield Buffer.concat(pending);
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
    const folder = await mkdtemp(join(this.options.directory ?? tmpdir(), 'gallery-export-spool-'));
    const handle = await open(join(folder, 'entities.spool'), 'w+', 0o600);
    this.file = { handle, folder };
    let position = 0;
    for (const block of this.memory) {
      await handle.write(block, 0, block.length, position);
      position += block.length;
    }
    this.memory = [];
    this.memoryStarts = [];
  }

  private async read(index: number): Promise<Buffer> {
    const offset = this.offsets[index]!;
    const length = this.lengths[index]!;
    if (this.file) {
      const buffer = Buffer.allocUnsafe(length);
      await this.file.handle.read(buffer, 0, length, offset);
      return buffer;
    }
    // Memory blocks are contiguous and ascending: find the one holding this offset.
    let low = 0;
    let high = this.memoryStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.memoryStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    const start = offset - this.memoryStarts[low]!;
    return this.memory[low]!.subarray(start, start + length);
  }
}
