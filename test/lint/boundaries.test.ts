import path from 'node:path';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

/**
 * The folder arrows of src/ are enforced by eslint (eslint.boundaries.cjs); these fixtures show that a
 * change breaking one fails the lint, and that the allowed imports pass.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { boundaries } = require('../../eslint.boundaries.cjs') as { boundaries: Linter.Config[] };

const root = path.resolve(__dirname, '..', '..');
const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...boundaries],
});

async function problems(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(root, file) });
  return result!.messages.map((message) => `${message.ruleId ?? 'parse'}: ${message.message}`);
}

test.each([
  [
    'src/authors/Fixture.ts',
    "import { CatalogClient } from '../catalog/CatalogClient';",
    /src\/authors\/ may import only src\/contract/,
  ],
  ['src/snapshots/Fixture.ts', "import { loadConfig } from '../config';", /src\/snapshots\/ may import only/],
  [
    'src/catalog/Fixture.ts',
    "import { exportAuthor } from '../export/exportAuthor';",
    /src\/catalog\/ may import only/,
  ],
  ['src/export/Fixture.ts', "import { Agent } from 'undici';", /src\/export\/ does not use/],
  [
    'src/export/Fixture.ts',
    "import { CatalogClient } from '../catalog/CatalogClient';",
    /src\/export\/ may import only/,
  ],
  [
    'src/export/Fixture.ts',
    "import type { BlobRunLock } from '../snapshots/BlobRunLock';",
    /src\/export\/ may import only/,
  ],
  [
    'src/contract/Fixture.ts',
    "import { loadConfig } from '../config';",
    /src\/contract\/ imports nothing else/,
  ],
  ['src/contract/Fixture.ts', "import { request } from 'undici';", /src\/contract\/ uses no SDK/],
  [
    'src/cli/Fixture.ts',
    "import { startLocalStack } from '../../dev/localStack';",
    /src\/ never imports dev\//,
  ],
  [
    'src/cli/commands/Fixture.ts',
    "import { startExport } from '../../functions/httpApi';",
    /src\/cli\/ may import only/,
  ],
  ['src/services.ts', "import { startLocalStack } from '../dev/localStack';", /src\/ never imports dev\//],
  ['src/snapshots/Fixture.ts', "import { app } from '@azure/functions';", /Only src\/functions\//],
  [
    'src/vault/Fixture.ts',
    "import { keyVaultError } from '../signing/keyVaultKeys';",
    /src\/vault\/ may import only src\/contract/,
  ],
  [
    'src/snapshots/Fixture.ts',
    "import { vaultRateBudget } from '../vault/vaultClientOptions';",
    /src\/snapshots\/ may import only/,
  ],
])('%s: %s is refused', async (file, source, expected) => {
  expect((await problems(file, source)).join('\n')).toMatch(expected);
});

test.each([
  ['src/authors/Fixture.ts', "import { normalizeAuthorId } from '../contract/authorId';"],
  ['src/authors/Fixture.ts', "import { parseAuthorSecret } from './KeyVaultAuthorRegistry';"],
  ['src/authors/Fixture.ts', "import { vaultClientOptions } from '../vault/vaultClientOptions';"],
  ['src/signing/Fixture.ts', "import { vaultClientOptions } from '../vault/vaultClientOptions';"],
  [
    'src/export/Fixture.ts',
    "import type { ExportServices } from './ports';\nimport { GalleryExportError } from '../contract/errors';",
  ],
  [
    'src/contract/Fixture.ts',
    "import schema from '../../schemas/manifest.schema.json';\nimport { isRunId } from './layout';",
  ],
  [
    'src/cli/commands/Fixture.ts',
    "import { CliContext } from '../CliContext';\nimport { createServices } from '../../services';",
  ],
  [
    'src/cli/Fixture.ts',
    "import { loadConfig } from '../config';\nimport { runInProcess } from '../export/runInProcess';",
  ],
  [
    'src/functions/Fixture.ts',
    "import { app } from '@azure/functions';\nimport { startFanOutRun } from '../export/fanOut';",
  ],
])('%s: allowed imports pass', async (file, source) => {
  expect(await problems(file, source)).toEqual([]);
});
