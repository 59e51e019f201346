/**
 * The deployment package: what `azd deploy` uploads to the Function App, and that it runs.
 *
 * azure.yaml names the folder azd zips (services.api `dist`), staged by scripts/package.js.
 * This suite stages it into a temporary folder, selects its files the way azd does, copies
 * them into a clean folder (what the host unpacks) and, in a child process there, loads the
 * package.json `main` with @azure/functions' registrations recorded: every function the source
 * registers must be registered, and every production dependency must load. Nothing may resolve
 * outside the package.
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
/** A regression guard, not a target: the package is about 34 MiB today (docs/deploy.md). */
const MAX_PACKAGE_MIB = 60;

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

/** Every `app.<trigger>('<name>'` registration in src/, the functions the host must index. */
function registeredInSource(): string[] {
  const names: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const source = readFileSync(full, 'utf8');
        for (const match of source.matchAll(/\bapp\.(\w+)\(\s*'([^']+)'/g))
          names.push(`${match[1]!}:${match[2]!}`);
      }
    }
  };
  walk(path.join(REPO_ROOT, 'src'));
  return names.sort();
}

/**
 * Runs in the unpacked package: records what the entry point registers with @azure/functions
 * (outside the host the library registers nothing, so its registration methods are wrapped),
 * then loads every production dependency. Each module must resolve inside the package.
 */
const LOADER = `
const path = require('node:path');
const root = process.cwd();
const inside = (file) => path.relative(root, file).split(path.sep)[0] !== '..';
const report = { registered: [], dependencies: {}, outside: [] };
const resolve = (name) => {
  const file = require.resolve(name, { paths: [root] });
  if (!inside(file)) report.outside.push(name + ' -> ' + file);
  return file;
};
(async () => {
  const pkg = require(path.join(root, 'package.json'));
  const { app } = require(resolve('@azure/functions'));
  for (const method of Object.keys(app).filter((k) => typeof app[k] === 'function')) {
    const original = app[method];
    app[method] = (...args) => {
      if (typeof args[0] === 'string') report.registered.push(method + ':' + args[0]);
      return original.apply(app, args);
    };
  }
  require(path.join(root, pkg.main));
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    try {
      const file = resolve(name);
      try { require(file); } catch (error) {
        if (error.code !== 'ERR_REQUIRE_ESM') throw error;
        await import(require('node:url').pathToFileURL(file).href);
      }
      report.dependencies[name] = 'ok';
    } catch (error) {
      report.dependencies[name] = String(error && error.message || error).split('\\n')[0];
    }
  }
  for (const file of Object.keys(require.cache)) if (!inside(file)) report.outside.push(file);
  // The library prints its own notices outside the host: the report is the last line.
  process.stdout.write('\\nREPORT ' + JSON.stringify(report) + '\\n');
})().catch((error) => { console.error(error); process.exit(1); });
`;

interface LoadReport {
  registered: string[];
  dependencies: Record<string, string>;
  outside: string[];
}

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
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

  test('holds the entry point, host.json, and dist/src with the JSON it imports', () => {
    const pkg = JSON.parse(readFileSync(path.join(unpacked, 'package.json'), 'utf8')) as { main: string };
    expect(selected).toContain(pkg.main);
    expect(selected).toContain('host.json');
    expect(selected).toContain('dist/package.json');
    expect(
      selected.filter((f) => f.startsWith('dist/schemas/') && f.endsWith('.json')).length,
    ).toBeGreaterThan(0);
    expect(readFileSync(path.join(unpacked, 'host.json'), 'utf8')).toBe(
      readFileSync(path.join(REPO_ROOT, 'host.json'), 'utf8'),
    );
  });

  test('registers every function the source registers, and loads every production dependency, from inside the package', () => {
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
    expect(report.registered.sort()).toEqual(expected);
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(report.dependencies).toEqual(
      Object.fromEntries(Object.keys(pkg.dependencies).map((d) => [d, 'ok'])),
    );
    expect(report.outside).toEqual([]);
  }, 90_000);

  test('holds the production dependency tree of the lock file, and no dev dependency', () => {
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const installed = new Set(
      selected.filter((f) => f.endsWith('/package.json')).map((f) => f.slice(0, -'/package.json'.length)),
    );
    const missing: string[] = [];
    const unwanted: string[] = [];
    for (const [location, entry] of Object.entries(lock.packages)) {
      if (!location.startsWith('node_modules/')) continue;
      if (entry.dev === true) {
        if (installed.has(location)) unwanted.push(location);
      } else if (entry.devOptional !== true && entry.optional !== true && !installed.has(location)) {
        missing.push(location);
      }
    }
    expect(missing).toEqual([]);
    expect(unwanted).toEqual([]);
    for (const tool of [
      'jest',
      'typescript',
      'azurite',
      'eslint',
      'playwright-core',
      'ts-jest',
      'prettier',
      'ignore',
    ]) {
      expect([tool, installed.has(`node_modules/${tool}`)]).toEqual([tool, false]);
    }
  });

  test('holds no source, tests, local tooling, local data or source maps', () => {
    const forbidden = selected.filter(
      (f) =>
        /^(src|test|dev|bench|docs|infra|scripts|coverage|\.gallery-export|gallery-export-demo|\.tools|\.ci|\.git)\//.test(
          f,
        ) ||
        /^dist\/(dev|bench|test)\//.test(f) ||
        /\.map$/.test(f) ||
        /^[^/]+\.ts$/.test(f) ||
        /(^|\/)local\.settings(\.sample)?\.json$/.test(f) ||
        /^(azure\.yaml|tsconfig[^/]*\.json|jest\.config\.js|eslint\.config\.mjs|\.funcignore)$/.test(f),
    );
    expect(forbidden).toEqual([]);
    expect(selected.filter((f) => f.startsWith('dist/src/') && f.endsWith('.ts'))).toEqual([]);
  });

  test(`stays small: under ${MAX_PACKAGE_MIB} MiB unpacked`, () => {
    const bytes = selected.reduce((sum, f) => sum + statSync(path.join(unpacked, f)).size, 0);
    expect(bytes / 2 ** 20).toBeLessThan(MAX_PACKAGE_MIB);
  });

  test("the project root's .funcignore, read with azd's gitignore rules, would keep every file of the package", () => {
    // `func azure functionapp publish` run at the root, or azd pointed at the project root, read
    // it; a pattern matching at any depth there silently drops dist/src or a dependency's folder.
    const rules = ignore().add(readFileSync(path.join(REPO_ROOT, '.funcignore'), 'utf8'));
    const dropped = selected.filter((f) => rules.ignores(f));
    expect(dropped.slice(0, 20)).toEqual([]);
  });
});
