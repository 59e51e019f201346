#!/usr/bin/env node
'use strict';
// azd postprovision hook (azure.yaml): removes the role assignments a deployment replaced, which
// ARM itself never does (it creates and updates what a template declares, and deletes nothing).
//
// The template lists them in its output AZURE_REVOKED_ROLE_ASSIGNMENTS: per scope and principal, the
// assignments by the name every version of the template gives them (guid(scope, principal, role)),
// and when the assignments replacing them were created (`replacedAt`):
// - the app's Storage Queue Data Contributor on each queue, replaced by Reader + Message Processor +
//   Message Sender (it could delete or reconfigure the queues);
// - the app's roles on the exports account from the single-account layout (Blob Data Owner, Queue
//   and Table Data Contributor), replaced by container- and queue-scoped ones;
// - the blob data roles of principalId on the exports account other than deployerStorageRole (all
//   three for None): ARM cannot change the role of an existing assignment, so a changed
//   deployerStorageRole makes a new one, and this removes the one it replaced: no broader role is
//   left behind.
//
// An assignment is removed only if it exists under that name with exactly that scope, principal and
// role: a role granted by hand (under another name), or inherited from above, is never touched.
// Before removing one it waits until its replacements are GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS
// (300) old, so the app does not lose queue access while its new roles propagate; when none of them
// exists (every run after the first) it neither waits nor changes anything.
//
// Reads AZURE_RESOURCE_MANAGER_ENDPOINT and AZURE_REVOKED_ROLE_ASSIGNMENTS (JSON) from the template's
// outputs. Signs in with `azd auth token`; `--az` uses `az account get-access-token`. Needs
// Microsoft.Authorization/roleAssignments/read and /delete (Owner, User Access Administrator or Role
// Based Access Control Administrator: what deploying the template needs anyway).
// Exit code 0: nothing replaced is left; 1: an assignment could not be removed (the message gives the
// command that removes it); 2: a setting is missing or malformed.
const {
  HookError,
  armRequest,
  getToken,
  inputError,
  reportFailure,
  resourceManagerEndpoint,
  sleep,
} = require('./lib/arm');

const NAME = 'revoke-replaced-roles';
const API_VERSION = '2022-04-01';
const DEFAULT_PROPAGATION_SECONDS = 300;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCOPE = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^?#]+[^/]$/i;
// The only roles this hook may ever remove (the template's revocations are a subset): a malformed or
// tampered setting cannot make it delete an Owner or a Key Vault role.
const REVOCABLE_ROLES = {
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
};

function log(message) {
  console.log(`${NAME}: ${message}`);
}

function propagationMs(env) {
  const raw = env.GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_PROPAGATION_SECONDS * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw inputError(`GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS=${raw} is not a number of seconds`);
  }
  return value * 1000;
}

/** The template's list, each entry checked before anything is asked of ARM. */
function revocations(env) {
  const raw = env.AZURE_REVOKED_ROLE_ASSIGNMENTS;
  if (raw === undefined || raw === '') {
    throw inputError('AZURE_REVOKED_ROLE_ASSIGNMENTS is not set (an output of the template)');
  }
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw inputError('AZURE_REVOKED_ROLE_ASSIGNMENTS is not JSON');
  }
  if (!Array.isArray(parsed)) throw inputError('AZURE_REVOKED_ROLE_ASSIGNMENTS is not a list');
  return parsed.map((entry, i) => {
    const where = `AZURE_REVOKED_ROLE_ASSIGNMENTS[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw inputError(`${where} is not an object`);
    const { scope, principalId, assignments, replacedAt } = entry;
    if (typeof scope !== 'string' || !SCOPE.test(scope))
      throw inputError(`${where}.scope is not a resource ID`);
    if (typeof principalId !== 'string' || !GUID.test(principalId)) {
      throw inputError(`${where}.principalId is not an object ID`);
    }
    if (!Array.isArray(assignments)) throw inputError(`${where}.assignments is not a list`);
    for (const assignment of assignments) {
      if (typeof assignment?.name !== 'string' || !GUID.test(assignment.name)) {
        throw inputError(`${where}: ${JSON.stringify(assignment?.name)} is not a role assignment name`);
      }
      const role = assignment.roleDefinitionId;
      if (typeof role !== 'string' || !Object.hasOwn(REVOCABLE_ROLES, role.toLowerCase())) {
        throw inputError(`${where}: ${String(role)} is not a role this hook removes`);
      }
    }
    if (
      !Array.isArray(replacedAt) ||
      replacedAt.some((t) => typeof t !== 'string' || Number.isNaN(Date.parse(t)))
    ) {
      throw inputError(`${where}.replacedAt is not a list of times`);
    }
    return {
      scope,
      principalId: principalId.toLowerCase(),
      assignments: assignments.map((a) => ({
        id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${a.name.toLowerCase()}`,
        role: a.roleDefinitionId.toLowerCase(),
      })),
      replacedAt: Math.max(0, ...replacedAt.map((t) => Date.parse(t))),
    };
  });
}

