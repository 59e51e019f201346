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
const ACCOUNT = `${SUBSCRIPTION}/resourceGroups/rg-test/providers/Microsoft.Storage/storageAccounts/st3fa9c1b2d4e5f`;
const QUEUE = `${ACCOUNT}/queueServices/default/queues/gallery-export-authors`;
const APP = '0a0a0a0a-1111-4222-8333-444444444444';
const DEPLOYER = '0d0d0d0d-5555-4666-8777-888888888888';
const ROLE = {
  queueContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  blobReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  blobOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
} as const;
/** Names as the template gives them, guid(scope, principal, role): any GUID stands in here. */
const NAME = {
  appQueueContributor: '0a000000-0000-4000-8000-000000000001',
  deployerBlobReader: '0d000000-0000-4000-8000-000000000001',
  deployerBlobOwner: '0d000000-0000-4000-8000-000000000002',
} as const;
const LONG_AGO = '2024-05-01T10:11:12.1234567Z';

function assignmentId(scope: string, name: string): string {
  return `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
}

function assignment(scope: string, name: string, principalId: string, role: string): Record<string, unknown> {
  return {
    id: assignmentId(scope, name),
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

/**
 * What exists in Azure, by ID: the app's old queue Contributor and the deployer's old Blob Data Owner
 * (made by earlier deployments under the template's names); not the deployer's Reader (never made).
 */
const EXISTING = new Map<string, Record<string, unknown>>(
  [
    assignment(QUEUE, NAME.appQueueContributor, APP, ROLE.queueContributor),
    assignment(ACCOUNT, NAME.deployerBlobOwner, DEPLOYER, ROLE.blobOwner),
  ].map((a) => [a.id as string, a]),
);

/** The template's output: the app's queue Contributor; the deployer's Reader and Owner (it is now Contributor). */
function revocations(replacedAt = LONG_AGO): string {
  return JSON.stringify([
    {
      scope: QUEUE,
      principalId: APP,
      assignments: [{ name: NAME.appQueueContributor, roleDefinitionId: ROLE.queueContributor }],
      replacedAt: [replacedAt, LONG_AGO],
    },
    {
      scope: ACCOUNT,
      principalId: DEPLOYER,
      assignments: [
        { name: NAME.deployerBlobReader, roleDefinitionId: ROLE.blobReader },
        { name: NAME.deployerBlobOwner, roleDefinitionId: ROLE.blobOwner },
      ],
      replacedAt: [replacedAt],
    },
  ]);
}

/** A fake ARM holding `existing`; DELETE answers come from `onDelete`. */
function armWith(
  existing = EXISTING,
  onDelete: (request: ArmRequest) => ArmAnswer = () => ({ status: 200, body: {} }),
): (request: ArmRequest) => ArmAnswer {
  return (request) => {
    if (request.method === 'DELETE') return onDelete(request);
    const id = request.url.replace(/\?.*$/, '');
    const found = existing.get(id);
    return found === undefined
      ? {
          status: 404,
          body: { error: { code: 'RoleAssignmentNotFound', message: `The role assignment is not found.` } },
        }
      : { status: 200, body: found };
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
    arm = await startFakeArm((request) => answer(request));
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
    arm!.requests.filter((r) => r.method === 'DELETE').map((r) => r.url.replace(/\?.*$/, ''));

  test('removes the replaced assignments the template made, by their names; one never made is simply absent', async () => {
    const result = await run(armWith());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(arm!.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET ${assignmentId(QUEUE, NAME.appQueueContributor)}?api-version=2022-04-01`,
      `DELETE ${assignmentId(QUEUE, NAME.appQueueContributor)}?api-version=2022-04-01`,
      `GET ${assignmentId(ACCOUNT, NAME.deployerBlobReader)}?api-version=2022-04-01`,
      `GET ${assignmentId(ACCOUNT, NAME.deployerBlobOwner)}?api-version=2022-04-01`,
      `DELETE ${assignmentId(ACCOUNT, NAME.deployerBlobOwner)}?api-version=2022-04-01`,
    ]);
    for (const r of arm!.requests) expect(r.authorization).toBe(`Bearer ${cli.token}`);
    expect(result.stdout).toContain(`removed Storage Queue Data Contributor of ${APP} on ${QUEUE}`);
    expect(result.stdout).toContain(`removed Storage Blob Data Owner of ${DEPLOYER} on ${ACCOUNT}`);
    expect(result.stdout).toMatch(/removed 2 replaced role assignment\(s\)/);
    expect(result.stdout).not.toMatch(/waiting/);
  });

  test('leaves alone an assignment under that name that is not the one the template made', async () => {
    // The same name, but another principal: not the template's to remove.
    const stranger = assignment(ACCOUNT, NAME.deployerBlobOwner, APP, ROLE.blobOwner);
    const result = await run(armWith(new Map([[stranger.id as string, stranger]])));
    expect(result.code).toBe(0);
    expect(deletes()).toEqual([]);
    expect(result.stdout).toContain(`left ${assignmentId(ACCOUNT, NAME.deployerBlobOwner)} alone`);
  });

  test('waits for the replacing roles to propagate before removing what they replace, and only then', async () => {
    // Granted "in a second": whatever the machine's speed, the hook still has to wait when it starts.
    const waited = await run(armWith(), {
      AZURE_REVOKED_ROLE_ASSIGNMENTS: revocations(new Date(Date.now() + 1000).toISOString()),
      GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS: '1',
    });
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(
      /waiting [12] s for the roles granted at .* to propagate before removing the ones they replace/,
    );
    expect(deletes()).toEqual([
      assignmentId(QUEUE, NAME.appQueueContributor),
      assignmentId(ACCOUNT, NAME.deployerBlobOwner),
    ]);
    await arm!.close();

    // None of them exists any more (every later provision): no wait, no change.
    const nothing = await run(armWith(new Map()), {
      AZURE_REVOKED_ROLE_ASSIGNMENTS: revocations(new Date().toISOString()),
      GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS: '600',
    });
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).not.toMatch(/waiting/);
    expect(nothing.stdout).toMatch(/no replaced role is left/);
    expect(deletes()).toEqual([]);
  });

  test('an assignment it may not remove fails the hook with the command that removes it', async () => {
    const result = await run(
      armWith(EXISTING, () => ({
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
      `az role assignment delete --ids ${assignmentId(QUEUE, NAME.appQueueContributor)}`,
    );
  });

  test('removes only the storage data roles it knows, and refuses a malformed list before asking for a token', async () => {
    const entry = (assignments: unknown, extra: Record<string, unknown> = {}): string =>
      JSON.stringify([{ scope: QUEUE, principalId: APP, assignments, replacedAt: [], ...extra }]);
    const cases: [string, RegExp][] = [
      ['', /AZURE_REVOKED_ROLE_ASSIGNMENTS is not set/],
      ['{', /is not JSON/],
      [
        entry([{ name: NAME.appQueueContributor, roleDefinitionId: ROLE.owner }]),
        /8e3af657-a8ff-443c-a75c-2fe8c4bcb635 is not a role this hook removes/,
      ],
      [entry([{ name: '../../x', roleDefinitionId: ROLE.blobOwner }]), /is not a role assignment name/],
      [entry([], { scope: '/subscriptions/x' }), /scope is not a resource ID/],
      [entry([], { principalId: 'me' }), /principalId is not an object ID/],
      [entry([], { replacedAt: ['soon'] }), /replacedAt is not a list of times/],
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
    const result = await run(armWith(), {
      AZURE_REVOKED_ROLE_ASSIGNMENTS: JSON.stringify([
        { scope: QUEUE, principalId: APP, assignments: [], replacedAt: [] },
      ]),
    });
    expect(result.code).toBe(0);
    expect(arm!.requests).toEqual([]);
    expect(cli.calls()).toEqual([]);
  });
});
