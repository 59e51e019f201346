import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Loads a staged deployment package's entry point the way the Functions worker does, in a fresh process
 * started in the package's folder: `@azure/functions-core` is answered here (the worker provides it and
 * intercepts its loading), so the app registers its functions for real rather than in test mode; the
 * entry is imported (the worker imports an ES module entry, and `import()` of a CommonJS one requires
 * it). Prints one JSON line: the CPU (user + sys) and wall time of that import, and what it registered.
 * Process start (node itself) is not in these figures; the bench meters the whole process as well.
 */
interface LoadFigures {
  cpuMs: number;
  wallMs: number;
  functions: number;
  hooks: number;
}

async function main(): Promise<void> {
  const root = process.cwd();
  let functions = 0;
  let hooks = 0;
  const core = {
    version: '3.10.0',
    setProgrammingModel: (): void => undefined,
    registerFunction: () => {
      functions++;
      return { dispose: (): void => undefined };
    },
    registerHook: () => {
      hooks++;
      return { dispose: (): void => undefined };
    },
    log: (): void => undefined,
  };
  const moduleWithLoad = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = moduleWithLoad._load;
  moduleWithLoad._load = function (this: unknown, request: string, ...rest: unknown[]): unknown {
    return request === '@azure/functions-core' ? core : load.call(this, request, ...rest);
  };
  const { main: entry } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
  // As the worker does: compiled to CommonJS, a literal `import()` would become `require()`, which cannot
  // load an ES module entry.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the worker's own way (eval of import())
  const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await importModule(pathToFileURL(join(root, entry)).href);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const figures: LoadFigures = { cpuMs: (used.user + used.system) / 1000, wallMs, functions, hooks };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
