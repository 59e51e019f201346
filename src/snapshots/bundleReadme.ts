import { describeProof } from '../contract/proof';
import type { ProvenSnapshot } from './proveSnapshot';

/** README.txt of a subject-access bundle: what the files are, and exactly what was checked before it was handed out. */
export function describeBundle(proof: Pick<ProvenSnapshot, 'manifest' | 'summary'>): string {
  const { manifest, summary } = proof;
  const signed = summary.signature.state !== 'unsigned';
  const files = manifest.files.map(
    (file) => `  ${file.name.padEnd(14)} ${String(file.bytes).padStart(10)} bytes  SHA-256 ${file.sha256}`,
  );
  const unlisted = manifest.includesUnlisted
    ? 'It includes unlisted (hidden) entities: the access token on file was valid when the export ran.'
    : `It does NOT include unlisted entities (access token: ${manifest.token.status}).`;
  return [
    'Azure AI Gallery data export',
    '============================',
    '',
    `Author ID:   ${manifest.authorId}`,
    `Exported:    ${manifest.completedAt} (run ${manifest.runId}, started by ${manifest.trigger})`,
    `Source:      ${manifest.source.baseUrl}`,
    `Entities:    ${manifest.counts.entities} (${manifest.counts.unlisted} unlisted)`,
    '',
    'This folder holds everything the Azure AI Gallery Catalog API returned for this author when the export',
    `ran. ${unlisted}`,
    '',
    'Files:',
    '  profile.json   the author profile, exactly as the Catalog API returned it (GET /users/<author ID>)',
    '  entities.json  every entity the author published, one JSON array ordered by id, each entity exactly',
    '                 as the Catalog API returned it',
    '  manifest.json  what was exported, when and how, with the size and SHA-256 of each file',
    ...(signed
      ? [
          '  signature.json the signature of manifest.json, made by a Key Vault key that never leaves the vault;',
          '                 check it with the public key (gallery-export public-key --out key.pem):',
          '                   jq -r .signature signature.json | base64 -d > signature.bin',
          '                   openssl dgst -sha256 -verify key.pem -signature signature.bin manifest.json',
        ]
      : []),
    '  SHA256SUMS     the same hashes for checking: sha256sum -c SHA256SUMS',
    '  report.html    the same, for a person to read in a browser',
    '  README.txt     this file',
    '',
    ...files,
    '',
    `Checked before this bundle was handed out (${summary.checkedAt}):`,
    ...describeProof(summary).map((line) => `  - ${line}`),
    ...(manifest.warnings.length > 0
      ? ['', 'Notes:', ...manifest.warnings.map((warning) => `  - ${warning}`)]
      : []),
    '',
    `Produced by ${manifest.generator.name} ${manifest.generator.version}.`,
    '',
  ].join('\n');
}
