#!/usr/bin/env node
'use strict';
// azd postprovision hook (azure.yaml): creates the signing key SIGNING_KEY_NAME in the vault, as the
// template would, once the deploying account's Key Vault Crypto Officer role has reached Key Vault.
//
// Why not in the template: when ARM creates a key (`Microsoft.KeyVault/vaults/keys`), Key Vault checks
// the *caller's* own data-plane rights (ForbiddenByRbac ... Action: 'Microsoft.KeyVault/vaults/keys/read'
// for a plain subscription Owner: Azure/bicep#6539, #7864). The template grants the deployer Key Vault
// Crypto Officer on the vault, but a new assignment takes minutes to reach Key Vault (Azure RBAC: up
// to 10), and a deployment cannot wait for it. This hook can: it sends the request the template would
// have sent (PUT <vault>/keys/<name>, Key Vault's "create if not exist") and, while Key Vault still
// answers ForbiddenByRbac within GALLERY_EXPORT_KEY_ROLE_WAIT_SECONDS (900) of the role's creation,
// tries again every GALLERY_EXPORT_KEY_RETRY_SECONDS (15).
//
// Running it again is harmless: Key Vault creates the key only when it does not exist; for an existing
// key the PUT returns it as it is (no new version, no change, the rotation policy included). It goes
// through ARM rather than the vault's own endpoint, so it needs no network path to the vault (a
// private vault's resource provider is expected to accept it, as it does secrets: not verified here).
//
// Reads the template's outputs (azd passes them as environment variables): AZURE_RESOURCE_MANAGER_ENDPOINT,
// AZURE_KEY_VAULT_ID, SIGNING_KEY_NAME, SIGNING_KEY_PROPERTIES (the key's ARM properties, JSON) and
// AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON (empty when the template granted nobody the role).
// Signs in with `azd auth token`; `--az` uses `az account get-access-token` (after `az deployment`).
// Exit code 0: the key exists; 1: it could not be created (the message says why and what to do);
// 2: a setting is missing or malformed.
const {
  HookError,
  armRequest,
  getToken,
  inputError,
  reportFailure,
  resourceId,
  resourceManagerEndpoint,
  sleep,
} = require('./lib/arm');

const NAME = 'create-signing-key';
// Key Vault's ARM API version the template used for the key (and uses for the vault).
const API_VERSION = '2024-11-01';
const DEFAULT_ROLE_WAIT_SECONDS = 900;
const DEFAULT_RETRY_SECONDS = 15;
const PROGRESS_EVERY_MS = 60_000;
const VAULT_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[a-zA-Z0-9-]{3,24}$/i;
const KEY_NAME = /^[a-zA-Z0-9-]{1,127}$/;
const KEY_TYPES = new Set(['RSA', 'RSA-HSM']);

function log(message) {
  console.log(`${NAME}: ${message}`);
}

function seconds(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw inputError(`${name}=${raw} is not a number of seconds`);
  return value;
}

/** The key's ARM properties from the template, checked before they are sent anywhere. */
function keyProperties(env) {
  const raw = env.SIGNING_KEY_PROPERTIES;
  if (raw === undefined || raw === '')
    throw inputError('SIGNING_KEY_PROPERTIES is not set (an output of the template)');
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw inputError('SIGNING_KEY_PROPERTIES is not JSON');
  }
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    KEY_TYPES.has(parsed.kty) &&
    Number.isInteger(parsed.keySize) &&
    parsed.keySize >= 3072 &&
    Array.isArray(parsed.keyOps) &&
    parsed.keyOps.length > 0 &&
    parsed.keyOps.every((op) => op === 'sign' || op === 'verify') &&
    (parsed.rotationPolicy === undefined ||
      (typeof parsed.rotationPolicy === 'object' && parsed.rotationPolicy !== null));
  if (!valid) {
    throw inputError(
      'SIGNING_KEY_PROPERTIES is not an RSA signing key of at least 3072 bits (kty, keySize, keyOps sign/verify)',
    );
  }
  return parsed;
}

/** When the deployer's Crypto Officer role was created, or undefined when the template granted none. */
function roleCreatedAt(env) {
  const raw = env.AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON;
  if (raw === undefined || raw === '') return undefined;
  const time = Date.parse(raw);
  if (Number.isNaN(time)) throw inputError(`AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON "${raw}" is not a time`);
  return time;
}

function isForbiddenByRbac(result) {
  return (
    (result.status === 400 || result.status === 403) &&
    (result.error?.code === 'ForbiddenByRbac' || /ForbiddenByRbac/.test(result.error?.message ?? ''))
  );
}

