#!/usr/bin/env node
// Stages the Function App's deployment package in one folder: the app bundled by esbuild into
// dist/ (an entry point, the modules it loads at start-up, chunks loaded on first use, and a source
// map beside each), host.json and a package.json naming the entry. No node_modules: every
// dependency is in the bundle, except @azure/functions-core, which the Functions worker provides.
//
// Why a bundle: a cold instance loads the entry point before its first invocation. The compiled
// app with its production dependencies was 34 MiB in 6,459 files, and loading it (every module
// resolved, read and compiled one by one) cost about 0.45 s of CPU; one bundle, with the paths
// only some invocations take (OpenTelemetry's SDK and exporters, signing) split into chunks that
// load when first used, is a few MiB in a few dozen files (docs/performance.md has the figures).
// Source maps are kept, and enabled by the entry point before the app's modules are compiled, so
// a stack trace names the TypeScript sources.
//
// azd zips that folder as it is (azure.yaml: services.api.dist, remoteBuild: false) and runs this
// script as the service's prepackage hook; `func azure functionapp publish` and zip deploy can be
// given the same folder (docs/deploy.md). test/package/deployPackage.test.ts builds it, selects
// its files the way azd does and loads the entry point from a clean copy.
//
// Why a staged folder rather than the project root with a .funcignore: azd reads .funcignore
// with gitignore rules, where a pattern without a slash matches at any depth, so excluding the
// root `src` or `test` folders also drops dist/src and hundreds of folders inside node_modules;
// and the root's node_modules holds every dev dependency (jest, typescript, azurite, eslint...).
//
// Usage: node scripts/package.js [--out <dir>] [--zip <file>]
//   --out     the folder to (re)create; default .deploy/api (git-ignored). Must not be the project
//             root or contain it.
//   --zip     also write a zip of the folder (needs the `zip` command), to measure or zip-deploy it.
// Packages are resolved as Node resolves them for the compiled app (the `require` condition), so
// the bundle holds the code that `node dist/src/index.js` runs. Exit code 0 when the folder is
// complete; the last line of stdout is a JSON summary.
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } = require('node:fs');
const { isBuiltin } = require('node:module');
const path = require('node:path');

const DEFAULT_OUT = '.deploy/api';
/** The Functions worker provides it to the app (and intercepts its require); it is never bundled. */
const PROVIDED_BY_THE_WORKER = '@azure/functions-core';
/** The package's entry point, relative to its root (the staged package.json `main`). */
const ENTRY = 'dist/index.mjs';
/** Guards of the issue's budget: what a cold instance reads and unpacks. */
const MAX_PACKAGE_BYTES = 10 * 2 ** 20;
const MAX_PACKAGE_FILES = 100;

const repoRoot = path.resolve(__dirname, '..');

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const options = { out: DEFAULT_OUT, zip: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) fail(`${arg} needs a value`);
      i += 1;
      return next;
    };
    if (arg === '--out') options.out = value();
    else if (arg === '--zip') options.zip = value();
    else fail(`unknown argument ${arg} (usage: node scripts/package.js [--out <dir>] [--zip <file>])`);
  }
  return options;
}

