/**
 * Errors the emulator answers with, in Key Vault's wire shape
 * `{"error":{"code","message","innererror":{"code"}}}`. The SDK turns that body into a
 * `RestError` whose `code` and `message` come from `error.code` and `error.message`, so the
 * codes and messages below follow the real service closely enough for callers to branch on them.
 */

/** The JSON body of every error response. */
export interface VaultErrorBody {
  error: { code: string; message: string; innererror?: { code: string } };
}

/**
 * A request the emulator refuses, with the HTTP status and Key Vault error code to answer with.
 * Also thrown by the emulator's direct (non-HTTP) seeding API, so a bad seed fails the same way
 * a bad `PUT` would. Messages never contain a secret value.
 */
export class VaultError extends Error {
  override readonly name = 'VaultError';

  constructor(
    /** HTTP status to answer with. */
    readonly status: number,
    /** Key Vault's `error.code`, e.g. `SecretNotFound`. */
    readonly code: string,
    message: string,
    /** Key Vault's `error.innererror.code`, when the service sends one. */
    readonly innerCode?: string,
  ) {
    super(message);
  }

  toBody(): VaultErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.innerCode === undefined ? {} : { innererror: { code: this.innerCode } }),
      },
    };
  }
}

export function badParameter(message: string): VaultError {
  return new VaultError(400, 'BadParameter', message);
}

export function secretNotFound(name: string, version?: string): VaultError {
  const id = version === undefined ? name : `${name}/${version}`;
  return new VaultError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${id} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`,
  );
}

export function deletedSecretNotFound(name: string): VaultError {
  return new VaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

export function secretDisabled(operation: string): VaultError {
  return new VaultError(
    403,
    'Forbidden',
    `Operation ${operation} is not allowed on a disabled secret.`,
    'SecretDisabled',
  );
}

export function secretDeletedButRecoverable(name: string): VaultError {
  return new VaultError(
    409,
    'Conflict',
    `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    'ObjectIsDeletedButRecoverable',
  );
}

/** For a route or option the emulator does not implement: said plainly rather than faked. */
export function notImplemented(message: string): VaultError {
  return new VaultError(501, 'NotImplemented', message);
}

export function keyNotFound(name: string, version?: string): VaultError {
  const id = version === undefined ? name : `${name}/${version}`;
  return new VaultError(
    404,
    'KeyNotFound',
    `A key with (name/id) ${id} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command.`,
  );
}

export function deletedKeyNotFound(name: string): VaultError {
  return new VaultError(404, 'KeyNotFound', `Deleted Key not found: ${name}`);
}

/**
 * The service refuses the private-key operations (sign, decrypt, unwrapKey) on a disabled key; get,
 * verify, encrypt and wrapKey still work, since they need only the public half.
 */
export function keyDisabled(operation: string): VaultError {
  return new VaultError(
    403,
    'Forbidden',
    `Operation ${operation} is not allowed on a disabled key.`,
    'KeyDisabled',
  );
}

/** The operation is missing from the key's `key_ops`. */
export function keyOperationForbidden(operation: string): VaultError {
  return new VaultError(
    403,
    'Forbidden',
    `Operation ${operation} is not permitted on this key.`,
    'KeyOperationForbidden',
  );
}

export function keyDeletedButRecoverable(name: string): VaultError {
  return new VaultError(
    409,
    'Conflict',
    `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
    'ObjectIsDeletedButRecoverable',
  );
}
