#!/usr/bin/env node
'use strict';
// azd postprovision hook (azure.yaml): waits, when needed, until the Function App identity's
// storage role is old enough to have reached the storage service, so that the deploy that follows
// does not fail.
//
// Why: on a first `azd up` the role assignments are minutes old when azd deploys. Flex Consumption
// writes the package into the host's storage account with the app's identity, and until the new
// Storage Blob Data Owner assignment has propagated, that upload is refused with 403
// (InaccessibleStorageException / AuthorizationPermissionMismatch; Azure/azure-dev#8026). Running
// `azd deploy` again a little later succeeds; this hook makes the first one wait instead.
//
// How long: the template outputs when the assignment was created (AZURE_APP_STORAGE_ROLE_CREATED_ON,
// which azd passes to hooks as an environment variable). The hook waits until that moment plus
// GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS (default 300; 0 turns the wait off). On a redeploy the
// assignment is old and the hook returns at once. It needs no credentials: it only reads the clock.
const DEFAULT_PROPAGATION_SECONDS = 300;

function log(message) {
  console.log(`wait-for-role-propagation: ${message}`);
}

const createdOn = process.env.AZURE_APP_STORAGE_ROLE_CREATED_ON ?? '';
const configured = process.env.GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS;
const propagationSeconds =
  configured === undefined || configured === '' ? DEFAULT_PROPAGATION_SECONDS : Number(configured);

if (!Number.isFinite(propagationSeconds) || propagationSeconds < 0) {
  console.error(
    `wait-for-role-propagation: GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS=${configured} is not a number of seconds`,
  );
  process.exit(2);
}

const created = Date.parse(createdOn);
if (Number.isNaN(created)) {
  // Not fatal: without the time, deploying is what it was before this hook.
  log(
    `AZURE_APP_STORAGE_ROLE_CREATED_ON is ${createdOn === '' ? 'not set' : `"${createdOn}", not a time`}; not waiting`,
  );
  process.exit(0);
}

const remainingMs = created + propagationSeconds * 1000 - Date.now();
if (remainingMs <= 0) {
  log(`the app's storage role was granted at ${new Date(created).toISOString()}; no wait needed`);
  process.exit(0);
}

log(
  `the app's storage role was granted at ${new Date(created).toISOString()}; waiting ${Math.ceil(remainingMs / 1000)} s for it to propagate before azd deploys (GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS=${propagationSeconds})`,
);
setTimeout(() => log('done'), remainingMs);
