/**
 * The postprovision hook that creates the signing key (scripts/create-signing-key.js), against a
 * loopback server playing Azure Resource Manager and stand-ins for azd and az on PATH.
 */
import {
  type ArmAnswer,
  type FakeArm,
  type FakeCli,
  type HookResult,
  fakeCli,
  forbiddenByRbac,
  runHook,
  startFakeArm,
} from './armHookHarness';

const SCRIPT = 'create-signing-key.js';
const VAULT_NAME = 'kv-3fa9c1b2d4e5f';
const VAULT_ID = `/subscriptions/00000000-0000-0000-0000-00000000a11c/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/${VAULT_NAME}`;
const KEY_NAME = 'gallery-export-signing';
const KEY_PATH = `${VAULT_ID}/keys/${KEY_NAME}?api-version=2024-11-01`;
const PROPERTIES = {
  kty: 'RSA',
  keySize: 3072,
  keyOps: ['sign', 'verify'],
  attributes: { enabled: true },
  rotationPolicy: {
    attributes: { expiryTime: 'P425D' },
    lifetimeActions: [
      { trigger: { timeAfterCreate: 'P365D' }, action: { type: 'rotate' } },
      { trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'notify' } },
    ],
  },
};
const KEY_URI = `https://${VAULT_NAME}.vault.azure.net/keys/${KEY_NAME}`;

function keyAnswer(kty = PROPERTIES.kty, status = 200): ArmAnswer {
  return {
    status,
    body: {
      id: `${VAULT_ID}/keys/${KEY_NAME}`,
      name: KEY_NAME,
      type: 'Microsoft.KeyVault/vaults/keys',
      properties: {
        ...PROPERTIES,
        kty,
        keyUri: KEY_URI,
        keyUriWithVersion: `${KEY_URI}/0f1e2d3c4b5a69788796a5b4c3d2e1f0`,
      },
    },
  };
}

const FORBIDDEN = forbiddenByRbac('Microsoft.KeyVault/vaults/keys/read', `${VAULT_ID}/keys/${KEY_NAME}`);

