/**
 * The postprovision hook that removes the role assignments a deployment replaced
 * (scripts/revoke-replaced-roles.js), against a loopback server playing Azure Resource Manager.
 */
import {
  type ArmAnswer,
  type ArmRequest,
  type FakeArm,
  type FakeCli,
  type HookResult,
  fakeCli,
  runHook,
  startFakeArm,
} from './armHookHarness';

const SCRIPT = 'revoke-replaced-roles.js';
const SUBSCRIPTION = '/subscriptions/00000000-0000-0000-0000-00000000a11c';
const GROUP = `${SUBSCRIPTION}/resourceGroups/rg-test`;
const ACCOUNT = `${GROUP}/providers/Microsoft.Storage/storageAccounts/st3fa9c1b2d4e5f`;
const QUEUE = `${ACCOUNT}/queueServices/default/queues/gallery-export-authors`;
const APP = '0a0a0a0a-1111-4222-8333-444444444444';
const DEPLOYER = '0d0d0d0d-5555-4666-8777-888888888888';
const ROLE = {
  queueContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  queueReader: '19e7f393-937e-4f77-808e-94535e297925',
  blobReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  blobContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  blobOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
} as const;
const LONG_AGO = '2024-05-01T10:11:12.1234567Z';

function assignment(name: string, scope: string, principalId: string, role: string): Record<string, unknown> {
  return {
    id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      scope,
      principalId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: `${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
    },
  };
}

/** What ARM lists, by the scope of the request: assignments at, above and below it. */
const ON_QUEUE = [
  assignment('a1', QUEUE, APP, ROLE.queueContributor), // replaced: removed
  assignment('a2', QUEUE, APP, ROLE.queueReader), // granted now: kept
  assignment('a3', ACCOUNT, APP, ROLE.queueContributor), // inherited from the account: not this entry's
  assignment('a4', QUEUE, DEPLOYER, ROLE.queueContributor), // someone else's
];
const ON_ACCOUNT_PAGE_1 = [
  assignment('d1', ACCOUNT, DEPLOYER, ROLE.blobOwner), // replaced: removed
  assignment('d2', ACCOUNT, DEPLOYER, ROLE.blobContributor), // deployerStorageRole now: kept
];
const ON_ACCOUNT_PAGE_2 = [
  assignment('d3', ACCOUNT, DEPLOYER, ROLE.blobReader), // replaced: removed
  assignment('d4', GROUP, DEPLOYER, ROLE.blobReader), // on the resource group: not touched
];

function revocations(replacedAt = LONG_AGO): string {
  return JSON.stringify([
    {
      scope: QUEUE,
      principalId: APP,
      roleDefinitionIds: [ROLE.queueContributor],
      replacedAt: [replacedAt, LONG_AGO],
    },
    {
      scope: ACCOUNT,
      principalId: DEPLOYER,
      roleDefinitionIds: [ROLE.blobReader, ROLE.blobOwner],
      replacedAt: [replacedAt],
    },
  ]);
}

/** A fake ARM with the assignments above, deleting answers given by `onDelete`. */
function armWith(onDelete: (request: ArmRequest) => ArmAnswer = () => ({ status: 200, body: {} })) {
  return (request: ArmRequest): ArmAnswer => {
    if (request.method === 'DELETE') return onDelete(request);
    const path = decodeURIComponent(request.url);
    if (path.startsWith(`${QUEUE}/providers/Microsoft.Authorization/roleAssignments?`)) {
      return { status: 200, body: { value: ON_QUEUE } };
    }
    if (path.startsWith(`${ACCOUNT}/providers/Microsoft.Authorization/roleAssignments?`)) {
      return path.includes('$skiptoken=2')
        ? { status: 200, body: { value: ON_ACCOUNT_PAGE_2 } }
        : {
            status: 200,
            body: { value: ON_ACCOUNT_PAGE_1, nextLink: `ENDPOINT${request.url.slice(1)}&$skiptoken=2` },
          };
    }
    return { status: 404, body: { error: { code: 'NotFound', message: `no ${path}` } } };
  };
}

describe('revoke-replaced-roles (azd postprovision hook)', () => {
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
    answer: (request: ArmRequest) => ArmAnswer,
    env: Record<string, string> = {},
  ): Promise<HookResult> {
    let endpoint = '';
    arm = await startFakeArm((request) => {
      const reply = answer(request);
      // nextLink is absolute, as ARM sends it.
      return JSON.parse(JSON.stringify(reply).replaceAll('ENDPOINT', endpoint)) as ArmAnswer;
    });
    endpoint = arm.endpoint;
    const result = await runHook(
      SCRIPT,
      {
        AZURE_RESOURCE_MANAGER_ENDPOINT: arm.endpoint,
        AZURE_REVOKED_ROLE_ASSIGNMENTS: revocations(),
        ...env,
      },
      { cli },
    );
    expect(result.stdout + result.stderr).not.toContain(cli.token);
    return result;
  }

  const deletes = (): string[] =>
    arm!.requests
      .filter((r) => r.method === 'DELETE')
      .map((r) => r.url.replace(/\?.*$/, '').split('/').pop()!);

  test('removes exactly the replaced roles, at exactly their scope, of exactly their principal, across pages', async () => {
    const result = await run(armWith());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(deletes()).toEqual(['a1', 'd1', 'd3']);
    for (const r of arm!.requests) {
      expect(r.authorization).toBe(`Bearer ${cli.token}`);
      expect(r.url).toContain('api-version=2022-04-01');
    }
    // Listed per principal, as ARM filters them.
    expect(decodeURIComponent(arm!.requests[0]!.url)).toContain(`$filter=principalId eq '${APP}'`);
    expect(result.stdout).toContain(`removed Storage Queue Data Contributor of ${APP} on ${QUEUE}`);
    expect(result.stdout).toContain(`removed Storage Blob Data Owner of ${DEPLOYER} on ${ACCOUNT}`);
    expect(result.stdout).toContain(`removed Storage Blob Data Reader of ${DEPLOYER} on ${ACCOUNT}`);
    expect(result.stdout).toMatch(/removed 3 replaced role assignment\(s\)/);
    expect(result.stdout).not.toMatch(/waiting/);
  });

  test('waits for the replacing roles to propagate before removing what they replace, and only then', async () => {
    const grantedNow = new Date().toISOString();
    const waited = await run(armWith(), {
      AZURE_REVOKED_ROLE_ASSIGNMENTS: revocations(grantedNow),
      GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS: '1',
    });
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(
      /waiting 1 s for the roles granted at .* to propagate before removing the ones they replace/,
    );
    expect(deletes()).toEqual(['a1', 'd1', 'd3']);
    await arm!.close();

    // Nothing left to remove (every later provision): no wait, no change.
    const nothing = await run(
      (request) => (request.method === 'GET' ? { status: 200, body: { value: [] } } : { status: 500 }),
      {
        AZURE_REVOKED_ROLE_ASSIGNMENTS: revocations(new Date().toISOString()),
        GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS: '600',
      },
    );
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).not.toMatch(/waiting/);
    expect(nothing.stdout).toMatch(/no replaced role is left/);
    expect(deletes()).toEqual([]);
  });

  test('a scope that no longer exists has nothing to remove', async () => {
    const result = await run((request) =>
      request.method === 'GET'
        ? { status: 404, body: { error: { code: 'ResourceNotFound', message: 'gone' } } }
        : { status: 500 },
    );
    expect(result.code).toBe(0);
    expect(deletes()).toEqual([]);
  });

  test('an assignment it may not remove fails the hook with the command that removes it', async () => {
    const result = await run(
      armWith(() => ({
        status: 403,
        body: {
          error: {
            code: 'AuthorizationFailed',
            message:
              'The client does not have authorization to perform action Microsoft.Authorization/roleAssignments/delete',
          },
        },
      })),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not remove Storage Queue Data Contributor of ${APP} on ${QUEUE}`);
    expect(result.stderr).toContain(
      `az role assignment delete --ids ${QUEUE}/providers/Microsoft.Authorization/roleAssignments/a1`,
    );
  });

  test('removes only storage data roles it knows, and refuses a malformed list before asking for a token', async () => {
    const cases: [string, RegExp][] = [
      ['', /AZURE_REVOKED_ROLE_ASSIGNMENTS is not set/],
      ['{', /is not JSON/],
      [
        JSON.stringify([{ scope: QUEUE, principalId: APP, roleDefinitionIds: [ROLE.owner], replacedAt: [] }]),
        /8e3af657-a8ff-443c-a75c-2fe8c4bcb635 is not a role this hook removes/,
      ],
      [
        JSON.stringify([
          {
            scope: '/subscriptions/x',
            principalId: APP,
            roleDefinitionIds: [ROLE.blobOwner],
            replacedAt: [],
          },
        ]),
        /scope is not a resource ID/,
      ],
      [
        JSON.stringify([
          { scope: QUEUE, principalId: 'me', roleDefinitionIds: [ROLE.blobOwner], replacedAt: [] },
        ]),
        /principalId is not an object ID/,
      ],
      [
        JSON.stringify([
          { scope: QUEUE, principalId: APP, roleDefinitionIds: [ROLE.blobOwner], replacedAt: ['soon'] },
        ]),
        /replacedAt is not a list of times/,
      ],
    ];
    for (const [list, message] of cases) {
      const result = await run(armWith(), { AZURE_REVOKED_ROLE_ASSIGNMENTS: list });
      expect([list, result.code]).toEqual([list, 2]);
      expect(result.stderr).toMatch(message);
      expect(arm!.requests).toEqual([]);
      await arm!.close();
      arm = undefined;
    }
    expect(cli.calls()).toEqual([]);
  });

  test('with nothing replaced, asks ARM nothing', async () => {
    const result = await run(armWith(), { AZURE_REVOKED_ROLE_ASSIGNMENTS: '[]' });
    expect(result.code).toBe(0);
    expect(arm!.requests).toEqual([]);
    expect(cli.calls()).toEqual([]);
  });
});