const url = (endpoint, id) => `${endpoint}${id.replace(/^\//, '')}?api-version=${API_VERSION}`;

/**
 * Whether the assignment exists as the template made it; a different one under that name (not
 * ours) is reported and left alone.
 */
async function existing(endpoint, token, revocation, assignment) {
  const result = await armRequest({ method: 'GET', url: url(endpoint, assignment.id), token });
  if (result.status === 404) return false;
  if (result.status !== 200) {
    throw new HookError(
      `could not read the role assignment ${assignment.id} (HTTP ${result.status} ${result.error?.code}: ${result.error?.message})`,
    );
  }
  const props = result.body?.properties ?? {};
  const matches =
    String(props.scope).toLowerCase() === revocation.scope.toLowerCase() &&
    String(props.principalId).toLowerCase() === revocation.principalId &&
    String(props.roleDefinitionId).split('/').pop().toLowerCase() === assignment.role;
  if (!matches) {
    log(
      `left ${assignment.id} alone: it is not the ${REVOCABLE_ROLES[assignment.role]} of ${revocation.principalId} the template made`,
    );
  }
  return matches;
}

async function main(argv, env) {
  const tool = argv.includes('--az') ? 'az' : 'azd';
  const endpoint = resourceManagerEndpoint(env);
  const waitMs = propagationMs(env);
  const list = revocations(env);
  if (list.every((r) => r.assignments.length === 0)) {
    log('the template replaced no role');
    return;
  }
  const token = await getToken(endpoint, tool, env.AZURE_TENANT_ID);
  let removed = 0;
  for (const revocation of list) {
    const targets = [];
    for (const assignment of revocation.assignments) {
      if (await existing(endpoint, token, revocation, assignment)) targets.push(assignment);
    }
    if (targets.length === 0) continue;
    const remainingMs = revocation.replacedAt + waitMs - Date.now();
    if (remainingMs > 0) {
      log(
        `waiting ${Math.ceil(remainingMs / 1000)} s for the roles granted at ${new Date(revocation.replacedAt).toISOString()} to propagate before removing the ones they replace on ${revocation.scope}`,
      );
      await sleep(remainingMs);
    }
    for (const assignment of targets) {
      const role = REVOCABLE_ROLES[assignment.role];
      const result = await armRequest({ method: 'DELETE', url: url(endpoint, assignment.id), token });
      if (result.status !== 200 && result.status !== 204 && result.status !== 404) {
        throw new HookError(
          `could not remove ${role} of ${revocation.principalId} on ${revocation.scope} (HTTP ${result.status} ${result.error.code}: ${result.error.message}); ` +
            `it is broader than what the template now grants: remove it with \`az role assignment delete --ids ${assignment.id}\``,
        );
      }
      removed += 1;
      log(`removed ${role} of ${revocation.principalId} on ${revocation.scope}`);
    }
  }
  log(removed === 0 ? 'no replaced role is left' : `removed ${removed} replaced role assignment(s)`);
}

main(process.argv.slice(2), process.env).catch((error) => reportFailure(NAME, error));
