/**
 * A loopback Key Vault secrets emulator for local runs and tests, driven through the real
 * `@azure/keyvault-secrets` `SecretClient`. See {@link startVaultEmulator}.
 */
export {
  DEFAULT_VAULT_PAGE_SIZE,
  DEFAULT_VAULT_TENANT_ID,
  startVaultEmulator,
  type RecordedVaultRequest,
  type VaultEmulator,
  type VaultEmulatorOptions,
  type VaultOutageMode,
} from './vaultEmulator';
export type { SecretVersionRecord, SecretWriteProperties } from './secretStore';
export { VaultError } from './vaultError';
