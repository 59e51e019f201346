import { DEFAULT_SETTINGS, describeRunSettings, loadConfig } from '../src/config';

const minimal = {
  KEY_VAULT_URL: 'https://myvault.vault.azure.net/',
  EXPORT_STORAGE: 'UseDevelopmentStorage=true',
};

test('defaults fill everything but the vault and the storage', () => {
  const config = loadConfig(minimal);
  expect(config).toMatchObject({
    catalog: {
      baseUrl: 'https://catalog.cortanaanalytics.com',
      pageSize: 100,
      concurrency: 8,
      maxRetries: 5,
      timeoutMs: 30000,
    },
    keyVaultUrl: 'https://myvault.vault.azure.net',
    authorSecretPrefix: 'gallery-author-',
    storage: { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' },
    container: 'gallery-exports',
    queue: 'gallery-export-authors',
    schedule: '0 0 2 * * *',
    exportMode: 'queue',
  });
});

test('every problem is named at once', () => {
  let message = '';
  try {
    loadConfig({
      CATALOG_BASE_URL: 'ftp://catalog',
      CATALOG_CONCURRENCY: '0',
      CATALOG_TIMEOUT_MS: '1e3',
      EXPORT_CONTAINER: 'Bad_Name',
      EXPORT_SCHEDULE: '0 2 * * *',
      EXPORT_MODE: 'sometimes',
    });
  } catch (error) {
    expect(error).toMatchObject({ code: 'CONFIG' });
    message = (error as Error).message;
  }
  const names = [
    'CATALOG_BASE_URL',
    'KEY_VAULT_URL',
    'EXPORT_STORAGE',
    'CATALOG_CONCURRENCY',
    'CATALOG_TIMEOUT_MS',
    'EXPORT_CONTAINER',
    'EXPORT_SCHEDULE',
    'EXPORT_MODE',
  ];
  for (const name of names) expect(message).toContain(name);
});

test('plain http only for loopback hosts', () => {
  expect(loadConfig({ ...minimal, KEY_VAULT_URL: 'http://127.0.0.1:4181' }).keyVaultUrl).toBe(
    'http://127.0.0.1:4181',
  );
  expect(loadConfig({ ...minimal, CATALOG_BASE_URL: 'http://localhost:4180/' }).catalog.baseUrl).toBe(
    'http://localhost:4180',
  );
  expect(() => loadConfig({ ...minimal, KEY_VAULT_URL: 'http://vault.example.com' })).toThrow(
    /KEY_VAULT_URL must use https/,
  );
  expect(() => loadConfig({ ...minimal, KEY_VAULT_URL: 'https://user:pw@vault.example.com' })).toThrow(
    /without credentials/,
  );
});

test('identity-based storage, the Functions host convention', () => {
  const config = loadConfig({
    KEY_VAULT_URL: minimal.KEY_VAULT_URL,
    EXPORT_STORAGE__blobServiceUri: 'https://acct.blob.core.windows.net',
    EXPORT_STORAGE__queueServiceUri: 'https://acct.queue.core.windows.net',
    EXPORT_STORAGE__clientId: '00000000-0000-0000-0000-000000000001',
  });
  expect(config.storage).toEqual({
    kind: 'identity',
    blobServiceUri: 'https://acct.blob.core.windows.net',
    queueServiceUri: 'https://acct.queue.core.windows.net',
    clientId: '00000000-0000-0000-0000-000000000001',
  });
  expect(
    loadConfig({ KEY_VAULT_URL: minimal.KEY_VAULT_URL, EXPORT_STORAGE__accountName: 'acct' }).storage,
  ).toMatchObject({
    blobServiceUri: 'https://acct.blob.core.windows.net',
  });
});

test('the run record settings hold nothing secret', () => {
  const settings = describeRunSettings(
    loadConfig({
      ...minimal,
      EXPORT_STORAGE: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0',
    }),
  );
  expect(JSON.stringify(settings)).not.toMatch(/AccountKey|c2VjcmV0|vault/);
  expect(Object.keys(settings)).toEqual(expect.arrayContaining(['CATALOG_PAGE_SIZE', 'CATALOG_CONCURRENCY']));
});

test('the sample settings file lists every setting with its default', async () => {
  const sample = (await import('../local.settings.sample.json')) as { Values: Record<string, string> };
  for (const [name, value] of Object.entries(DEFAULT_SETTINGS))
    expect([name, sample.Values[name]]).toEqual([name, value]);
  for (const name of ['KEY_VAULT_URL', 'EXPORT_STORAGE', 'AzureWebJobsStorage', 'FUNCTIONS_WORKER_RUNTIME']) {
    expect(sample.Values).toHaveProperty(name);
  }
});

test("EXPORT_QUEUE leaves room for its poison queue's name", () => {
  const base = { KEY_VAULT_URL: 'https://v.vault.azure.net', EXPORT_STORAGE: 'UseDevelopmentStorage=true' };
  expect(loadConfig({ ...base, EXPORT_QUEUE: 'q'.repeat(56) }).queue).toHaveLength(56);
  expect(() => loadConfig({ ...base, EXPORT_QUEUE: 'q'.repeat(57) })).toThrow(
    /EXPORT_QUEUE .* longer than 56 characters, so its poison queue .* would not be a valid queue name/,
  );
});

test('a configuration error never echoes a value that may hold a credential', () => {
  const secret = 'c2VjcmV0LWtleS12YWx1ZQ==';
  const attempts: Array<Record<string, string>> = [
    // A connection string pasted into a URL setting.
    { KEY_VAULT_URL: `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${secret}` },
    // A URL with a query (a SAS token) or credentials.
    { CATALOG_BASE_URL: `https://catalog.example/?sig=${secret}` },
    { KEY_VAULT_URL: `https://user:${secret}@vault.example` },
    {
      EXPORT_STORAGE: '',
      EXPORT_STORAGE__blobServiceUri: `https://a.blob.core.windows.net/?sv=2024&sig=${secret}`,
      EXPORT_STORAGE__queueServiceUri: 'https://a.queue.core.windows.net',
    },
    { EXPORT_STORAGE: `not a connection string ${secret}` },
  ];
  for (const env of attempts) {
    let message = '';
    try {
      loadConfig({
        KEY_VAULT_URL: 'https://v.vault.azure.net',
        EXPORT_STORAGE: 'UseDevelopmentStorage=true',
        ...env,
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/Invalid settings/);
    expect(message).not.toContain(secret);
  }
});
