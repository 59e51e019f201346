import { createHash, verify } from 'node:crypto';
import type { SignatureDocument } from '../contract/formats';
import { schemaProblems } from '../contract/schemas';
import type { PublicKeyResolver } from './verifyTypes';

/**
 * ok: the signature covers the exact bytes; `verified` when a public key of the archive also verified it
 * (`keyId` is then that key's version), not when there was no key to check it with.
 */
export type SignatureVerdict =
  | { ok: true; keyId: string; verified: boolean; signature: SignatureDocument }
  | { ok: false; detail: string };

/**
 * Checks a signature document against the exact bytes it claims to sign: its shape, its SHA-256, and the
 * RSASSA-PKCS1-v1_5 SHA-256 signature with the public key its keyId resolves to (the same check as
 * `openssl dgst -sha256 -verify key.pem -signature sig.bin <file>`).
 */
export async function checkSignature(
  document: unknown,
  signed: { name: string; bytes: Buffer },
  keys: PublicKeyResolver | undefined,
  signal?: AbortSignal,
): Promise<SignatureVerdict> {
  const shape = schemaProblems('signature', document);
  if (shape.length > 0)
    return { ok: false, detail: `the signature does not match its schema: ${shape.join('; ')}` };
  const signature = document as SignatureDocument;
  if (signature.signed !== signed.name) {
    return { ok: false, detail: `the signature is for ${signature.signed}, not ${signed.name}` };
  }
  const sha256 = createHash('sha256').update(signed.bytes).digest('hex');
  if (signature.sha256 !== sha256) {
    return {
      ok: false,
      detail: `${signed.name} was changed after it was signed (its SHA-256 is ${sha256}; the signature covers ${signature.sha256})`,
    };
  }
  if (!keys) return { ok: true, keyId: signature.keyId, verified: false, signature };
  const resolved = await keys.keyFor(signature.keyId, signal);
  if ('problem' in resolved) return { ok: false, detail: resolved.problem };
  const bytes = Buffer.from(signature.signature, 'base64');
  const by = resolved.keys.find((candidate) => verify('sha256', signed.bytes, candidate.key, bytes));
  return by
    ? { ok: true, keyId: by.keyId, verified: true, signature }
    : { ok: false, detail: `the signature does not verify with ${keys.source} (${signature.keyId})` };
}
