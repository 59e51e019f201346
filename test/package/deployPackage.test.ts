/**
 * The deployment package: what `azd deploy` uploads to the Function App, and that it runs.
 *
 * azure.yaml names the folder azd zips (services.api `dist`), staged by scripts/package.js: the
 * app bundled by esbuild (an entry point, chunks, source maps), host.json and package.json. This
 * suite stages it into a temporary folder, selects its files the way azd does, copies them into a
 * clean folder (what the host unpacks) and, in a child process there, loads the package.json
 * `main` the way the Functions worker does: as an ES module, with `@azure/functions-core`
 * answered by the loader (the worker provides that module; here it records what the app
 * registers). Every function the source registers must be registered, with its trigger, and every
 * chunk of the bundle must load. Nothing may resolve outside the package.
 *
 * azd's file selection, read from its source (pkg/project: createDeployableZip and
 * resolveFunctionAppRemoteBuild, azd 1.23.13): in the package folder, `.funcignore` read with
 * gitignore rules (github.com/denormal/go-gitignore: a pattern without a slash matches at any
 * depth) when the folder has one; otherwise, for a TypeScript service, node_modules is left out
 * unless `remoteBuild: false`. Always left out: `.azure/` folders, the ignore file itself and
 * `local.settings.json`. The `ignore` package implements the same gitignore rules here.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ignore from 'ignore';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const PACKAGE_TIMEOUT_MS = 180_000;
/** The budget for a cold start (issue 28): one bundle, not 34 MiB in 6,459 files. */
const MAX_PACKAGE_MIB = 10;
const MAX_PACKAGE_FILES = 100;

interface ServiceConfig {
  dist: string;
  remoteBuild: boolean | undefined;
}

/** The `api` service's `dist` and `remoteBuild` from azure.yaml. */
function apiService(): ServiceConfig {
  const yaml = readFileSync(path.join(REPO_ROOT, 'azure.yaml'), 'utf8');
  const block = /^ {2}api:\n((?: {4}.*\n?|\s*\n)+)/m.exec(yaml)?.[1];
  if (block === undefined) throw new Error('azure.yaml has no services.api block');
  const dist = /^ {4}dist: (\S+)\s*$/m.exec(block)?.[1] ?? '.';
  const remoteBuild = /^ {4}remoteBuild: (true|false)\s*$/m.exec(block)?.[1];
  return { dist, remoteBuild: remoteBuild === undefined ? undefined : remoteBuild === 'true' };
}

/** Files under `root` azd would zip, as posix paths relative to it. */
function azdSelection(root: string, service: ServiceConfig): string[] {
  const ignoreFile = path.join(root, '.funcignore');
  const rules = existsSync(ignoreFile)
    ? ignore().add(readFileSync(ignoreFile, 'utf8').replace(/^\uFEFF/, ''))
    : undefined;
  const selected: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const full = path.join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(full).isDirectory());
      if (isDir && entry.name === '.azure') continue;
      if (!isDir && (entry.name === '.funcignore' || entry.name === 'local.settings.json')) continue;
      if (rules !== undefined) {
        if (rules.ignores(isDir ? `${relPath}/` : relPath)) continue;
      } else if (isDir && entry.name === 'node_modules' && service.remoteBuild !== false) {
        continue;
      }
      if (isDir) walk(full, relPath);
      else selected.push(relPath);
    }
  };
  walk(root, '');
  return selected.sort();
}

