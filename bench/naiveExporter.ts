import { BlobServiceClient } from '@azure/storage-blob';
import { SecretClient } from '@azure/keyvault-secrets';
import { request } from 'undici';

/**
 * The naive baseline the throughput benchmark compares against: what a generic copy tool or a short
 * script does. One request at a time, pages one after another until a short page, a new connection for
 * every request (`Connection: close`, no pool), no retries, and each author's profile and entities written
 * as plain blobs. It reads the same vault and writes the same container as gallery-export would. The
 * bench starts it like the product (a fresh process, measured from outside); it prints `{"requests": n}`.
 */
async function main(): Promise<void> {
  const env = process.env;
  const vault = new SecretClient(
    env.KEY_VAULT_URL!,
    { getToken: () => Promise.resolve({ token: 'x', expiresOnTimestamp: Date.now() + 3600_000 }) },
    {
      allowInsecureConnection: true,
      disableChallengeResourceVerification: true,
    },
  );
  const container = BlobServiceClient.fromConnectionString(env.EXPORT_STORAGE!).getContainerClient(
    env.EXPORT_CONTAINER!,
  );
  await container.createIfNotExists();
  const base = env.CATALOG_BASE_URL!;
  const top = Number(env.CATALOG_PAGE_SIZE ?? 100);
  let requests = 0;
  const get = async (path: string, token: string | null): Promise<unknown> => {
    requests++;
    const response = await request(`${base}${path}`, {
      headers: { connection: 'close', ...(token ? { DataLabAccessToken: token } : {}) },
      reset: true,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${path}: HTTP ${response.statusCode}`);
    return JSON.parse(text);
  };

  for await (const properties of vault.listPropertiesOfSecrets()) {
    if (!properties.name.startsWith('gallery-author-')) continue;
    const secret = JSON.parse((await vault.getSecret(properties.name)).value ?? '{}') as {
      authorId: string;
      accessToken: string | null;
    };
    const profile = await get(`/users/${secret.authorId}`, secret.accessToken);
    const entities: unknown[] = [];
    const filter = encodeURIComponent(`author/id eq '${secret.authorId}'`);
    for (let skip = 0; ; skip += top) {
      const page = (await get(
        `/entities?$filter=${filter}&$top=${top}&$skip=${skip}`,
        secret.accessToken,
      )) as { value: unknown[] };
      // Items may come wrapped as {"entity": {...}} (the catalog documentation): stored unwrapped.
      for (const item of page.value) entities.push((item as { entity?: unknown }).entity ?? item);
      if (page.value.length < top) break;
    }
    const prefix = `naive/${secret.authorId}/`;
    const profileText = JSON.stringify(profile);
    const entitiesText = JSON.stringify(entities);
    await container
      .getBlockBlobClient(`${prefix}profile.json`)
      .upload(profileText, Buffer.byteLength(profileText));
    await container
      .getBlockBlobClient(`${prefix}entities.json`)
      .upload(entitiesText, Buffer.byteLength(entitiesText));
  }
  process.stdout.write(`${JSON.stringify({ requests })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
