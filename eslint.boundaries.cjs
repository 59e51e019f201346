// @ts-check
'use strict';
/**
 * The folder arrows of src/ (README "Layout"), enforced: each folder's relative imports may only reach
 * the folders listed for it, and a few packages belong to one folder only. `no-restricted-imports`
 * replaces rather than merges per matching block, so every block carries the rules common to all of
 * src/ (never dev/, @azure/functions only in the Functions adapters). test/lint/boundaries.test.ts
 * lints fixtures against these blocks to show that a broken arrow fails.
 */

/** Leaving src/ for dev/ (the local stack) from any depth. */
const DEV = {
  regex: '^(\\.\\./)+dev(/|$)',
  message: 'src/ never imports dev/ (the local stack is not part of the product).',
};
const AZURE_FUNCTIONS = {
  group: ['@azure/functions'],
  message: 'Only src/functions/ (and src/index.ts) know Azure Functions.',
};

/**
 * The blocks for one folder under src/: its files may import each other, the listed sibling folders (and
 * root files such as config.ts) and nothing else of src/. A file `d` folders below src/<folder>/ leaves
 * it with `d + 1` times `../`, so there is one block per depth.
 * @param {string} folder the folder under src/
 * @param {string[]} allowed sibling folders and root modules it may import
 * @param {string[]} packages packages it must not import
 */
function arrows(folder, allowed, packages = []) {
  const siblings = allowed.length === 0 ? '' : `(?!(${allowed.join('|')})(/|\\.|$))`;
  const names = allowed.length ? allowed.map((name) => `src/${name}`).join(', ') : 'nothing else of src/';
  return [0, 1, 2].map((depth) => ({
    files: [`src/${folder}/${'*/'.repeat(depth)}*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            DEV,
            ...(folder === 'functions' ? [] : [AZURE_FUNCTIONS]),
            {
              regex: `^(\\.\\./){${depth + 1}}${siblings}[^.]`,
              message: `src/${folder}/ may import only ${names} (see README "Layout").`,
            },
            ...(packages.length
              ? [{ group: packages, message: `src/${folder}/ does not use ${packages.join(', ')}.` }]
              : []),
          ],
        },
      ],
    },
  }));
}

const ADAPTER_FREE = ['undici', '@azure/*', '@azure/**', '!@azure/functions'];

const boundaries = [
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [DEV, AZURE_FUNCTIONS] }] },
  },
  {
    files: ['src/index.ts', 'src/functions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [DEV] }] },
  },
  // The contract is pure vocabulary: nothing of src/, no SDK, no HTTP client.
  {
    files: ['src/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            DEV,
            AZURE_FUNCTIONS,
            { regex: '^\\.\\./(?!\\.\\./schemas/)', message: 'src/contract/ imports nothing else of src/.' },
            { group: ADAPTER_FREE, message: 'src/contract/ uses no SDK and no HTTP client.' },
          ],
        },
      ],
    },
  },
  // Adapters reach the contract only, never each other or the core.
  ...arrows('catalog', ['contract'], ['@azure/*']),
  // The Key Vault clients' one retry layer and rate budget, shared by the authors and signing adapters.
  ...arrows('vault', ['contract'], ['undici']),
  ...arrows('authors', ['contract', 'vault'], ['undici']),
  ...arrows('snapshots', ['contract'], ['undici']),
  ...arrows('signing', ['contract', 'vault'], ['undici']),
  ...arrows('report', ['contract'], ADAPTER_FREE),
  ...arrows('telemetry', ['contract'], ['undici']),
  // The core knows interfaces only: the contract, and telemetry's vendor-neutral API.
  ...arrows('export', ['contract', 'telemetry'], ADAPTER_FREE),
  // Entry points: the core, the adapters and the composition root, but not each other.
  ...arrows('cli', [
    'contract',
    'export',
    'catalog',
    'authors',
    'snapshots',
    'signing',
    'report',
    'telemetry',
    'config',
    'services',
    'version',
  ]),
  ...arrows('functions', [
    'contract',
    'export',
    'snapshots',
    'report',
    'telemetry',
    'config',
    'services',
    'version',
  ]),
];

module.exports = { boundaries };
