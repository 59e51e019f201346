/**
 * A loopback Key Vault emulator for local runs and tests, driven through the real
 * `@azure/keyvault-secrets` `SecretClient` and the real `@azure/keyvault-keys` `KeyClient` and
 * `CryptographyClient`. See {@link startVaultEmulator}; README.md lists the REST subset.
 *
 * - Secrets: set, get (latest or a version), list secrets and versions (paged), update, soft
 *   delete, get deleted, purge.
 * - Keys: RSA and RSA-HSM keys with real key pairs of 2048, 3072 or 4096 bits. Create (a new
 *   version each time), get (latest or a version), list keys and versions (paged), update,
 *   rotate, get and set the rotation policy, soft delete, get deleted, purge; sign with
 *   RS256/384/512 (RSASSA-PKCS1-v1_5) and PS256/384/512 (RSASSA-PSS) over a digest, and verify.
 *   No private key leaves the emulator.
 * - Throttling (off unless asked for): Key Vault's per-vault limit per window, answered `429` with
 *   `Retry-After` and the `Throttled` error body.
 * - Everything else (certificates, EC and oct keys, encrypt/decrypt/wrap/unwrap, import, backup,
 *   restore, recover) answers `501 NotImplemented`.
 */
export {
  DEFAULT_VAULT_PAGE_SIZE,
  DEFAULT_VAULT_TENANT_ID,
  startVaultEmulator,
  type KeyCreateOptions,
  type KeyVersionInfo,
  type RecordedVaultRequest,
  type VaultEmulator,
  type VaultEmulatorOptions,
  type VaultOutageMode,
} from './vaultEmulator';
export type { SecretVersionRecord, SecretWriteProperties } from './secretStore';
export { KEY_OPERATIONS, RSA_KEY_TYPES, type KeyOperation, type RsaKeyType } from './keyStore';
export {
  DEFAULT_RSA_KEY_SIZE,
  prewarmRsaKeyPairs,
  RSA_KEY_SIZES,
  type RsaKeyPair,
  type RsaKeySize,
} from './rsaKeyPool';
export {
  RSA_SIGNATURE_ALGORITHMS,
  signRsaDigest,
  verifyRsaDigest,
  type RsaSignatureAlgorithm,
} from './rsaSignature';
export { VaultError } from './vaultError';
export { KEY_VAULT_THROTTLE_WINDOW_MS, THROTTLED_BODY, type VaultThrottleOptions } from './throttle';
