#!/usr/bin/env node
// Stages the Function App's deployment package in one folder: the compiled app (dist/src and the
// JSON it imports), host.json, package.json and the production dependencies, nothing else.
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
// Usage: node scripts/package.js [--out <dir>] [--zip <file>] [--npm-ci]
//   --out     the folder to (re)create; default .deploy/api (git-ignored). Must not be the project
//             root or contain it.
//   --zip     also write a zip of the folder (needs the `zip` command), to measure or zip-deploy it.
//   --npm-ci  install the production dependencies with `npm ci --omit=dev` in the folder instead of
//             copying them from the project's node_modules (slower; needs the registry or its cache).
// By default the production dependencies are the lock file's production tree, copied from the
// project's node_modules (azd runs `npm install` before packaging; otherwise run `npm ci`): every
// package the lock does not mark `dev`, at the lock's path, after checking that the installed
// version is the locked one. That is what `npm ci --omit=dev` installs, without unpacking it again.
// Exit code 0 when the folder is complete; the last line of stdout is a JSON summary.
'use strict';
const { spawnSync } = require('node:child_process');
const {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const DEFAULT_OUT = '.deploy/api';
/** Compiled folders of dist/ that are tooling, never part of the Function App. */
const NOT_DEPLOYED = new Set(['dev', 'bench', 'test']);
/** Files the project root contributes beside dist/: the host's configuration and the manifest. */
const ROOT_FILES = ['host.json', 'package.json'];
/**
 * Files pruned from node_modules: source maps and TypeScript declarations are never read at run
 * time, and they are about half of the production dependencies' bytes and a third of their files
 * (each file costs the cold start a little).
 */
const PRUNED = /\.(?:map|d\.ts|d\.mts|d\.cts)$/;

const repoRoot = path.resolve(__dirname, '..');

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const options = { out: DEFAULT_OUT, zip: undefined, npmCi: false };
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
    else if (arg === '--npm-ci') options.npmCi = true;
    else
      fail(
        `unknown argument ${arg} (usage: node scripts/package.js [--out <dir>] [--zip <file>] [--npm-ci])`,
      );
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

/** Copies dist/ minus the tooling folders and any source map. */
function copyBuild(buildDir, outDist) {
  for (const entry of readdirSync(buildDir, { withFileTypes: true })) {
    if (entry.isDirectory() && NOT_DEPLOYED.has(entry.name)) continue;
    cpSync(path.join(buildDir, entry.name), path.join(outDist, entry.name), {
      recursive: true,
      filter: (source) => !source.endsWith('.map'),
    });
  }
}

/**
 * Copies the lock file's production tree from the project's node_modules. Each package is copied
 * without its nested node_modules: the nested packages have entries of their own, dev ones too.
 */
function copyProductionTree(outModules) {
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8'));
  let copied = 0;
  for (const [location, entry] of Object.entries(lock.packages ?? {})) {
    if (!location.startsWith('node_modules/') || entry.dev === true || entry.link === true) continue;
    const source = path.join(repoRoot, location);
    if (!existsSync(path.join(source, 'package.json'))) {
      // Optional dependencies for another platform are not installed, and not needed.
      if (entry.optional === true || entry.devOptional === true) continue;
      fail(`${location} is in the lock file but not installed: run \`npm ci\` first`);
    }
    const installed = JSON.parse(readFileSync(path.join(source, 'package.json'), 'utf8')).version;
    if (entry.version !== undefined && installed !== entry.version) {
      fail(`${location} is ${installed}, the lock file says ${entry.version}: run \`npm ci\` first`);
    }
    const nested = path.join(source, 'node_modules');
    cpSync(source, path.join(outModules, location.slice('node_modules/'.length)), {
      recursive: true,
      filter: (file) => file !== nested && !PRUNED.test(file),
    });
    copied += 1;
  }
  return copied;
}

function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) prune(full);
    else if (PRUNED.test(entry.name)) rmSync(full);
  }
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

const options = parseArgs(process.argv.slice(2));
const outDir = path.resolve(repoRoot, options.out);
// Deleting the folder first must never delete the project: refuse the root or any folder that
// contains it.
const rootFromOut = path.relative(outDir, repoRoot);
if (rootFromOut === '' || (!rootFromOut.startsWith('..') && !path.isAbsolute(rootFromOut))) {
  fail(`--out ${options.out} is the project root or contains it`);
}

// A fresh build into a temporary folder: a stale dist/ (files of modules since renamed) never
// reaches the package, and a build in progress elsewhere (npm run build, the tests) is not
// disturbed.
const buildDir = mkdtempSync(path.join(os.tmpdir(), 'gallery-export-build-'));
try {
  console.error(`package: compiling into ${buildDir}`);
  run('npm', ['run', '--silent', 'build', '--', '--outDir', buildDir, '--sourceMap', 'false'], repoRoot);
  if (!existsSync(path.join(buildDir, 'src', 'index.js')))
    fail(`the build wrote no src/index.js into ${buildDir}`);

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  copyBuild(buildDir, path.join(outDir, 'dist'));
} finally {
  rmSync(buildDir, { recursive: true, force: true });
}
for (const file of ROOT_FILES) cpSync(path.join(repoRoot, file), path.join(outDir, file));

if (options.npmCi) {
  // Exactly the locked production tree, installed for this folder (no install scripts: none of
  // the production dependencies needs one, and npm would not run unapproved ones anyway).
  console.error(`package: installing production dependencies into ${outDir}`);
  cpSync(path.join(repoRoot, 'package-lock.json'), path.join(outDir, 'package-lock.json'));
  run(
    'npm',
    [
      'ci',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
    ],
    outDir,
  );
  prune(path.join(outDir, 'node_modules'));
  // The host never reads the lock; node_modules/.package-lock.json records what was installed.
  rmSync(path.join(outDir, 'package-lock.json'));
} else {
  const copied = copyProductionTree(path.join(outDir, 'node_modules'));
  console.error(`package: copied the ${copied} production packages of the lock file into ${outDir}`);
}

const summary = { out: outDir, ...measure(outDir) };
if (options.zip !== undefined) {
  const zipFile = path.resolve(process.cwd(), options.zip);
  rmSync(zipFile, { force: true });
  run('zip', ['-q', '-r', '-X', zipFile, '.'], outDir);
  summary.zip = zipFile;
  summary.zipBytes = statSync(zipFile).size;
}
console.error(
  `package: ${summary.files} files, ${(summary.bytes / 2 ** 20).toFixed(1)} MiB${summary.zipBytes === undefined ? '' : `, zipped ${(summary.zipBytes / 1e6).toFixed(1)} MB`}`,
);
console.log(JSON.stringify(summary));
