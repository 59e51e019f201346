import { SecretClient } from '@azure/keyvault-secrets';

/** A SecretClient for the loopback vault emulator, as an operator's script would use it. */
export function secretClient(vaultUrl: string): SecretClient {
  return new SecretClient(
    vaultUrl,
    { getToken: () => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3600_000 }) },
    { allowInsecureConnection: true, disableChallengeResourceVerification: true },
  );
}