function run(command, args, cwd) {
  // npm is a .cmd on Windows, which only a shell can start.
  const result = spawnSync(command, args, {
    cwd,
    stdio: ['ignore', 'inherit', 'inherit'],
    shell: process.platform === 'win32',
  });
  if (result.error) fail(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

/**
 * Resolves every package import as Node resolves it for the compiled (CommonJS) app, `require`
 * condition included: some SDKs ship an ESM build whose Node-only code needs `import.meta.url`,
 * which a bundle does not have. A package that cannot be resolved fails the build: left external,
 * it would fail in Azure instead, on the path that needs it.
 */
const nodeResolution = {
  name: 'node-resolution',
  setup(build) {
    build.onResolve({ filter: /^[^./#]/ }, (args) => {
      if (args.path === PROVIDED_BY_THE_WORKER || args.path.startsWith('node:') || isBuiltin(args.path)) {
        return { external: true };
      }
      try {
        return { path: require.resolve(args.path, { paths: [args.resolveDir] }) };
      } catch (error) {
        return { errors: [{ text: `cannot resolve ${args.path} from ${args.importer}: ${error.message}` }] };
      }
    });
  },
};

/**
 * Bundled CommonJS code still calls `require` (Node built-ins, the worker's module) and reads
 * `__dirname` (functionTimeout.ts looks for host.json from there): each ES module chunk defines them.
 */
const CHUNK_PRELUDE = [
  "import { createRequire as __galleryCreateRequire } from 'node:module';",
  "import { fileURLToPath as __galleryFileURLToPath } from 'node:url';",
  "import { dirname as __galleryDirname } from 'node:path';",
  'const require = __galleryCreateRequire(import.meta.url);',
  'const __filename = __galleryFileURLToPath(import.meta.url);',
  'const __dirname = __galleryDirname(__filename);',
].join('\n');

/**
 * The entry point: it turns source maps on before the app's modules are compiled (Node reads a
 * module's map only if they are on when it compiles it), then loads the app; the worker awaits it,
 * so every function is registered when it resolves.
 */
const ENTRY_SOURCE = `// The Functions worker loads this file (package.json "main"). Source maps first, so that stack
// traces name the TypeScript sources; then the app, whose modules register the functions.
process.setSourceMapsEnabled(true);
await import('./app.mjs');
`;

async function bundle(outDist) {
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    fail('esbuild is not installed: run `npm ci` first');
  }
  const result = await esbuild.build({
    entryPoints: { app: path.join(repoRoot, 'src', 'index.ts') },
    outdir: outDist,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Dynamic imports (the telemetry SDK, signing) become chunks of their own, read on first use;
    // modules shared by chunks are loaded once.
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    // Class and function names survive minification: error names and stack frames stay readable.
    keepNames: true,
    sourcemap: 'linked',
    // Stack traces need the mappings only; the sources are in the repository.
    sourcesContent: false,
    legalComments: 'none',
    banner: { js: CHUNK_PRELUDE },
    plugins: [nodeResolution],
    metafile: true,
    logLevel: 'warning',
    tsconfig: path.join(repoRoot, 'tsconfig.build.json'),
  });
  writeFileSync(path.join(outDist, 'index.mjs'), ENTRY_SOURCE);
  return result.metafile;
}

/** package.json for the host: the name and version the app reports, and the entry point. */
function stagedPackageJson() {
  const project = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  return {
    name: project.name,
    version: project.version,
    description: project.description,
    license: project.license,
    private: true,
    main: ENTRY,
    engines: project.engines,
  };
}

function measure(dir) {
  let files = 0;
  let bytes = 0;
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        files += 1;
        bytes += statSync(full).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const outDir = path.resolve(repoRoot, options.out);
  // Deleting the folder first must never delete the project: refuse the root or any folder that
  // contains it.
  const rootFromOut = path.relative(outDir, repoRoot);
  if (rootFromOut === '' || (!rootFromOut.startsWith('..') && !path.isAbsolute(rootFromOut))) {
    fail(`--out ${options.out} is the project root or contains it`);
  }

  // esbuild does not check types: the compiler does, first, so a package never holds code that
  // `npm run build` would refuse.
  console.error('package: type-checking');
  run(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.build.json'],
    repoRoot,
  );

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  console.error(`package: bundling src/index.ts into ${path.join(outDir, 'dist')}`);
  const metafile = await bundle(path.join(outDir, 'dist'));
  cpSync(path.join(repoRoot, 'host.json'), path.join(outDir, 'host.json'));
  writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(stagedPackageJson(), null, 2)}\n`);

  const summary = {
    out: outDir,
    main: ENTRY,
    ...measure(outDir),
    bundledPackages: new Set(
      Object.keys(metafile.inputs)
        .map((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1])
        .filter((name) => name !== undefined),
    ).size,
  };
  if (summary.bytes > MAX_PACKAGE_BYTES || summary.files > MAX_PACKAGE_FILES) {
    fail(
      `the package is ${(summary.bytes / 2 ** 20).toFixed(1)} MiB in ${summary.files} files, over the ${MAX_PACKAGE_BYTES / 2 ** 20} MiB and ${MAX_PACKAGE_FILES} files a cold start is allowed`,
    );
  }
  if (options.zip !== undefined) {
    const zipFile = path.resolve(process.cwd(), options.zip);
    rmSync(zipFile, { force: true });
    run('zip', ['-q', '-r', '-X', zipFile, '.'], outDir);
    summary.zip = zipFile;
    summary.zipBytes = statSync(zipFile).size;
  }
  console.error(
    `package: ${summary.files} files, ${(summary.bytes / 2 ** 20).toFixed(1)} MiB, ${summary.bundledPackages} packages bundled${summary.zipBytes === undefined ? '' : `, zipped ${(summary.zipBytes / 1e6).toFixed(1)} MB`}`,
  );
  console.log(JSON.stringify(summary));
}

main().catch((error) => fail(error instanceof Error ? (error.stack ?? error.message) : String(error)));
