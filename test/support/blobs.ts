import { access } from 'node:fs/promises';
import type { ContainerClient } from '@azure/storage-blob';
import { serializeDocument } from '../../src/contract/formats';

/** Small storage and file helpers the end-to-end suites share. */

export async function blobsUnder(container: ContainerClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of container.listBlobsFlat({ prefix })) names.push(item.name);
  return names;
}

export async function blob(container: ContainerClient, path: string): Promise<Buffer> {
  return container.getBlockBlobClient(path).downloadToBuffer();
}

/** Writes a blob as an outside writer with storage rights would (not gallery-export: no condition, no tags). */
export async function put(container: ContainerClient, path: string, body: Buffer): Promise<void> {
  await container.getBlockBlobClient(path).upload(body, body.length);
}

/** A JSON document written the way gallery-export serialises them. */
export async function putDocument(
  container: ContainerClient,
  path: string,
  document: unknown,
): Promise<void> {
  await put(container, path, serializeDocument(document));
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
