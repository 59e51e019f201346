import { createHash } from 'node:crypto';

/**
 * A small seeded PRNG (sfc32) with the helpers the simulator needs. Everything random in the simulator goes
 * through this class so that a seed reproduces data, faults and churn; `Math.random` is never used.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds from four 32-bit words; prefer {@link SeededRandom.fromSeed} or {@link SeededRandom.fromKey}. */
  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    // sfc32 needs a few rounds before weak seeds (all zeros, small integers) look random.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A generator for a numeric seed: equal seeds give equal streams. */
  static fromSeed(seed: number): SeededRandom {
    return SeededRandom.fromKey(String(seed));
  }

  /**
   * A generator for an arbitrary key (hashed with SHA-256), so independent streams can be derived from
   * `(seed, label, ...)` without any shared state: the stream for a key never depends on what else ran.
   */
  static fromKey(...parts: ReadonlyArray<string | number>): SeededRandom {
    const digest = createHash('sha256').update(parts.map(String).join('\u0000')).digest();
    return new SeededRandom(
      digest.readUInt32LE(0),
      digest.readUInt32LE(4),
      digest.readUInt32LE(8),
      digest.readUInt32LE(12),
    );
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** Uniform integer in [min, max] (both inclusive). */
  intBetween(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** `length` lowercase hex characters. */
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.nextUint32().toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}

/** A stable value in [0, 1) for a key: used where a decision must be a pure function of its inputs. */
export function hashUnit(...parts: ReadonlyArray<string | number>): number {
  const digest = createHash('sha256').update(parts.map(String).join('\u0000')).digest();
  return digest.readUInt32LE(0) / 4294967296;
}