/** Every `app.<method>('<name>'` registration in src/, the functions the host must index. */
function registeredInSource(): Array<{ method: string; name: string }> {
  const found: Array<{ method: string; name: string }> = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const source = readFileSync(full, 'utf8');
        for (const match of source.matchAll(/\bapp\.(\w+)\(\s*'([^']+)'/g))
          found.push({ method: match[1]!, name: match[2]! });
      }
    }
  };
  walk(path.join(REPO_ROOT, 'src'));
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The trigger binding each `app.<method>` registers (@azure/functions' own mapping). */
const TRIGGER_OF_METHOD: Record<string, string> = {
  http: 'httpTrigger',
  get: 'httpTrigger',
  put: 'httpTrigger',
  post: 'httpTrigger',
  patch: 'httpTrigger',
  deleteRequest: 'httpTrigger',
  timer: 'timerTrigger',
  storageQueue: 'queueTrigger',
  storageBlob: 'blobTrigger',
};

/**
 * Runs in the unpacked package, as the Functions worker would: `@azure/functions-core` is the
 * worker's (it intercepts the module's loading); this one records each registered function with
 * its trigger and each hook. Then the entry point is imported as an ES module, and every chunk of
 * the bundle too (a chunk loaded only on some paths must load as well). Every file a module was
 * loaded from must be inside the package.
 */
const LOADER = `
const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { readdirSync } = require('node:fs');
const root = process.cwd();
const inside = (file) => path.relative(root, file).split(path.sep)[0] !== '..';
const report = { registered: [], hooks: [], chunks: {}, outside: [] };
const core = {
  version: '3.10.0',
  setProgrammingModel() {},
  registerFunction(metadata) {
    const trigger = Object.values(metadata.bindings).find((binding) => /Trigger$/.test(binding.type));
    report.registered.push({ name: metadata.name, trigger: trigger && trigger.type });
    return { dispose() {} };
  },
  registerHook(name) {
    report.hooks.push(name);
    return { dispose() {} };
  },
  log() {},
};
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === '@azure/functions-core') return core;
  return load.call(this, request, ...rest);
};
(async () => {
  const pkg = require(path.join(root, 'package.json'));
  await import(pathToFileURL(path.join(root, pkg.main)).href);
  const dist = path.dirname(path.join(root, pkg.main));
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(path.join(dir, entry.name)) : [path.join(dir, entry.name)]);
  for (const file of walk(dist).filter((f) => f.endsWith('.mjs'))) {
    const name = path.relative(root, file).split(path.sep).join('/');
    try {
      await import(pathToFileURL(file).href);
      report.chunks[name] = 'ok';
    } catch (error) {
      report.chunks[name] = String((error && error.message) || error).split('\\n')[0];
    }
  }
  for (const file of Object.keys(require.cache)) if (!inside(file)) report.outside.push(file);
  process.stdout.write('\\nREPORT ' + JSON.stringify(report) + '\\n');
})().catch((error) => { console.error(error); process.exit(1); });
`;

interface LoadReport {
  registered: Array<{ name: string; trigger: string | undefined }>;
  hooks: string[];
  chunks: Record<string, string>;
  outside: string[];
}

describe('the deployment package azd uploads', () => {
  const service = apiService();
  let work: string;
  let staged: string;
  let unpacked: string;
  let selected: string[];

  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'gallery-export-package-'));
    staged = path.join(work, 'staged');
    unpacked = path.join(work, 'unpacked');
    const result = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts', 'package.js'), '--out', staged],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: PACKAGE_TIMEOUT_MS,
      },
    );
    if (result.status !== 0) {
      throw new Error(
        `scripts/package.js failed (${result.status ?? result.signal}):\n${result.stderr}${result.stdout}`,
      );
    }
    selected = azdSelection(staged, service);
    for (const file of selected) {
      mkdirSync(path.dirname(path.join(unpacked, file)), { recursive: true });
      cpSync(path.join(staged, file), path.join(unpacked, file));
    }
  }, PACKAGE_TIMEOUT_MS);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  test('azure.yaml points azd at the staged folder, deployed as it is (no remote build)', () => {
    expect(service).toEqual({ dist: '.deploy/api', remoteBuild: false });
    // What the script stages by default is what azure.yaml names.
    expect(readFileSync(path.join(REPO_ROOT, 'scripts', 'package.js'), 'utf8')).toContain(
      `const DEFAULT_OUT = '${service.dist}';`,
    );
  });

  test('azd keeps every staged file: the package is exactly what the script built', () => {
    const all: string[] = [];
    const walk = (dir: string, rel: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) walk(path.join(dir, entry.name), relPath);
        else all.push(relPath);
      }
    };
    walk(staged, '');
    expect(selected).toEqual(all.sort());
  });

  test('holds the bundled entry point with its chunks and source maps, host.json and package.json, nothing else', () => {
    const pkg = JSON.parse(readFileSync(path.join(unpacked, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      main: string;
      dependencies?: unknown;
    };
    const project = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    // The app reports the project's name and version (every manifest's generator).
    expect(pkg).toMatchObject({ name: project.name, version: project.version, main: 'dist/index.mjs' });
    // Nothing to install: every dependency is in the bundle.
    expect(pkg.dependencies).toBeUndefined();
    expect(readFileSync(path.join(unpacked, 'host.json'), 'utf8')).toBe(
      readFileSync(path.join(REPO_ROOT, 'host.json'), 'utf8'),
    );
    const other = selected.filter(
      (f) => !['host.json', 'package.json'].includes(f) && !/^dist\/(chunks\/)?[\w-]+\.mjs(\.map)?$/.test(f),
    );
    expect(other).toEqual([]);
    expect(selected).toContain(pkg.main);
    expect(selected).toContain('dist/app.mjs');
    // Every module has its source map (stack traces name the TypeScript sources), and no map leaks
    // the sources themselves.
    const modules = selected.filter((f) => f.endsWith('.mjs') && f !== pkg.main);
    expect(modules.filter((f) => !selected.includes(`${f}.map`))).toEqual([]);
    const appMap = JSON.parse(readFileSync(path.join(unpacked, 'dist/app.mjs.map'), 'utf8')) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    expect(appMap.sources.some((source) => source.endsWith('src/index.ts'))).toBe(true);
    expect(appMap.sourcesContent).toBeUndefined();
  });

  test('registers every function the source registers, with its trigger, and loads every chunk, from inside the package', () => {
    const result = spawnSync(process.execPath, ['-e', LOADER], {
      cwd: unpacked,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', NODE_PATH: '' },
    });
    if (result.status !== 0) throw new Error(`loading the package failed:\n${result.stderr}`);
    const line = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('REPORT '))
      .pop();
    if (line === undefined)
      throw new Error(`no report from the package:\n${result.stdout}\n${result.stderr}`);
    const report = JSON.parse(line.slice('REPORT '.length)) as LoadReport;
    const expected = registeredInSource();
    expect(expected.length).toBeGreaterThanOrEqual(6);
    expect([...report.registered].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      expected.map(({ method, name }) => ({ name, trigger: TRIGGER_OF_METHOD[method] ?? method })),
    );
    // The telemetry hooks (src/functions/telemetryHooks.ts).
    expect([...report.hooks].sort()).toEqual(['appTerminate', 'postInvocation', 'preInvocation']);
    expect(Object.keys(report.chunks).length).toBeGreaterThan(1);
    expect(Object.entries(report.chunks).filter(([, state]) => state !== 'ok')).toEqual([]);
    expect(report.outside).toEqual([]);
  }, 90_000);

  test('holds no node_modules: the production dependencies are bundled, and no dev dependency is', () => {
    expect(selected.filter((f) => f.includes('node_modules/'))).toEqual([]);
    const bundled = readFileSync(path.join(unpacked, 'dist/app.mjs.map'), 'utf8');
    for (const tool of [
      'jest',
      'typescript',
      'azurite',
      'eslint',
      'playwright-core',
      'esbuild',
      'prettier',
    ]) {
      expect([tool, bundled.includes(`node_modules/${tool}/`)]).toEqual([tool, false]);
    }
  });

  test('holds no source, tests, local tooling or local data', () => {
    const forbidden = selected.filter(
      (f) =>
        /^(src|test|dev|bench|docs|infra|scripts|coverage|\.gallery-export|gallery-export-demo|\.tools|\.ci|\.git)\//.test(
          f,
        ) ||
        /\.ts$/.test(f) ||
        /(^|\/)local\.settings(\.sample)?\.json$/.test(f) ||
        /^(azure\.yaml|tsconfig[^/]*\.json|jest\.config\.js|eslint\.config\.mjs|\.funcignore)$/.test(f),
    );
    expect(forbidden).toEqual([]);
  });

  test(`fits a cold start: at most ${MAX_PACKAGE_MIB} MiB unpacked, in at most ${MAX_PACKAGE_FILES} files`, () => {
    const bytes = selected.reduce((sum, f) => sum + statSync(path.join(unpacked, f)).size, 0);
    expect(bytes / 2 ** 20).toBeLessThanOrEqual(MAX_PACKAGE_MIB);
    expect(selected.length).toBeLessThanOrEqual(MAX_PACKAGE_FILES);
  });

  test("the project root's .funcignore, read with azd's gitignore rules, would keep every file of the package", () => {
    // `func azure functionapp publish` run at the root, or azd pointed at the project root, read
    // it; a pattern matching at any depth there silently drops dist/src or a dependency's folder.
    const rules = ignore().add(readFileSync(path.join(REPO_ROOT, '.funcignore'), 'utf8'));
    const dropped = selected.filter((f) => rules.ignores(f));
    expect(dropped.slice(0, 20)).toEqual([]);
  });
});
