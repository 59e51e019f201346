/**
 * RSA signatures over a digest the client computed, as Key Vault's `sign` and `verify` take them.
 *
 * node:crypto's `sign`/`verify` always hash their input themselves, so they cannot sign a digest
 * that arrives already hashed. Instead:
 * - RS256/384/512 (RSASSA-PKCS1-v1_5, RFC 8017 8.2): `privateEncrypt` with PKCS#1 v1.5 padding
 *   applies exactly EMSA-PKCS1-v1_5's type-1 padding to the DigestInfo-prefixed digest, which
 *   gives byte for byte what `crypto.sign('sha256', data, key)` gives for the data.
 * - PS256/384/512 (RSASSA-PSS, RFC 8017 8.1, MGF1 with the same hash, salt as long as the hash, as
 *   RFC 7518 3.5 requires): EMSA-PSS is encoded here and the raw RSA operation applied with
 *   `privateDecrypt` without padding.
 */
import {
  constants,
  createHash,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

export const RSA_SIGNATURE_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
export type RsaSignatureAlgorithm = (typeof RSA_SIGNATURE_ALGORITHMS)[number];

type HashName = 'sha256' | 'sha384' | 'sha512';

interface AlgorithmSpec {
  hash: HashName;
  /** Bytes of the digest the client must send: the hash's output length. */
  digestBytes: number;
  scheme: 'pkcs1' | 'pss';
}

const SPECS: Record<RsaSignatureAlgorithm, AlgorithmSpec> = {
  RS256: { hash: 'sha256', digestBytes: 32, scheme: 'pkcs1' },
  RS384: { hash: 'sha384', digestBytes: 48, scheme: 'pkcs1' },
  RS512: { hash: 'sha512', digestBytes: 64, scheme: 'pkcs1' },
  PS256: { hash: 'sha256', digestBytes: 32, scheme: 'pss' },
  PS384: { hash: 'sha384', digestBytes: 48, scheme: 'pss' },
  PS512: { hash: 'sha512', digestBytes: 64, scheme: 'pss' },
};

/** DER of DigestInfo up to the digest itself (RFC 8017 9.2, note 1). */
const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

export function isRsaSignatureAlgorithm(algorithm: string): algorithm is RsaSignatureAlgorithm {
  return Object.hasOwn(SPECS, algorithm);
}

/** The digest length `algorithm` signs, in bytes. */
export function digestBytesFor(algorithm: RsaSignatureAlgorithm): number {
  return SPECS[algorithm].digestBytes;
}

/**
 * Signs `digest` (already hashed with the algorithm's hash) with an RSA private key. Throws a
 * `RangeError` for a digest of the wrong length: callers validate first and answer with their own error.
 */
export function signRsaDigest(
  privateKey: KeyObject,
  algorithm: RsaSignatureAlgorithm,
  digest: Uint8Array,
): Buffer {
  const spec = specFor(algorithm, digest);
  if (spec.scheme === 'pkcs1') {
    return privateEncrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([DIGEST_INFO_PREFIX[spec.hash], digest]),
    );
  }
  const modulusBits = modulusBitsOf(privateKey);
  const encoded = emsaPssEncode(Buffer.from(digest), modulusBits - 1, spec);
  return privateDecrypt(
    { key: privateKey, padding: constants.RSA_NO_PADDING },
    leftPad(encoded, byteLength(modulusBits)),
  );
}

/** Whether `signature` is a valid `algorithm` signature of `digest` under the public key. */
export function verifyRsaDigest(
  publicKey: KeyObject,
  algorithm: RsaSignatureAlgorithm,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const spec = specFor(algorithm, digest);
  const modulusBits = modulusBitsOf(publicKey);
  if (signature.length !== byteLength(modulusBits)) return false;
  let recovered: Buffer;
  try {
    recovered =
      spec.scheme === 'pkcs1'
        ? publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature)
        : publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    // Not a signature of this key at all: out of range, or padding that does not decode.
    return false;
  }
  if (spec.scheme === 'pkcs1') {
    return constantTimeEqual(recovered, Buffer.concat([DIGEST_INFO_PREFIX[spec.hash], digest]));
  }
  return emsaPssVerify(Buffer.from(digest), recovered, modulusBits - 1, spec);
}

function specFor(algorithm: RsaSignatureAlgorithm, digest: Uint8Array): AlgorithmSpec {
  const spec = SPECS[algorithm];
  if (digest.length !== spec.digestBytes) {
    throw new RangeError(`${algorithm} signs a ${spec.digestBytes}-byte digest, got ${digest.length} bytes`);
  }
  return spec;
}

function modulusBitsOf(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined) throw new TypeError('Not an RSA key');
  return bits;
}

function byteLength(bits: number): number {
  return Math.ceil(bits / 8);
}

/** EMSA-PSS-ENCODE (RFC 8017 9.1.1) with sLen = hLen. */
function emsaPssEncode(mHash: Buffer, emBits: number, spec: AlgorithmSpec): Buffer {
  const hLen = spec.digestBytes;
  const sLen = hLen;
  const emLen = byteLength(emBits);
  const salt = randomBytes(sLen);
  const h = createHash(spec.hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[db.length - sLen - 1] = 0x01;
  salt.copy(db, db.length - sLen);
  xorInPlace(db, mgf1(h, db.length, spec.hash));
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.of(0xbc)]);
}

/** EMSA-PSS-VERIFY (RFC 8017 9.1.2) with sLen = hLen; `recovered` is the k-byte RSAVP1 output. */
function emsaPssVerify(mHash: Buffer, recovered: Buffer, emBits: number, spec: AlgorithmSpec): boolean {
  const hLen = spec.digestBytes;
  const sLen = hLen;
  const emLen = byteLength(emBits);
  // EM is one byte shorter than the modulus when its bit length is 8n + 1; that byte is then zero.
  const extra = recovered.length - emLen;
  if (extra < 0 || recovered.subarray(0, extra).some((byte) => byte !== 0)) return false;
  const em = recovered.subarray(extra);
  if (emLen < hLen + sLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const topBitsMask = 0xff >> (8 * emLen - emBits);
  if ((em[0]! & ~topBitsMask) !== 0) return false;
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  xorInPlace(db, mgf1(h, db.length, spec.hash));
  db[0]! &= topBitsMask;
  const separator = db.length - sLen - 1;
  if (db.subarray(0, separator).some((byte) => byte !== 0) || db[separator] !== 0x01) return false;
  const salt = db.subarray(separator + 1);
  const expected = createHash(spec.hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return constantTimeEqual(h, expected);
}

/** MGF1 (RFC 8017 B.2.1). */
function mgf1(seed: Buffer, length: number, hash: HashName): Buffer {
  const blocks: Buffer[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    const block = createHash(hash).update(seed).update(uint32(counter)).digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

function xorInPlace(target: Buffer, mask: Buffer): void {
  for (let i = 0; i < target.length; i++) target[i]! ^= mask[i]!;
}

function leftPad(buffer: Buffer, length: number): Buffer {
  return buffer.length >= length ? buffer : Buffer.concat([Buffer.alloc(length - buffer.length), buffer]);
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
