/**
 * What was proven of one snapshot before it was handed out (`get`, `report`, the HTTP bundle), so that the
 * bundle's README and report.html say exactly what was checked, and never claim a check that was not made.
 */
export interface SnapshotProofSummary {
  /** Every file the manifest lists was re-hashed and matched its size and SHA-256. */
  filesChecked: true;
  signature:
    | {
        /** The signature covers the manifest's exact bytes and verifies with the archive's key version. */
        state: 'verified';
        keyId: string;
        /** Where the public key came from: the vault, or the PEM files given. */
        checkedWith: string;
      }
    | {
        /** The signature covers the manifest's exact bytes, but no public key was at hand to verify it. */
        state: 'not-checked';
        keyId: string;
        reason: string;
      }
    | { state: 'unsigned' };
  chain:
    /** The manifest says it is the author's first snapshot, and no older one is stored. */
    | { state: 'first' }
    /** The previous snapshot is stored and its manifest is the one this manifest names. */
    | { state: 'linked'; runId: string }
    /** The previous snapshot is gone or unreadable for a reason on record (an erasure, the retention rule). */
    | { state: 'explained'; runId: string; why: string }
    /** The manifest was written before snapshots named their predecessor. */
    | { state: 'not-recorded' };
  /** When the checks were made (ISO 8601, UTC). */
  checkedAt: string;
}

/** Each check made before a bundle was handed out, one sentence each; none is claimed that was not made. */
export function describeProof(summary: SnapshotProofSummary): string[] {
  const signature =
    summary.signature.state === 'verified'
      ? `the signature was checked: manifest.json verifies with key version ${summary.signature.keyId} (${summary.signature.checkedWith})`
      : summary.signature.state === 'not-checked'
        ? `the signature covers the exact bytes of manifest.json, but it was not checked against a public key: ${summary.signature.reason}`
        : 'the snapshot is not signed: nothing shows who made it, only that the files match the manifest';
  const chain =
    summary.chain.state === 'linked'
      ? `its link to the previous export of this author (run ${summary.chain.runId}) holds: that export's manifest is stored unchanged`
      : summary.chain.state === 'first'
        ? 'it is the first export of this author, and no older one is stored'
        : summary.chain.state === 'explained'
          ? `the previous export of this author (run ${summary.chain.runId}) is not checked: ${summary.chain.why}`
          : 'it was written before exports named their predecessor: no chain link to check';
  return [
    'every file listed in manifest.json was read back from the archive and matches its size and SHA-256',
    signature,
    chain,
  ];
}
