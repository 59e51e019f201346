import type { Manifest, SignatureDocument } from '../contract/formats';
import { describeProof, type SnapshotProofSummary } from '../contract/proof';
import { countHtml } from './entityFacts';
import { catalogText, catalogValueText, escapeHtml } from './htmlText';
import { describeTokenStatus, describeTrigger } from './reportWording';

/**
 * The sections of the report's first page: who, when, what, what is missing and why, and how the files
 * are proven. Each returns escaped HTML; catalog values only ever pass through catalogText.
 */

/** What was counted while the entity pages were written. */
export interface EntityTally {
  entities: number;
  unlisted: number;
  /** Entities per type, in words. */
  byType: Map<string, number>;
}

export interface SummaryContext {
  manifest: Manifest;
  /** profile.json parsed, or why it could not be. */
  profile: { fields: Record<string, unknown> } | { problem: string };
  tally: EntityTally;
  signature: SignatureDocument | undefined;
  /** What was proven before the files were handed out; undefined when nothing was checked. */
  proof: SnapshotProofSummary | undefined;
  /** Names of the files next to the report. */
  bundleFiles: readonly string[];
  completeListLocation: string;
  entitiesPerPage: number;
  pages: number;
  generatedAt: Date;
}

/** `2026-11-28T02:00:04.456Z` as `2026-11-28 02:00:04 UTC`; anything else as it is. */
export function formatRunTime(value: string | undefined): string {
  if (!value) return '';
  const time = Date.parse(value);
  if (Number.isNaN(time)) return value;
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

function factsTable(caption: string, rows: ReadonlyArray<[string, string]>): string {
  const body = rows.map(([field, value]) => `<tr><th scope="row">${field}</th><td>${value}</td></tr>`);
  return `<table class="facts"><caption>${caption}</caption><tbody>\n${body.join('\n')}\n</tbody></table>`;
}

export function profileName(context: Pick<SummaryContext, 'profile'>): string {
  return 'fields' in context.profile ? catalogValueText(context.profile.fields.name) : '';
}

/** The four answers in one box at the top, for a reader who reads nothing else. */
export function renderAtAGlance(context: SummaryContext): string {
  const { manifest, tally } = context;
  const token = describeTokenStatus(manifest.token);
  const items = [
    `<li><strong>Entities:</strong> ${countHtml(tally.entities)} (${countHtml(tally.unlisted)} unlisted)</li>`,
    `<li><strong>Read from the gallery:</strong> ${escapeHtml(formatRunTime(manifest.completedAt))}</li>`,
    `<li><strong>Unlisted entities:</strong> ${manifest.includesUnlisted ? 'included' : `not included (access token ${escapeHtml(token.label)})`}</li>`,
    `<li><strong>Proof:</strong> ${glanceAtProof(context)}</li>`,
  ];
  return `<ul class="glance">${items.join('')}</ul>`;
}

/** The proof in a few words, claiming only what was checked. */
function glanceAtProof(context: Pick<SummaryContext, 'proof' | 'signature'>): string {
  const { proof } = context;
  if (!proof) {
    return `not checked when this page was made${context.signature ? ' (the files carry a signature)' : ' (not signed)'}: see “How the files are proven”`;
  }
  const signature =
    proof.signature.state === 'verified'
      ? ', the signature verified'
      : proof.signature.state === 'not-checked'
        ? ', the signature present but not checked against a public key'
        : ' (not signed)';
  const chain = proof.chain.state === 'linked' ? ', the link to the previous export' : '';
  return `checked on ${escapeHtml(formatRunTime(proof.checkedAt))}: the SHA-256 of every file${escapeHtml(signature)}${chain}`;
}

export function renderWho(context: SummaryContext): string {
  const { manifest, profile } = context;
  const rows: Array<[string, string]> = [
    ['Name', catalogText(profileName(context)) || '(no name in the profile)'],
    ['Author ID', `<span class="mono">${escapeHtml(manifest.authorId)}</span>`],
  ];
  if ('fields' in profile) {
    for (const [field, value] of Object.entries(profile.fields)) {
      if (field === 'name') continue;
      rows.push([catalogText(field), catalogText(catalogValueText(value))]);
    }
  }
  return [
    '<section id="who" aria-labelledby="who-title"><h2 id="who-title">Who: the author profile</h2>',
    '<p>The gallery identifies an author by an ID derived from the e-mail address they published with. This is every field of the profile, as the catalog sent it (<code>profile.json</code>).</p>',
    'problem' in profile ? `<p class="problem">${escapeHtml(profile.problem)}</p>` : '',
    factsTable('The author profile', rows),
    '</section>',
  ].join('\n');
}

export function renderWhen(context: SummaryContext): string {
  const { manifest } = context;
  const rows: Array<[string, string]> = [
    ['Export run', `<span class="mono">${escapeHtml(manifest.runId)}</span>`],
    ['Started by', escapeHtml(describeTrigger(manifest.trigger))],
    ['Export of this author began', escapeHtml(formatRunTime(manifest.startedAt))],
    ['Export of this author finished', escapeHtml(formatRunTime(manifest.completedAt))],
    [
      'Read from',
      `<span class="mono">${catalogText(manifest.source.baseUrl)}</span> (the gallery’s Catalog API)`,
    ],
    ['This page was made', escapeHtml(formatRunTime(context.generatedAt.toISOString()))],
  ];
  if (manifest.previous) {
    rows.push([
      'Previous export of this author',
      `run <span class="mono">${escapeHtml(manifest.previous.runId)}</span>`,
    ]);
  }
  return [
    '<section id="when" aria-labelledby="when-title"><h2 id="when-title">When: the export</h2>',
    factsTable('When the data was read', rows),
    '</section>',
  ].join('\n');
}

export function renderWhat(context: SummaryContext): string {
  const { manifest, tally } = context;
  const rows: Array<[string, string]> = [
    ['Entities in this export', countHtml(tally.entities)],
    ['Public', countHtml(tally.entities - tally.unlisted)],
    ['Unlisted (hidden)', countHtml(tally.unlisted)],
    ['Entities the manifest records', countHtml(manifest.counts.entities)],
    ['Entities the catalog reported', countHtml(manifest.counts.reportedByCatalog)],
  ];
  if (manifest.counts.profileEntitiesCount !== undefined) {
    rows.push(['Entity count in the profile', countHtml(manifest.counts.profileEntitiesCount)]);
  }
  const types = [...tally.byType.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const typeTable =
    types.length === 0
      ? ''
      : '<table class="facts"><caption>Entities by type</caption>' +
        '<thead><tr><th scope="col">Type</th><th scope="col" class="num">Entities</th></tr></thead><tbody>\n' +
        types
          .map(
            ([type, count]) =>
              `<tr><th scope="row">${catalogText(type)}</th><td class="num">${countHtml(count)}</td></tr>`,
          )
          .join('\n') +
        '\n</tbody></table>';
  const paging =
    context.pages > 1
      ? ` They are listed below and on the pages that follow, ${countHtml(context.entitiesPerPage)} to a page (${countHtml(context.pages)} pages).`
      : ' They are all listed below.';
  return [
    '<section id="what" aria-labelledby="what-title"><h2 id="what-title">What: the entities</h2>',
    `<p>Everything the author published in the gallery: experiments, notebooks, tutorials and the rest, each as an “entity”.${tally.entities === 0 ? ' This export holds none.' : paging}</p>`,
    factsTable('How many entities', rows),
    typeTable,
    `<p>The complete machine-readable list, with every field of every entity (descriptions, tags, ratings…) exactly as the catalog sent it, is <strong>${escapeHtml(context.completeListLocation)}</strong>.</p>`,
    '</section>',
  ].join('\n');
}

export function renderMissing(context: SummaryContext): string {
  const { manifest, tally } = context;
  const token = describeTokenStatus(manifest.token);
  const problems: string[] = [];
  if (tally.entities !== manifest.counts.entities) {
    problems.push(
      `entities.json holds ${countHtml(tally.entities)} entities but the manifest records ${countHtml(manifest.counts.entities)}: the files do not belong together; check them as shown under “How the files are proven”.`,
    );
  }
  const { reportedByCatalog, entities } = manifest.counts;
  if (reportedByCatalog !== entities) {
    const createdLater = manifest.listing?.createdDuringExport?.count ?? 0;
    const explained = createdLater > 0 && reportedByCatalog === entities + createdLater;
    problems.push(
      `The catalog reported ${countHtml(reportedByCatalog)} entities and ${countHtml(entities)} were exported${explained ? `: the other ${countHtml(createdLater)} were created in the catalog during the export` : ''}.`,
    );
  }
  const notes = [...problems, ...manifest.warnings];
  return [
    '<section id="missing" aria-labelledby="missing-title"><h2 id="missing-title">What may be missing, and why</h2>',
    `<p${token.unlistedMayBeMissing ? ' class="note"' : ''}><strong>Access token: ${escapeHtml(token.label)}.</strong> ${escapeHtml(token.meaning)}</p>`,
    manifest.includesUnlisted
      ? '<p>Unlisted entities: <strong>included</strong>.</p>'
      : '<p>Unlisted entities: <strong>not included</strong>.</p>',
    notes.length === 0
      ? '<p>The export recorded nothing else in doubt.</p>'
      : `<p>The export recorded:</p><ul>${notes.map((note) => `<li>${catalogText(note)}</li>`).join('')}</ul>`,
    '</section>',
  ].join('\n');
}

export function renderProof(context: SummaryContext): string {
  const { manifest, signature, bundleFiles } = context;
  const has = (name: string): boolean => bundleFiles.includes(name);
  const files = manifest.files.map(
    (file) =>
      `<tr><th scope="row"><code>${catalogText(file.name)}</code></th><td class="num">${countHtml(file.bytes)}</td><td class="mono">${escapeHtml(file.sha256)}</td></tr>`,
  );
  const commands: string[] = [];
  commands.push(
    has('SHA256SUMS')
      ? '# Check that every file is exactly what the manifest describes:\nsha256sum -c SHA256SUMS'
      : `# Compare these hashes with the table above:\nsha256sum ${manifest.files.map((file) => file.name).join(' ')}`,
  );
  if (signature) {
    commands.push(
      [
        '# Get the public key that checks the signature (an operator can run this):',
        'gallery-export public-key --out key.pem',
        '# Check that manifest.json was signed by that key:',
        'jq -r .signature signature.json | base64 -d > signature.bin',
        'openssl dgst -sha256 -verify key.pem -signature signature.bin manifest.json',
      ].join('\n'),
    );
  }
  commands.push(
    `# An operator can re-check the stored snapshot itself:\ngallery-export verify --author ${manifest.authorId} --run ${manifest.runId}`,
  );
  const signatureText = signature
    ? factsTable('The signature (signature.json)', [
        [
          'Signs',
          `<code>${catalogText(signature.signed)}</code>, SHA-256 <span class="mono">${escapeHtml(signature.sha256)}</span>`,
        ],
        ['Algorithm', escapeHtml(signature.alg)],
        ['Key', `<span class="mono">${catalogText(signature.keyId)}</span>`],
      ]) +
      (context.proof?.signature.state === 'verified'
        ? '<p>The signature was made by a key held in Azure Key Vault: the software never sees the private key, and anyone with the public key can check it.</p>'
        : '<p>The signature names a key in Azure Key Vault; it was <strong>not checked</strong> when this page was made, so it proves nothing until it is checked with the public key (below).</p>')
    : '<p>This export is <strong>not signed</strong>: the hashes show that the files are the ones the manifest describes, not who made them.</p>';
  const checked = context.proof
    ? `<p>Checked on ${escapeHtml(formatRunTime(context.proof.checkedAt))}, before these files were handed out:</p><ul>${describeProof(
        context.proof,
      )
        .map((line) => `<li>${escapeHtml(line)}</li>`)
        .join('')}</ul>`
    : '<p class="note">These files were <strong>not checked</strong> when this page was made: run the commands below before relying on them.</p>';
  return [
    '<section id="proof" aria-labelledby="proof-title"><h2 id="proof-title">How the files are proven</h2>',
    checked,
    '<p><code>manifest.json</code> records the size and SHA-256 hash of each data file. A hash changes completely if a single byte changes, so matching hashes show the files are the ones that were exported.</p>',
    '<table><caption>The data files (from manifest.json)</caption><thead><tr><th scope="col">File</th><th scope="col" class="num">Bytes</th><th scope="col">SHA-256</th></tr></thead><tbody>',
    ...files,
    '</tbody></table>',
    signatureText,
    manifest.previous
      ? `<p>The manifest also names the previous export of this author (run <span class="mono">${escapeHtml(manifest.previous.runId)}</span>, manifest SHA-256 <span class="mono">${escapeHtml(manifest.previous.manifestSha256)}</span>), so the exports form a chain in which a removed or replaced one shows.</p>`
      : '',
    `<p>To check them, in a terminal opened in ${has('manifest.json') ? 'the folder that holds this page' : 'the folder of the downloaded export (<code>gallery-export get</code>)'}:</p>`,
    `<pre><code>${escapeHtml(commands.join('\n\n'))}</code></pre>`,
    '<p>This page was made from those files and is not part of what the hashes and the signature cover: the files are the record.</p>',
    '</section>',
  ]
    .filter((line) => line !== '')
    .join('\n');
}
