/**
 * Real RSA key pairs for the emulator's keys, generated ahead of use. Generating an RSA-3072 pair
 * takes hundreds of milliseconds (RSA-4096 more than a second), far more than the rest of a
 * create request, so pairs come from a small process-wide stock that is refilled in the
 * background. Every pair is handed out once only: two creates never share a key.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';

/** The RSA modulus sizes Key Vault accepts for `RSA` and `RSA-HSM` keys. */
export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;
export type RsaKeySize = (typeof RSA_KEY_SIZES)[number];
/** What the service uses when a create request names no `key_size`. */
export const DEFAULT_RSA_KEY_SIZE: RsaKeySize = 2048;
/**
 * Pairs kept in stock for each size that has been asked for at least once. One is enough to hide
 * the generation time of the next create in a test; more would only burn CPU on parallel suites.
 */
export const DEFAULT_RSA_KEY_SPARES = 1;
/** Key Vault generates RSA keys with e = 65537 only. */
export const RSA_PUBLIC_EXPONENT = 65537;

export interface RsaKeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

const stock = new Map<RsaKeySize, Array<Promise<RsaKeyPair>>>();

export function isRsaKeySize(size: number): size is RsaKeySize {
  return (RSA_KEY_SIZES as readonly number[]).includes(size);
}

/** A fresh pair of the given size, never handed out before; tops the stock up again. */
export function takeRsaKeyPair(size: RsaKeySize): Promise<RsaKeyPair> {
  const pending = stockOf(size);
  const next = pending.shift() ?? generate(size);
  topUp(size, DEFAULT_RSA_KEY_SPARES);
  return next;
}

/**
 * Starts generating until `count` pairs of `size` are in stock, and resolves once they are ready.
 * For a test suite's `beforeAll`, so that its creates do not wait for generation one by one.
 */
export async function prewarmRsaKeyPairs(size: RsaKeySize, count: number): Promise<void> {
  if (!isRsaKeySize(size)) throw new RangeError(`RSA key size must be one of ${RSA_KEY_SIZES.join(', ')}`);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number`);
  topUp(size, count);
  await Promise.all(stockOf(size).slice(0, count));
}

function stockOf(size: RsaKeySize): Array<Promise<RsaKeyPair>> {
  let pending = stock.get(size);
  if (!pending) {
    pending = [];
    stock.set(size, pending);
  }
  return pending;
}

function topUp(size: RsaKeySize, count: number): void {
  const pending = stockOf(size);
  while (pending.length < count) {
    const pair = generate(size);
    pending.push(pair);
    // A spare nobody has taken yet must not become an unhandled rejection; a failed one is dropped
    // so the next create generates afresh (and a taker still sees the original error).
    pair.catch(() => {
      const index = pending.indexOf(pair);
      if (index >= 0) void pending.splice(index, 1);
    });
  }
}

function generate(size: RsaKeySize): Promise<RsaKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength: size, publicExponent: RSA_PUBLIC_EXPONENT },
      (error, publicKey, privateKey) => (error ? reject(error) : resolve({ publicKey, privateKey })),
    );
  });
}