describe('create-signing-key (azd postprovision hook)', () => {
  let cli: FakeCli;
  let arm: FakeArm | undefined;

  beforeEach(() => {
    cli = fakeCli();
  });

  afterEach(async () => {
    await arm?.close();
    arm = undefined;
    cli.remove();
  });

  async function run(
    answer: (index: number) => ArmAnswer,
    env: Record<string, string> = {},
    args: string[] = [],
  ): Promise<HookResult> {
    arm = await startFakeArm((_request, index) => answer(index));
    const result = await runHook(
      SCRIPT,
      {
        AZURE_RESOURCE_MANAGER_ENDPOINT: arm.endpoint,
        AZURE_KEY_VAULT_ID: VAULT_ID,
        SIGNING_KEY_NAME: KEY_NAME,
        SIGNING_KEY_PROPERTIES: JSON.stringify(PROPERTIES),
        AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON: '',
        GALLERY_EXPORT_KEY_RETRY_SECONDS: '0.05',
        ...env,
      },
      { cli, args },
    );
    // The token goes into the Authorization header and nowhere else.
    expect(result.stdout + result.stderr).not.toContain(cli.token);
    return result;
  }

  test("creates the key through ARM with the template's properties, signed in as azd's account", async () => {
    const result = await run(() => keyAnswer());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(arm!.requests).toEqual([
      {
        method: 'PUT',
        url: KEY_PATH,
        authorization: `Bearer ${cli.token}`,
        body: { properties: PROPERTIES },
      },
    ]);
    expect(result.stdout).toContain(`${KEY_URI}/0f1e2d3c4b5a69788796a5b4c3d2e1f0`);
    expect(cli.calls()).toEqual([
      ['azd', 'auth', 'token', '--output', 'json', '--scope', `${arm!.endpoint}.default`],
    ]);
  });

  test("waits for the deployer's new Crypto Officer role to reach Key Vault: ForbiddenByRbac is tried again", async () => {
    // ARM ISO times carry seven fractional digits.
    const grantedNow = new Date().toISOString().replace('Z', '0000Z');
    const result = await run((index) => (index < 3 ? FORBIDDEN : keyAnswer()), {
      AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON: grantedNow,
      GALLERY_EXPORT_KEY_ROLE_WAIT_SECONDS: '60',
    });
    expect(result.code).toBe(0);
    expect(arm!.requests.map((r) => r.method)).toEqual(['PUT', 'PUT', 'PUT', 'PUT']);
    expect(result.stdout).toMatch(/does not yet see the Key Vault Crypto Officer role granted at/);
    expect(result.stdout).toContain(KEY_URI);
  });

  test('gives up at once when the role was granted long ago or never: the message names the role, the vault and how to grant it', async () => {
    for (const createdOn of ['2024-05-01T10:11:12.1234567Z', '']) {
      const result = await run(() => FORBIDDEN, { AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON: createdOn });
      expect([createdOn, result.code]).toEqual([createdOn, 1]);
      expect(arm!.requests).toHaveLength(1);
      expect(result.stderr).toContain(`Key Vault refused to create the key ${KEY_NAME} in ${VAULT_NAME}`);
      expect(result.stderr).toContain('ForbiddenByRbac');
      expect(result.stderr).toContain(
        `az role assignment create --role "Key Vault Crypto Officer" --assignee <object id> --scope ${VAULT_ID}`,
      );
      await arm!.close();
      arm = undefined;
    }
  });

  test('stops waiting GALLERY_EXPORT_KEY_ROLE_WAIT_SECONDS after the role was granted, and says to run it again', async () => {
    const result = await run(() => FORBIDDEN, {
      AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON: new Date().toISOString(),
      // Long enough for a first attempt even on a loaded machine (the wait counts from the grant).
      GALLERY_EXPORT_KEY_ROLE_WAIT_SECONDS: '4',
      GALLERY_EXPORT_KEY_RETRY_SECONDS: '0.25',
    });
    expect(result.code).toBe(1);
    expect(arm!.requests.length).toBeGreaterThanOrEqual(2);
    expect(result.stderr).toMatch(
      /still, \d+ s after the deploying account was granted Key Vault Crypto Officer/,
    );
    expect(result.stderr).toMatch(/run this hook again in a few minutes/);
  });

  test('a redeployment gets the existing key back unchanged; a key type the template no longer asks for is reported, not replaced', async () => {
    const result = await run(() => keyAnswer('RSA'), {
      SIGNING_KEY_PROPERTIES: JSON.stringify({ ...PROPERTIES, kty: 'RSA-HSM' }),
    });
    expect(result.code).toBe(0);
    expect(arm!.requests.map((r) => r.method)).toEqual(['PUT']);
    expect(result.stdout).toMatch(/warning: the existing key is RSA but the template asks for RSA-HSM/);
  });

  test('a soft-deleted key of that name (409) is reported with the command that recovers it', async () => {
    const result = await run(() => ({
      status: 409,
      body: {
        error: {
          code: 'ConflictError',
          message: `Key ${KEY_NAME} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
        },
      },
    }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('HTTP 409 ConflictError');
    expect(result.stderr).toContain(`az keyvault key recover --vault-name ${VAULT_NAME} --name ${KEY_NAME}`);
  });

  test('rides out throttling and server errors after their Retry-After', async () => {
    const result = await run((index) =>
      index === 0
        ? {
            status: 429,
            headers: { 'Retry-After': '0' },
            body: { error: { code: 'TooManyRequests', message: 'slow down' } },
          }
        : index === 1
          ? { status: 503, headers: { 'Retry-After': '0' } }
          : keyAnswer(),
    );
    expect(result.code).toBe(0);
    expect(arm!.requests).toHaveLength(3);
  });

  test("asks for a token of the deployment's tenant (AZURE_TENANT_ID), which a guest's default tenant may not be", async () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const result = await run(() => keyAnswer(), { AZURE_TENANT_ID: tenant });
    expect(result.code).toBe(0);
    expect(cli.calls()).toEqual([
      [
        'azd',
        'auth',
        'token',
        '--output',
        'json',
        '--scope',
        `${arm!.endpoint}.default`,
        '--tenant-id',
        tenant,
      ],
    ]);
  });

  test('with --az, signs in through the Azure CLI (after a plain az deployment)', async () => {
    const result = await run(() => keyAnswer(), {}, ['--az']);
    expect(result.code).toBe(0);
    expect(cli.calls()).toEqual([
      ['az', 'account', 'get-access-token', '--resource', arm!.endpoint, '--output', 'json'],
    ]);
    expect(arm!.requests[0]!.authorization).toBe(`Bearer ${cli.token}`);
  });

  test('refuses missing or malformed settings before asking for a token or sending anything', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ SIGNING_KEY_PROPERTIES: '' }, /SIGNING_KEY_PROPERTIES is not set/],
      [{ SIGNING_KEY_PROPERTIES: '{"kty":"EC","keySize":256,"keyOps":["sign"]}' }, /not an RSA signing key/],
      [
        { SIGNING_KEY_PROPERTIES: JSON.stringify({ ...PROPERTIES, keyOps: ['sign', 'decrypt'] }) },
        /not an RSA signing key/,
      ],
      [
        { AZURE_KEY_VAULT_ID: '/subscriptions/x/resourceGroups/y' },
        /AZURE_KEY_VAULT_ID .* is not the resource ID/,
      ],
      [{ SIGNING_KEY_NAME: 'no spaces' }, /SIGNING_KEY_NAME "no spaces" is not a Key Vault key name/],
      [{ AZURE_RESOURCE_MANAGER_ENDPOINT: 'http://management.example.com/' }, /must be https/],
      [{ AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON: 'yesterday' }, /is not a time/],
      [{ GALLERY_EXPORT_KEY_ROLE_WAIT_SECONDS: 'soon' }, /is not a number of seconds/],
    ];
    for (const [env, message] of cases) {
      const result = await run(() => keyAnswer(), env);
      expect([env, result.code]).toEqual([env, 2]);
      expect(result.stderr).toMatch(message);
      expect(arm!.requests).toEqual([]);
      await arm!.close();
      arm = undefined;
    }
    expect(cli.calls()).toEqual([]);
  });
});