function failure(result, { vaultName, keyName, vaultId, grantedAt, attempts }) {
  const what = `Key Vault refused to create the key ${keyName} in ${vaultName} (HTTP ${result.status} ${result.error.code}: ${result.error.message.split(/\r?\n/)[0]})`;
  if (isForbiddenByRbac(result) && grantedAt !== undefined && attempts > 1) {
    return new HookError(
      `${what}, still, ${Math.round((Date.now() - grantedAt) / 1000)} s after the deploying account was granted Key Vault Crypto Officer ` +
        `(${attempts} attempts). Role assignments can take longer to reach Key Vault: run this hook again in a few minutes ` +
        `(azd provision, or node scripts/create-signing-key.js); GALLERY_EXPORT_KEY_ROLE_WAIT_SECONDS sets how long it waits.`,
    );
  }
  if (isForbiddenByRbac(result)) {
    return new HookError(
      `${what}. The signed-in account needs Key Vault Crypto Officer on the vault: deploy with principalId set to its object ID ` +
        `(azd does), or grant it (az role assignment create --role "Key Vault Crypto Officer" --assignee <object id> --scope ${vaultId}), ` +
        `wait a few minutes, and run this hook again (azd provision, or node scripts/create-signing-key.js).`,
    );
  }
  if (result.status === 409) {
    return new HookError(
      `${what}. A deleted key of that name is probably being kept (soft delete): recover it ` +
        `(az keyvault key recover --vault-name ${vaultName} --name ${keyName}) and run this hook again, or choose another signingKeyName.`,
    );
  }
  if (result.status === 401) {
    return new HookError(
      `${what}. The sign-in is not valid for Azure Resource Manager: sign in again (azd auth login).`,
    );
  }
  return new HookError(`${what}. Check the vault in the portal (Activity log) and run this hook again.`);
}

async function main(argv, env) {
  const tool = argv.includes('--az') ? 'az' : 'azd';
  const endpoint = resourceManagerEndpoint(env);
  const vaultId = resourceId(env, 'AZURE_KEY_VAULT_ID', VAULT_ID);
  const vaultName = vaultId.split('/').pop();
  const keyName = env.SIGNING_KEY_NAME ?? '';
  if (!KEY_NAME.test(keyName)) throw inputError(`SIGNING_KEY_NAME "${keyName}" is not a Key Vault key name`);
  const properties = keyProperties(env);
  const grantedAt = roleCreatedAt(env);
  const waitMs = seconds(env, 'GALLERY_EXPORT_KEY_ROLE_WAIT_SECONDS', DEFAULT_ROLE_WAIT_SECONDS) * 1000;
  const retryMs = seconds(env, 'GALLERY_EXPORT_KEY_RETRY_SECONDS', DEFAULT_RETRY_SECONDS) * 1000;
  const waitUntil = grantedAt === undefined ? -Infinity : grantedAt + waitMs;

  const url = `${endpoint}${vaultId.replace(/^\//, '')}/keys/${keyName}?api-version=${API_VERSION}`;
  let token = await getToken(endpoint, tool, env.AZURE_TENANT_ID);
  let refreshedToken = false;
  let lastProgress = -Infinity;
  for (let attempt = 1; ; attempt += 1) {
    const result = await armRequest({ method: 'PUT', url, token, body: { properties } });
    if (result.status === 200 || result.status === 201) {
      const existing = result.body?.properties ?? {};
      const keyUri =
        typeof existing.keyUriWithVersion === 'string'
          ? existing.keyUriWithVersion
          : '(no key URI in the answer)';
      log(`the signing key ${keyName} is in ${vaultName}: ${keyUri}`);
      if (typeof existing.kty === 'string' && existing.kty !== properties.kty) {
        log(
          `warning: the existing key is ${existing.kty} but the template asks for ${properties.kty} (keyVaultSku changed?); ` +
            'Key Vault never changes an existing key: keep it, or create a new one under another signingKeyName',
        );
      }
      return;
    }
    if (result.status === 401 && !refreshedToken) {
      refreshedToken = true;
      token = await getToken(endpoint, tool, env.AZURE_TENANT_ID);
      continue;
    }
    const now = Date.now();
    if (isForbiddenByRbac(result) && now < waitUntil) {
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        log(
          `Key Vault does not yet see the Key Vault Crypto Officer role granted at ${new Date(grantedAt).toISOString()}; ` +
            `trying again every ${retryMs / 1000} s for up to ${Math.ceil((waitUntil - now) / 1000)} s more (attempt ${attempt})`,
        );
      }
      await sleep(Math.min(retryMs, Math.max(waitUntil - now, 0)));
      continue;
    }
    throw failure(result, { vaultName, keyName, vaultId, grantedAt, attempts: attempt });
  }
}

main(process.argv.slice(2), process.env).catch((error) => reportFailure(NAME, error));
