import type { ContainerClient } from '@azure/storage-blob';
import { schemaProblems, type DocumentKind } from '../../src/contract/schemas';

/**
 * Validates every document gallery-export wrote to a container against its JSON Schema: manifests, run
 * records, per-author outcomes, erasure records and the purge's own markers and plans. Tests that write call this on what they produced.
 * Returns how many documents of each kind were checked, and every problem found.
 */
export async function validateStoredDocuments(
  container: ContainerClient,
): Promise<{ checked: Record<DocumentKind, number>; problems: string[] }> {
  const checked: Record<DocumentKind, number> = {
    manifest: 0,
    run: 0,
    outcome: 0,
    erasure: 0,
    'erasure-marker': 0,
    'erasure-plan': 0,
    signature: 0,
    'audit-entry': 0,
    'erasure-request': 0,
    'erasure-request-record': 0,
    'erasure-request-event': 0,
    'erasure-status': 0,
    'export-request': 0,
    'client-principal': 0,
  };
  const problems: string[] = [];
  for await (const blob of container.listBlobsFlat()) {
    const kind = kindOf(blob.name);
    if (!kind) continue;
    const document = JSON.parse(
      (await container.getBlockBlobClient(blob.name).downloadToBuffer()).toString('utf8'),
    ) as unknown;
    checked[kind]++;
    for (const problem of schemaProblems(kind, document)) problems.push(`${blob.name}: ${problem}`);
  }
  return { checked, problems };
}

function kindOf(name: string): DocumentKind | undefined {
  if (/^snapshots\/.+\/manifest\.json$/.test(name)) return 'manifest';
  if (/^snapshots\/.+\/signature\.json$/.test(name) || /^erasures\/[^/]+\.signature\.json$/.test(name))
    return 'signature';
  if (/^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(name)) return 'run';
  if (/^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\/(attempts\/[^/]+\/)?[^/]+\.json$/.test(name)) return 'outcome';
  if (/^runs\/.+\/(claims|progress)\/[^/]+\.json$/.test(name)) return undefined;
  if (/^erasures\/[^/]+\.json$/.test(name)) return 'erasure';
  if (/^(purge-progress|erasures\/begun)\/[0-9a-f]{64}\/[^/]+\.json$/.test(name)) return 'erasure-marker';
  if (/^purge-progress\/[0-9a-f]{64}\/[^/]+\/plan\.json$/.test(name)) return 'erasure-plan';
  if (/^purge-progress\/[0-9a-f]{64}\/[^/]+\/record\.json$/.test(name)) return 'erasure';
  if (/^audit\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(name)) return 'audit-entry';
  if (/^erasure-requests\/[^/]+\.json$/.test(name)) return 'erasure-request-record';
  if (/^erasure-requests\/[^/]+\/[^/]+\.json$/.test(name)) return 'erasure-request-event';
  return undefined;
}
