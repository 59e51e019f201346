import type { ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../contract/authorId';
import { GalleryExportError } from '../contract/errors';
import type { Manifest } from '../contract/formats';
import type { SnapshotLocation } from '../contract/layout';
import type { SnapshotProofSummary } from '../contract/proof';
import { readErasureEvidence } from './erasureEvidence';
import { nextStep } from './nextSteps';
import { takeInventory } from './snapshotListing';
import { InventoryChainContext, judgeLink, judgeSuccessor } from './verifyChain';
import { verifyComplete, type ManifestCheckOptions } from './verifyManifest';
import type { VerifyOptions, VerifyProblem } from './verifyTypes';

export interface ProofRequest {
  authorId: string;
  /** A run ID; undefined for the author's latest snapshot that has a manifest. */
  runId?: string | undefined;
}

export type ProofOptions = ManifestCheckOptions & Pick<VerifyOptions, 'retentionDays' | 'now'>;

/** A snapshot that passed every check `verify` makes of it, and what those checks were. */
export interface ProvenSnapshot {
  location: SnapshotLocation;
  manifest: Manifest;
  /** The manifest's exact bytes, which its signature and the next snapshot's link cover. */
  manifestBytes: Buffer;
  /** signature.json's exact bytes, when the snapshot is signed. */
  signatureBytes: Buffer | undefined;
  /** What was proven (files as checked by `hashFiles`; `get` re-hashes them as it downloads them). */
  summary: SnapshotProofSummary;
}

/** A snapshot that fails its proof: never handed out. Each problem is named, with what to do about it. */
export class SnapshotNotProvenError extends GalleryExportError {
  constructor(
    readonly location: SnapshotLocation,
    readonly problems: readonly VerifyProblem[],
  ) {
    super(
      'SNAPSHOT_DAMAGED',
      [
        `Snapshot ${location.runId} of author ${location.authorId} fails its proof and is not handed out:`,
        ...problems.flatMap((problem) => [
          `  ${problem.kind}: ${problem.path}: ${problem.detail}`,
          `    next: ${nextStep(problem, location.authorId)}`,
        ]),
      ].join('\n'),
      { details: { snapshot: location.prefix, problems: problems.length } },
    );
  }
}

/**
 * Proves one snapshot as `verify` would check it, before anything of it is handed out: the manifest
 * (valid, of this snapshot), every file it lists (stored, and re-hashed unless the caller hashes them as it
 * reads them), no file it does not list, the signature (when the snapshot is signed, or always with
 * `requireSignatures`; verified when keys are given), and the link to its predecessor, judged against the
 * whole archive of the author and the erasure records. Throws SnapshotNotProvenError naming every problem.
 */
export async function proveSnapshot(
  container: ContainerClient,
  request: ProofRequest,
  options: ProofOptions,
): Promise<ProvenSnapshot> {
  const { authorId } = request;
  const { folders } = await takeInventory(container, { authorId, signal: options.signal });
  const complete = folders.filter((folder) => folder.hasManifest);
  const folder = request.runId
    ? complete.find((candidate) => candidate.runId === request.runId)
    : complete[0];
  if (!folder) {
    throw new GalleryExportError(
      'SNAPSHOT_NOT_FOUND',
      request.runId
        ? `No complete snapshot of author ${authorId} in run ${request.runId} (gallery-export list --author ${authorId} shows the stored ones)`
        : `No complete snapshot of author ${authorId} (gallery-export list --author ${authorId}; gallery-export erasures --author ${authorId} shows an erasure)`,
    );
  }
  if (folder.archived) {
    throw new GalleryExportError(
      'SNAPSHOT_ARCHIVED',
      `The manifest of ${folder.prefix} is in the Archive tier: rehydrate the snapshot's blobs to the Cool or Hot tier (az storage blob set-tier --tier Cool) and try again`,
    );
  }
  const checked = await verifyComplete(container, folder, options);
  const problems: VerifyProblem[] = [...checked.result.problems];
  const { manifest, manifestBytes, signature, signatureBytes } = checked;
  let chain: SnapshotProofSummary['chain'] | undefined;
  if (manifest && manifestBytes && checked.manifestSha256) {
    const evidence = await readErasureEvidence(container, {
      ...options,
      authorIdSha256: authorIdDigest(authorId),
    });
    // Half erased is not handed out: the erasure that began must be finished first.
    problems.push(...evidence.problems.filter((problem) => problem.kind === 'erasure-unfinished'));
    const context = new InventoryChainContext(
      container,
      folders,
      evidence,
      options.retentionDays,
      options.now ?? new Date(),
      options.signal,
    );
    context.remember(folder, checked.manifestSha256, manifest);
    const chained = {
      authorId: folder.authorId,
      runId: folder.runId,
      prefix: folder.prefix,
      manifest,
      manifestSha256: checked.manifestSha256,
      signed: checked.signed === true,
    };
    const link = await judgeLink(chained, context);
    if (link.ok) chain = link.chain;
    else problems.push(link.problem);
    // Replaced after its successor was written: the successor's link says so.
    const fromSuccessor = await judgeSuccessor(chained, context);
    if (fromSuccessor) problems.push(fromSuccessor);
  }
  if (signature?.ok && !signature.verified) {
    // A signature nobody checked proves nothing: it could be anyone's.
    problems.push({
      path: `${folder.prefix}signature.json`,
      kind: 'signature-unchecked',
      detail: `the snapshot is signed (by ${signature.keyId}, it says), and no public key is at hand to check it`,
    });
  }
  if (problems.length > 0 || !manifest || !manifestBytes || !chain) {
    throw new SnapshotNotProvenError(folder, problems);
  }
  return {
    location: { authorId: folder.authorId, runId: folder.runId, prefix: folder.prefix },
    manifest,
    manifestBytes,
    signatureBytes,
    summary: {
      filesChecked: true,
      signature: signature?.ok
        ? { state: 'verified', keyId: signature.keyId, checkedWith: options.keys!.source }
        : { state: 'unsigned' },
      chain,
      checkedAt: (options.now ?? new Date()).toISOString(),
    },
  };
}
