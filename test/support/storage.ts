import { randomBytes } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

/** A container name of its own for each test, so tests sharing one Azurite never see each other's data. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export function containerFor(connectionString: string, name: string): ContainerClient {
  return BlobServiceClient.fromConnectionString(connectionString).getContainerClient(name);
}

/** Every blob in the container with its bytes, content type and tags. */
export async function readAllBlobs(
  container: ContainerClient,
  prefix?: string,
): Promise<Map<string, { body: Buffer; contentType: string | undefined; tags: Record<string, string> }>> {
  const blobs = new Map<
    string,
    { body: Buffer; contentType: string | undefined; tags: Record<string, string> }
  >();
  for await (const item of container.listBlobsFlat({ prefix, includeTags: true })) {
    const client = container.getBlockBlobClient(item.name);
    const body = await client.downloadToBuffer();
    blobs.set(item.name, { body, contentType: item.properties.contentType, tags: item.tags ?? {} });
  }
  return blobs;
}
