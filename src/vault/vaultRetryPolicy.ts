import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { abortError } from '../contract/errors';
import type { VaultRateBudget } from './VaultRateBudget';
import {
  DEFAULT_VAULT_RETRY,
  decideVaultRetry,
  retryAfterMs,
  type VaultAttemptOutcome,
  type VaultRetryOptions,
} from './vaultRetry';

/** core-rest-pipeline's PipelinePolicy, as the Key Vault clients take it (that package is theirs, not ours). */
export type VaultPipelinePolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];

export const VAULT_RETRY_POLICY_NAME = 'galleryExportVaultRetryPolicy';

export interface VaultRetryPolicyOptions {
  /** The vault's budget, shared by every client of the process for that vault. */
  budget: VaultRateBudget;
  retry?: Partial<VaultRetryOptions> | undefined;
  /** @default Math.random */
  random?: () => number;
}

/**
 * The one retry layer of every Key Vault client (the SDK's own is off: `maxRetries: 0`). Added per call,
 * before the SDK's challenge policy, so every attempt is authorized afresh. Each attempt first takes a
 * slot of the vault's shared budget; a 429 pauses the whole budget, not only this call; waits end at once
 * when the request's signal fires.
 */
export function vaultRetryPolicy(options: VaultRetryPolicyOptions): VaultPipelinePolicy {
  const retry: VaultRetryOptions = { ...DEFAULT_VAULT_RETRY, ...options.retry };
  const random = options.random ?? Math.random;
  const { budget } = options;
  return {
    name: VAULT_RETRY_POLICY_NAME,
    async sendRequest(request, next) {
      const signal = request.abortSignal as AbortSignal | undefined;
      const startedAt = performance.now();
      let throttledAttempts = 0;
      let transientAttempts = 0;
      for (;;) {
        const grant = await budget.acquire(signal, throttledAttempts + transientAttempts > 0);
        let outcome: VaultAttemptOutcome;
        let response: Awaited<ReturnType<typeof next>> | undefined;
        try {
          response = await next(request);
          const header = (name: string): string | undefined => response!.headers.get(name);
          outcome = {
            kind: 'status',
            status: response.status,
            retryAfterMs: retryAfterMs(header, Date.now()),
          };
        } catch (error) {
          if (signal?.aborted) throw error;
          outcome = { kind: 'error', error };
        }
        if (outcome.kind === 'status' && outcome.status === 429) throttledAttempts++;
        else transientAttempts++;
        const decision = decideVaultRetry({
          outcome,
          throttledAttempts,
          transientAttempts,
          elapsedMs: performance.now() - startedAt,
          random,
          options: retry,
        });
        if (!decision.retry) {
          if (response) return response;
          throw (outcome as { error: unknown }).error;
        }
        // Every caller waits out what the vault asked for; without Retry-After, the first step of the
        // backoff (this call alone backs off further).
        if (decision.throttled) {
          const asked = outcome.kind === 'status' ? outcome.retryAfterMs : undefined;
          budget.onThrottled(grant, asked ?? Math.min(decision.delayMs, retry.throttledBaseDelayMs));
        }
        await abortableDelay(decision.delayMs, signal);
      }
    },
  };
}

/** setTimeout as a promise that rejects with ABORTED as soon as the signal fires. */
function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
