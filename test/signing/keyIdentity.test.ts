import { generateKeyPairSync } from 'node:crypto';
import { parseKeyId, parseVaultUrl, sameKeyVersion, sameVault } from '../../src/signing/keyIdentity';
import { describePublicKey, parsePemKeys } from '../../src/signing/publicKeys';

/** Key versions compared for what they mean (vault, key, version), never as URL strings. */
const vault = (url: string) => parseVaultUrl(url)!;

test('one vault however it is spelled: case, trailing slash, default port', () => {
  const canonical = vault('https://kv-example.vault.azure.net');
  for (const spelling of [
    'https://KV-Example.vault.azure.net/',
    'https://kv-example.vault.azure.net:443',
    'https://kv-example.vault.azure.net./',
  ]) {
    expect(sameVault(vault(spelling), canonical)).toBe(true);
  }
  expect(sameVault(vault('https://kv-other.vault.azure.net'), canonical)).toBe(false);
  expect(sameVault(vault('http://kv-example.vault.azure.net'), canonical)).toBe(false);
  expect(sameVault(vault('https://kv-example.vault.azure.net:8443'), canonical)).toBe(false);
});

test('the loopback emulator is one vault on any port; a remote vault is never loopback', () => {
  expect(sameVault(vault('http://127.0.0.1:36061'), vault('http://127.0.0.1:41234/'))).toBe(true);
  expect(sameVault(vault('http://LOCALHOST:1'), vault('http://127.0.0.1:2'))).toBe(true);
  expect(sameVault(vault('http://127.0.0.1:1'), vault('https://kv.vault.azure.net'))).toBe(false);
});

test('keyIds: vault, name and version; anything else is not a key version', () => {
  const id = parseKeyId('https://kv.vault.azure.net/keys/Signing/0123456789ABCDEF0123456789abcdef');
  expect(id).toMatchObject({ name: 'Signing', version: '0123456789ABCDEF0123456789abcdef' });
  expect(
    sameKeyVersion(
      id!,
      parseKeyId('https://KV.vault.azure.net/keys/signing/0123456789abcdef0123456789abcdef/')!,
    ),
  ).toBe(true);
  for (const bad of [
    'https://kv.vault.azure.net/keys/signing',
    'https://kv.vault.azure.net/secrets/signing/0123',
    'https://kv.vault.azure.net/keys/sign ing/0123',
    'https://kv.vault.azure.net/keys/signing/01-23',
    'ftp://kv.vault.azure.net/keys/signing/0123',
    'not a url',
  ]) {
    expect(parseKeyId(bad)).toBeUndefined();
  }
  expect(
    sameKeyVersion(
      id!,
      parseKeyId('https://kv.vault.azure.net/keys/signing/ffffffffffffffffffffffffffffffff')!,
    ),
  ).toBe(false);
});

test('a PEM file holds several keys, each labelled with its keyId or bare', () => {
  const key = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const [a, b, c] = [key(), key(), key()];
  const text = [
    describePublicKey('https://kv.vault.azure.net/keys/signing/aaaa', a),
    describePublicKey('https://kv.vault.azure.net/keys/signing/bbbb', b),
    c.export({ type: 'spki', format: 'pem' }).toString(),
    c.export({ type: 'pkcs1', format: 'pem' }).toString(),
  ].join('');
  const keys = parsePemKeys(text)!;
  expect(keys.map((entry) => entry.keyId)).toEqual([
    'https://kv.vault.azure.net/keys/signing/aaaa',
    'https://kv.vault.azure.net/keys/signing/bbbb',
    undefined,
    undefined,
  ]);
  expect(keys.map((entry) => entry.key.equals(c))).toEqual([false, false, true, true]);
  expect(parsePemKeys('-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n')).toBeUndefined();
  expect(parsePemKeys('no key here')).toEqual([]);
});
