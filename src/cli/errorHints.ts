import type { GalleryExportError } from '../contract/errors';

/**
 * The next step after an error, when its message does not already give one: what to check, with the
 * setting's name, or the command that fixes it. Keyed by the error's stable code.
 */
export function nextStepFor(error: GalleryExportError): string | undefined {
  const says = (text: string): boolean => error.message.includes(text);
  switch (error.code) {
    case 'AUTHOR_NOT_REGISTERED':
      return 'Register it with: gallery-export register-author --label <label> --author-id <author ID> --token-stdin (gallery-export authors lists the registered authors).';
    case 'VAULT_UNAVAILABLE':
      return says('KEY_VAULT_URL')
        ? undefined
        : 'Check KEY_VAULT_URL and that the vault is reachable from here (in Azure: the identity and its role).';
    case 'SIGNING_FAILED':
      return says('SIGNING_KEY_NAME')
        ? undefined
        : "Check SIGNING_KEY_NAME (a key in KEY_VAULT_URL's vault) and the identity's Key Vault Crypto User role.";
    case 'CATALOG_UNAVAILABLE':
      return says('CATALOG_BASE_URL')
        ? undefined
        : 'Check CATALOG_BASE_URL and that the catalog is reachable from here.';
    case 'STORAGE_UNAVAILABLE':
      return says('EXPORT_STORAGE')
        ? undefined
        : 'Check EXPORT_STORAGE and EXPORT_CONTAINER, and that the storage account is reachable from here.';
    case 'RUN_LOCKED':
      return 'Wait for it to finish; the lock of a run or purge that died frees itself within RUN_LOCK_SECONDS.';
    default:
      return undefined;
  }
}
