import { isLoopbackHost } from '../contract/loopback';

/**
 * Which key version a signature names, compared by what it means (vault, key, version), never as a
 * URL string: `https://Vault.vault.azure.net/`, `https://vault.vault.azure.net:443` and the same with a
 * trailing slash are one vault, and so are two ports of the loopback emulator, which takes a new port
 * at every start while its keys stay the same.
 */

export interface VaultName {
  protocol: string;
  /** Lower case, without a trailing dot. */
  host: string;
  /** Empty for the protocol's default port. */
  port: string;
  loopback: boolean;
}

export interface KeyVersionName {
  vault: VaultName;
  name: string;
  version: string;
}

/** Key Vault object names: 1-127 letters, digits and dashes; versions are letters and digits. */
const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
const KEY_VERSION = /^[0-9A-Za-z]{1,64}$/;

export function parseVaultUrl(value: string): VaultName | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  // URL already lower-cases the host and drops the protocol's default port.
  const host = url.hostname.replace(/\.$/, '');
  return { protocol: url.protocol, host, port: url.port, loopback: isLoopbackHost(host) };
}

/** `https://<vault>/keys/<name>/<version>` in its parts; undefined for anything else. */
export function parseKeyId(keyId: string): KeyVersionName | undefined {
  const vault = parseVaultUrl(keyId);
  if (!vault) return undefined;
  const path = new URL(keyId).pathname.split('/').filter((part) => part !== '');
  if (path.length !== 3 || path[0] !== 'keys') return undefined;
  const [, name, version] = path as [string, string, string];
  if (!KEY_NAME.test(name) || !KEY_VERSION.test(version)) return undefined;
  return { vault, name, version };
}

/** One vault however it is spelled; any two loopback addresses are the one local emulator. */
export function sameVault(a: VaultName, b: VaultName): boolean {
  if (a.loopback && b.loopback) return true;
  return a.protocol === b.protocol && a.host === b.host && a.port === b.port;
}

/** Key Vault treats key names and versions without regard to case. */
export function sameKeyName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function sameKeyVersion(a: KeyVersionName, b: KeyVersionName): boolean {
  return sameVault(a.vault, b.vault) && sameKeyName(a.name, b.name) && sameKeyName(a.version, b.version);
}

/** `vault.vault.azure.net` (with its port when it has one), for messages. */
export function describeVault(vault: VaultName): string {
  return vault.port ? `${vault.host}:${vault.port}` : vault.host;
}
