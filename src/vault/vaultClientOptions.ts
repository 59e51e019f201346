import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { VaultRateBudget } from './VaultRateBudget';
import type { VaultRetryOptions } from './vaultRetry';
import { vaultRetryPolicy } from './vaultRetryPolicy';

/** The options both Key Vault packages take (`SecretClientOptions`, `KeyClientOptions`, `CryptographyClientOptions`). */
export type VaultClientOptions = Pick<
  SecretClientOptions,
  'allowInsecureConnection' | 'disableChallengeResourceVerification' | 'retryOptions' | 'additionalPolicies'
>;

/** Why a call failed with 429: the retries ran to the deadline, so the vault is busier than this app. */
export const VAULT_THROTTLED =
  'the vault kept answering HTTP 429 (throttled) until the deadline; it is shared with more traffic than its limit allows (see docs/operations.md, "Key Vault throttling")';

/** One budget per vault for the whole process: every client of a vault, and every author, shares it. */
const budgets = new Map<string, VaultRateBudget>();

/** The process's rate budget for the vault at `vaultUrl` (by origin: scheme, host and port). */
export function vaultRateBudget(vaultUrl: string): VaultRateBudget {
  const origin = new URL(vaultUrl).origin.toLowerCase();
  let budget = budgets.get(origin);
  if (!budget) {
    budget = new VaultRateBudget();
    budgets.set(origin, budget);
  }
  return budget;
}

export interface VaultClientSettings {
  vaultUrl: string;
  /** A loopback emulator: plain http and a challenge resource that is not *.vault.azure.net are allowed. */
  loopback: boolean;
  /** A budget of its own instead of the process's for this vault (tests). */
  budget?: VaultRateBudget | undefined;
  /** Retry timings other than DEFAULT_VAULT_RETRY (tests). */
  retry?: Partial<VaultRetryOptions> | undefined;
}

/** What a test may set apart from the process's defaults. */
export type VaultRetryTuning = Pick<VaultClientSettings, 'budget' | 'retry'>;

/**
 * What every Key Vault client of the app is built with: the SDK's retries off and the app's retry policy
 * (vaultRetryPolicy.ts) on, with the vault's shared budget, so there is exactly one retry layer.
 */
export function vaultClientOptions(settings: VaultClientSettings): VaultClientOptions {
  const budget = settings.budget ?? vaultRateBudget(settings.vaultUrl);
  return {
    // Relaxed for the local emulator only: plain http and a challenge resource that is not *.vault.azure.net.
    allowInsecureConnection: settings.loopback,
    disableChallengeResourceVerification: settings.loopback,
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [
      { policy: vaultRetryPolicy({ budget, retry: settings.retry }), position: 'perCall' },
    ],
  };
}
