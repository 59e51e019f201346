/**
 * Policy tests for the infrastructure as code (infra/).
 *
 * The Bicep compiler turns infra/main.bicep into an ARM template; these tests assert the
 * security and operations posture on that template (what Azure would receive), not on the
 * Bicep text. The compiler is found through, in order:
 *   1. BICEP_PATH (when set, it is the only place looked at: BICEP_PATH=/nonexistent hides
 *      every compiler),
 *   2. .tools/bin/bicep, the copy scripts/install-bicep.sh installs (skipped when
 *      BICEP_SEARCH_LOCAL=0),
 *   3. `bicep` on PATH.
 * Without a compiler the suite is skipped with a visible notice, except in CI (CI=true),
 * where it fails: CI must run scripts/install-bicep.sh first.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const INFRA_DIR = path.join(REPO_ROOT, 'infra');
const MAIN_BICEP = path.join(INFRA_DIR, 'main.bicep');
/** Every parameters file of a plain group deployment: without and with private networking. */
const GROUP_PARAMS = ['resources.bicepparam', 'resources.vnet.bicepparam'].map((f) =>
  path.join(INFRA_DIR, f),
);
const VNET_PARAMS = path.join(INFRA_DIR, 'resources.vnet.bicepparam');
const OPERATIONS_DOC = path.join(REPO_ROOT, 'docs', 'operations.md');
const INSTALL_HINT =
  'Install it with `scripts/install-bicep.sh` (or point BICEP_PATH at a Bicep CLI) to run the infrastructure checks.';
const COMPILE_TIMEOUT_MS = 120_000;

/**
 * Compiler diagnostics tolerated on purpose, each with its reason. Empty: `bicep build` and
 * `bicep lint` must print nothing at all. Add an entry only with an explanation.
 */
const EXPLAINED_DIAGNOSTICS: readonly { code: string; reason: string }[] = [];

// --- Built-in role definition IDs -------------------------------------------------------------

const ROLE = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageQueueDataReader: '19e7f393-937e-4f77-808e-94535e297925',
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed',
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424',
  keyVaultCryptoOfficer: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;

/** Broad roles that must never be granted by this template. */
const FORBIDDEN_ROLES = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  userAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  roleBasedAccessControlAdministrator: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168',
  keyVaultAdministrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
} as const;

const STORAGE = 'Microsoft.Storage/storageAccounts';
const CONTAINER = 'Microsoft.Storage/storageAccounts/blobServices/containers';
const QUEUE = 'Microsoft.Storage/storageAccounts/queueServices/queues';
const VAULT = 'Microsoft.KeyVault/vaults';
const KEY = 'Microsoft.KeyVault/vaults/keys';
const APP_INSIGHTS = 'Microsoft.Insights/components';
const DIAGNOSTIC_SETTINGS = 'Microsoft.Insights/diagnosticSettings';

type Principal = 'app' | 'deployer';

/**
 * Every role assignment the template may make: (role set, principal, scope). A scope is written
 * `<resource type>(<name segments>)`, each segment the parameter of resources.bicep (or the
 * `names` entry) it comes from, so that "the exports container" and "the host account" differ.
 */
const EXPECTED_ROLE_ASSIGNMENTS: readonly {
  roles: readonly string[];
  principal: Principal;
  scope: string;
}[] = [
  { roles: [ROLE.storageBlobDataOwner], principal: 'app', scope: `${STORAGE}(names.hostStorage)` },
  { roles: [ROLE.storageTableDataContributor], principal: 'app', scope: `${STORAGE}(names.hostStorage)` },
  {
    roles: [ROLE.storageBlobDataOwner],
    principal: 'app',
    scope: `${CONTAINER}(names.exportStorage,default,exportContainer)`,
  },
  // Each queue: Reader + Message Processor for its trigger, Message Sender for what is put on it (the
  // app enqueues authors; the host moves failed messages to the poison queue, which the template
  // creates, so the host never has to create it). Never Contributor: no queue to create or delete.
  ...[
    ROLE.storageQueueDataReader,
    ROLE.storageQueueDataMessageProcessor,
    ROLE.storageQueueDataMessageSender,
  ].flatMap((role) =>
    ['exportQueue', 'exportQueue-poison'].map((queue) => ({
      roles: [role],
      principal: 'app' as const,
      scope: `${QUEUE}(names.exportStorage,default,${queue})`,
    })),
  ),
  { roles: [ROLE.keyVaultSecretsUser], principal: 'app', scope: `${VAULT}(names.keyVault)` },
  // Vault scope: the key does not exist yet when the roles are assigned (the postprovision hook
  // creates it), and the vault holds no other key.
  { roles: [ROLE.keyVaultCryptoUser], principal: 'app', scope: `${VAULT}(names.keyVault)` },
  {
    roles: [ROLE.monitoringMetricsPublisher],
    principal: 'app',
    scope: `${APP_INSIGHTS}(names.applicationInsights)`,
  },
  { roles: [ROLE.keyVaultSecretsOfficer], principal: 'deployer', scope: `${VAULT}(names.keyVault)` },
  // The deployer creates the signing key (scripts/create-signing-key.js), rotates it and reads its
  // public part (`public-key`).
  { roles: [ROLE.keyVaultCryptoOfficer], principal: 'deployer', scope: `${VAULT}(names.keyVault)` },
  {
    // deployerStorageRole picks one of these.
    roles: [ROLE.storageBlobDataReader, ROLE.storageBlobDataContributor, ROLE.storageBlobDataOwner],
    principal: 'deployer',
    scope: `${STORAGE}(names.exportStorage)`,
  },
];

/** The contract's settings, the main.bicep parameter behind each, and the contract's default. */
const CONTRACT_SETTINGS: readonly { setting: string; param: string; defaultValue: string | number | null }[] =
  [
    {
      setting: 'CATALOG_BASE_URL',
      param: 'catalogBaseUrl',
      defaultValue: 'https://catalog.cortanaanalytics.com',
    },
    { setting: 'KEY_VAULT_URL', param: '', defaultValue: null }, // the vault's URI, not a parameter
    { setting: 'AUTHOR_SECRET_PREFIX', param: 'authorSecretPrefix', defaultValue: 'gallery-author-' },
    { setting: 'EXPORT_CONTAINER', param: 'exportContainer', defaultValue: 'gallery-exports' },
    { setting: 'EXPORT_QUEUE', param: 'exportQueue', defaultValue: 'gallery-export-authors' },
    { setting: 'EXPORT_SCHEDULE', param: 'exportSchedule', defaultValue: '0 0 2 * * *' },
    { setting: 'CATALOG_PAGE_SIZE', param: 'catalogPageSize', defaultValue: 100 },
    { setting: 'CATALOG_CONCURRENCY', param: 'catalogConcurrency', defaultValue: 8 },
    { setting: 'CATALOG_MAX_RETRIES', param: 'catalogMaxRetries', defaultValue: 5 },
    { setting: 'CATALOG_TIMEOUT_MS', param: 'catalogTimeoutMs', defaultValue: 30000 },
    // The contract's default is "empty: no signing"; the templates create the key and set it.
    { setting: 'SIGNING_KEY_NAME', param: '', defaultValue: null },
  ];

/** The OpenTelemetry instruments of the app (names the integrator implements). */
const METRICS = [
  'gallery_export.runs',
  'gallery_export.run.duration',
  'gallery_export.authors',
  'gallery_export.entities.exported',
  'gallery_export.catalog.requests',
  'gallery_export.catalog.throttled',
  'gallery_export.catalog.retries',
  'gallery_export.catalog.duration',
  'gallery_export.tokens.expiring',
] as const;

// --- Locating the compiler --------------------------------------------------------------------

type CompilerLookup = { found: true; path: string; source: string } | { found: false; reason: string };

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function locateBicep(env: NodeJS.ProcessEnv): CompilerLookup {
  const explicit = env.BICEP_PATH;
  if (explicit !== undefined && explicit !== '') {
    return isExecutableFile(explicit)
      ? { found: true, path: explicit, source: 'BICEP_PATH' }
      : { found: false, reason: `BICEP_PATH=${explicit} is not an executable file.` };
  }
  if (env.BICEP_SEARCH_LOCAL !== '0') {
    const local = path.join(REPO_ROOT, '.tools', 'bin', 'bicep');
    if (isExecutableFile(local)) return { found: true, path: local, source: '.tools/bin/bicep' };
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'bicep');
    if (isExecutableFile(candidate)) return { found: true, path: candidate, source: 'PATH' };
  }
  return {
    found: false,
    reason:
      env.BICEP_SEARCH_LOCAL === '0'
        ? 'No Bicep CLI on PATH (.tools/ not searched: BICEP_SEARCH_LOCAL=0).'
        : 'No Bicep CLI in .tools/bin/bicep or on PATH.',
  };
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBicep(bicep: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bicep, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), COMPILE_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

/** Diagnostics the compiler printed that are not in EXPLAINED_DIAGNOSTICS. */
function unexplainedDiagnostics(output: string): string[] {
  return output
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .filter((line) => {
      const match = /\) : (?:Warning|Error|Info) ([\w-]+):/.exec(line);
      return !(match !== null && EXPLAINED_DIAGNOSTICS.some((d) => d.code === match[1]));
    });
}

// --- Reading the ARM template -----------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | JsonObject;
interface JsonObject {
  [key: string]: Json;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(value: Json | undefined, ...keys: (string | number)[]): Json | undefined {
  let current: Json | undefined = value;
  for (const key of keys) {
    if (typeof key === 'number') {
      current = Array.isArray(current) ? current[key] : undefined;
    } else {
      current = isObject(current) ? current[key] : undefined;
    }
  }
  return current;
}

function objectAt(value: Json | undefined, what: string): JsonObject {
  if (!isObject(value)) throw new Error(`${what}: expected an object, got ${JSON.stringify(value)}`);
  return value;
}

function stringAt(value: Json | undefined, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** One (nested) template: the top-level one, or a module's. */
interface TemplateNode {
  label: string;
  template: JsonObject;
  parent?: { node: TemplateNode; deployment: JsonObject };
}

interface ArmResource {
  node: TemplateNode;
  symbol: string;
  type: string;
  body: JsonObject;
}

function resourceEntries(template: JsonObject): [string, JsonObject][] {
  const resources = template.resources;
  // languageVersion 2.0 templates key resources by symbolic name; 1.0 templates list them.
  if (Array.isArray(resources)) return resources.map((r, i) => [String(i), objectAt(r, `resources[${i}]`)]);
  if (isObject(resources))
    return Object.entries(resources).map(([k, r]) => [k, objectAt(r, `resources.${k}`)]);
  return [];
}

/** Every resource the deployment creates (not `existing` references), modules included. */
function collectResources(node: TemplateNode, into: ArmResource[] = []): ArmResource[] {
  for (const [symbol, body] of resourceEntries(node.template)) {
    if (body.existing === true) continue;
    const type = stringAt(body.type, `${node.label}/${symbol}.type`);
    into.push({ node, symbol, type, body });
    if (type === 'Microsoft.Resources/deployments') {
      const child: TemplateNode = {
        label: `${node.label}/${symbol}`,
        template: objectAt(at(body, 'properties', 'template'), `${node.label}/${symbol} template`),
        parent: { node, deployment: body },
      };
      collectResources(child, into);
    }
  }
  return into;
}

function allTemplates(root: TemplateNode, resources: readonly ArmResource[]): TemplateNode[] {
  return [root, ...new Set(resources.map((r) => r.node))].filter((n, i, a) => a.indexOf(n) === i);
}

function ofType(resources: readonly ArmResource[], type: string): ArmResource[] {
  return resources.filter((r) => r.type.toLowerCase() === type.toLowerCase());
}

function single(resources: readonly ArmResource[], type: string): ArmResource {
  const found = ofType(resources, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}

/** Names X of every `parameters('X')` in an expression (or in a JSON value's strings). */
function parameterRefs(value: Json | undefined): string[] {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return [...text.matchAll(/parameters\('(\w+)'\)/g)].map((m) => m[1]!);
}

/**
 * Follows a module parameter up through the modules that pass it on unchanged
 * (`[parameters('x')]`) and returns the name of the top-level (main.bicep) parameter it comes
 * from; throws when some module computes it instead of passing a parameter through.
 */
function topLevelParameter(node: TemplateNode, name: string): string {
  if (!isObject(at(node.template, 'parameters', name))) {
    throw new Error(`${node.label} has no parameter ${name}`);
  }
  if (node.parent === undefined) return name;
  const passed = at(node.parent.deployment, 'properties', 'parameters', name, 'value');
  const match = typeof passed === 'string' ? /^\[parameters\('(\w+)'\)\]$/.exec(passed) : null;
  if (match === null) {
    throw new Error(`${node.label}: parameter ${name} is not passed through (got ${JSON.stringify(passed)})`);
  }
  return topLevelParameter(node.parent.node, match[1]!);
}

/**
 * Top-level parameters a value (an expression) is computed from. A module parameter that is
 * computed rather than passed through shows as `~<name>`, so that exact comparisons fail on it.
 */
function topLevelParametersOf(node: TemplateNode, value: Json | undefined): string[] {
  return parameterRefs(value).map((p) => {
    try {
      return topLevelParameter(node, p);
    } catch {
      return `~${p}`;
    }
  });
}

/** The template of a module (a Microsoft.Resources/deployments resource). */
function moduleNode(resources: readonly ArmResource[], from: TemplateNode, symbol: string): TemplateNode {
  const deployment = resources.find(
    (r) => r.node === from && r.symbol === symbol && r.type === 'Microsoft.Resources/deployments',
  );
  const child = resources.find((r) => r.node.parent?.deployment === deployment?.body)?.node;
  if (child === undefined) throw new Error(`${from.label} has no module ${symbol}`);
  return child;
}

/** The value a module receives for one of its parameters, as written in the parent template. */
function passedValue(node: TemplateNode, name: string): Json | undefined {
  if (node.parent === undefined) throw new Error(`${node.label} is the top-level template`);
  return at(node.parent.deployment, 'properties', 'parameters', name, 'value');
}

/**
 * Replaces `variables('x').a.b` in an expression by the variable's value (its expression when it
 * is one, its JSON otherwise), until no variable is left.
 */
function expandVariables(expression: string, template: JsonObject): string {
  const variables = objectAt(template.variables ?? {}, 'variables');
  let text = expression;
  for (let depth = 0; depth < 10 && text.includes('variables('); depth += 1) {
    text = text.replace(/variables\('(\w+)'\)((?:\.\w+)*)/g, (_whole, name: string, dotted: string) => {
      const keys = dotted.split('.').filter((k) => k !== '');
      const value = at(variables[name], ...keys);
      if (value === undefined) throw new Error(`unknown variable ${name}${dotted}`);
      if (typeof value === 'string') {
        return value.startsWith('[') && value.endsWith(']') ? `(${value.slice(1, -1)})` : `'${value}'`;
      }
      return JSON.stringify(value);
    });
  }
  return text;
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function guidsIn(text: string): string[] {
  return [...new Set([...text.matchAll(GUID)].map((m) => m[0].toLowerCase()))].sort();
}

/**
 * Where a module parameter's value comes from, described relative to resources.bicep: a `names`
 * entry (`names.hostStorage`) or a parameter passed down unchanged (`exportContainer`).
 */
function originOf(node: TemplateNode, name: string): string {
  if (node.parent === undefined) return name;
  const passed = stringAt(passedValue(node, name), `${node.label}: parameter ${name}`);
  const fromNames = /^\[variables\('names'\)\.(\w+)\]$/.exec(passed);
  if (fromNames !== null) return `names.${fromNames[1]!}`;
  const fromParameter = /^\[parameters\('(\w+)'\)\]$/.exec(passed);
  if (fromParameter !== null) return originOf(node.parent.node, fromParameter[1]!);
  throw new Error(`${node.label}: parameter ${name} is computed (${passed})`);
}

/**
 * A scope `[resourceId('<type>', a, b, ...)]` as `<type>(a,b,...)`, each name segment written as
 * its origin (originOf); a single resource, never a group or a subscription.
 */
function describeScope(node: TemplateNode, scope: string): string {
  if (!scope.startsWith('[') || !scope.endsWith(']')) throw new Error(`scope ${scope} is not an expression`);
  const ast = parseExpression(scope.slice(1, -1));
  if (ast.kind !== 'call' || ast.name !== 'resourceId')
    throw new Error(`scope ${scope} is not resourceId(...)`);
  const [type, ...segments] = ast.args;
  if (type?.kind !== 'literal' || typeof type.value !== 'string') throw new Error(`scope ${scope}: no type`);
  const segment = (a: Ast): string => {
    if (a.kind === 'literal') return text(a.value);
    if (a.kind === 'call' && a.name === 'parameters' && a.args[0]?.kind === 'literal') {
      return originOf(node, text(a.args[0].value));
    }
    if (a.kind === 'call' && a.name === 'format' && a.args[0]?.kind === 'literal') {
      const rest = a.args.slice(1).map(segment);
      return text(a.args[0].value).replace(/\{(\d+)\}/g, (_m, i: string) => rest[Number(i)]!);
    }
    throw new Error(`scope ${scope}: segment ${JSON.stringify(a)} not understood`);
  };
  return `${type.value}(${segments.map(segment).join(',')})`;
}

/** The resources of one module (by its symbol in resources.bicep), e.g. 'hostStorage'. */
function inModule(resources: readonly ArmResource[], module: string): ArmResource[] {
  return resources.filter((r) => r.node.label === `main/resources/${module}`);
}

function singleIn(resources: readonly ArmResource[], module: string, type: string): ArmResource {
  return single(inModule(resources, module), type);
}

// --- KQL parse patterns, run in JavaScript ----------------------------------------------------

/**
 * Turns the pattern of a KQL `parse kind=simple ... with <pattern>` into a RegExp that extracts
 * the same columns, so the patterns can be tried on the log lines the app writes. Covers what
 * the alerts use: "literals", `*`, `name:string` and `name:long`.
 */
function kqlSimpleParseToRegExp(pattern: string): { regexp: RegExp; columns: string[] } {
  const tokens = [...pattern.matchAll(/"((?:[^"\\]|\\.)*)"|(\*)|(\w+)(?::(\w+))?/g)];
  const columns: string[] = [];
  let source = '^';
  tokens.forEach((token, index) => {
    const isLast = index === tokens.length - 1;
    if (token[1] !== undefined) {
      source += token[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (token[2] !== undefined) {
      source += isLast ? '.*' : '.*?';
    } else {
      const type = token[4] ?? 'string';
      columns.push(token[3]!);
      if (type === 'long') source += '(-?\\d+)';
      else if (type === 'string') source += isLast ? '(.*)' : '(.*?)';
      else throw new Error(`column type ${type} not supported by this test`);
    }
  });
  return { regexp: new RegExp(`${source}$`), columns };
}

/**
 * What `parse` extracts from a log line, or null when the query's `where message contains_cs`
 * filters drop the line or the pattern does not match it.
 */
function parseLine(query: string, line: string): Record<string, string> | null {
  const filters = [...query.matchAll(/where message contains_cs "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
  if (filters.length === 0) throw new Error(`no "where message contains_cs" in query:\n${query}`);
  if (!filters.every((f) => line.includes(f))) return null;
  const match = /parse kind=simple message with (.*)$/m.exec(query);
  if (match === null) throw new Error(`no "parse kind=simple message with" in query:\n${query}`);
  const { regexp, columns } = kqlSimpleParseToRegExp(match[1]!);
  const values = regexp.exec(line);
  if (values === null) return null;
  return Object.fromEntries(columns.map((c, i) => [c, values[i + 1]!]));
}

// --- A small ARM expression evaluator ---------------------------------------------------------

const SUBSCRIPTION_ID = '00000000-0000-0000-0000-00000000a11c';

/** Values of top-level (main.bicep) parameters that replace their defaults in an evaluation. */
type Overrides = Readonly<Record<string, Json>>;

type Ast =
  | { kind: 'literal'; value: Json }
  | { kind: 'call'; name: string; args: Ast[] }
  | { kind: 'property'; target: Ast; key: string }
  | { kind: 'index'; target: Ast; index: Ast };

/** What `guid(...)` stands for in an evaluation: a hash of its arguments, in their order. */
function standInGuid(args: readonly Json[]): string {
  return createHash('sha256').update(args.map(text).join('|')).digest('hex').slice(0, 32);
}

/**
 * What `reference(...)` stands for in an evaluation: a runtime value, named by the path that reads it
 * (`reference('identity').outputs.principalId.value` is `{ reference: "identity.outputs.principalId.value" }`).
 */
function runtimeValue(path: string): JsonObject {
  return { reference: path };
}

function isRuntimeValue(value: Json | undefined): value is { reference: string } {
  return isObject(value) && Object.keys(value).length === 1 && typeof value.reference === 'string';
}

/**
 * Evaluates the ARM template expressions this project uses (text, logic, comparisons,
 * parameters, variables, fail()), with every parameter at its default as passed down through
 * the modules, unless overridden. Enough to read an alert's query, or a lifecycle rule, as Azure
 * will; any other function is an error, not a guess. `if()` evaluates only the branch taken, as
 * ARM does, so fail() guards can be exercised.
 */
function evaluate(value: Json | undefined, node: TemplateNode, overrides: Overrides = {}): Json {
  if (value === undefined) throw new Error(`${node.label}: nothing to evaluate`);
  if (typeof value === 'string') {
    if (!value.startsWith('[') || value.startsWith('[[') || !value.endsWith(']')) return value;
    return evaluateAst(parseExpression(value.slice(1, -1)), node, overrides);
  }
  if (Array.isArray(value)) return value.map((v) => evaluate(v, node, overrides));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, node, overrides)]));
  }
  return value;
}

/** ARM's string conversion: primitives as text, arrays and objects as JSON. */
function text(value: Json | undefined): string {
  if (value === undefined) return 'undefined';
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function parameterValue(node: TemplateNode, name: string, overrides: Overrides): Json {
  if (node.parent !== undefined) {
    return evaluate(
      at(node.parent.deployment, 'properties', 'parameters', name, 'value'),
      node.parent.node,
      overrides,
    );
  }
  if (Object.prototype.hasOwnProperty.call(overrides, name)) return overrides[name]!;
  const fallback = at(node.template, 'parameters', name, 'defaultValue');
  if (fallback === undefined) throw new Error(`parameter ${name} has no default`);
  return evaluate(fallback, node, overrides);
}

function evaluateAst(ast: Ast, node: TemplateNode, overrides: Overrides): Json {
  if (ast.kind === 'literal') return ast.value;
  if (ast.kind === 'property') {
    const target = evaluateAst(ast.target, node, overrides);
    if (isRuntimeValue(target)) return runtimeValue(`${target.reference}.${ast.key}`);
    return at(target, ast.key) ?? null;
  }
  if (ast.kind === 'index') {
    const target = evaluateAst(ast.target, node, overrides);
    const index = evaluateAst(ast.index, node, overrides);
    return (typeof index === 'number' ? at(target, index) : at(target, text(index))) ?? null;
  }
  const arg = (i: number): Json => {
    const a = ast.args[i];
    if (a === undefined) throw new Error(`${ast.name}(): argument ${i} missing`);
    return evaluateAst(a, node, overrides);
  };
  const all = (): Json[] => ast.args.map((_a, i) => arg(i));
  switch (ast.name) {
    case 'if':
      return arg(0) === true ? arg(1) : arg(2);
    case 'fail':
      throw new Error(`fail(): ${text(arg(0))}`);
    case 'parameters':
      return parameterValue(node, text(arg(0)), overrides);
    case 'variables':
      return evaluate(at(node.template, 'variables', text(arg(0))), node, overrides);
    case 'format': {
      const [template, ...rest] = all();
      return text(template).replace(/\{(\d+)\}/g, (_m, i: string) => text(rest[Number(i)]));
    }
    case 'createArray':
      return all();
    case 'createObject': {
      const args = all();
      const result: JsonObject = {};
      for (let i = 0; i + 1 < args.length; i += 2) result[text(args[i])] = args[i + 1]!;
      return result;
    }
    case 'join':
      return (arg(0) as Json[]).map(text).join(text(arg(1)));
    case 'concat': {
      const values = all();
      return values.every(Array.isArray) ? values.flat() : values.map(text).join('');
    }
    case 'tryGet':
      return at(arg(0), text(arg(1))) ?? null;
    case 'coalesce':
      return all().find((v) => v !== null) ?? null;
    case 'subscriptionResourceId': {
      const [type, ...names] = all().map(text);
      const [namespace, ...types] = type!.split('/');
      const segments = types.flatMap((t, i) => [t, names[i]!]);
      return `/subscriptions/${SUBSCRIPTION_ID}/providers/${namespace!}/${segments.join('/')}`;
    }
    case 'extensionResourceId': {
      const [scope, type, ...names] = all().map(text);
      const [namespace, ...types] = type!.split('/');
      const segments = types.flatMap((t, i) => [t, names[i]!]);
      return `${scope!}/providers/${namespace!}/${segments.join('/')}`;
    }
    case 'guid':
      return standInGuid(all());
    case 'reference':
      return runtimeValue(text(arg(0)));
    case 'string':
      return text(arg(0));
    case 'mul':
      return Number(arg(0)) * Number(arg(1));
    case 'equals':
      return JSON.stringify(arg(0)) === JSON.stringify(arg(1));
    case 'less':
      return Number(arg(0)) < Number(arg(1));
    case 'greater':
      return Number(arg(0)) > Number(arg(1));
    case 'not':
      return arg(0) !== true;
    case 'and':
      return all().every((v) => v === true);
    case 'or':
      return all().some((v) => v === true);
    case 'contains': {
      const [container, item] = [arg(0), arg(1)];
      if (Array.isArray(container)) return container.some((v) => JSON.stringify(v) === JSON.stringify(item));
      if (isObject(container)) return Object.prototype.hasOwnProperty.call(container, text(item));
      return text(container).includes(text(item));
    }
    case 'union': {
      const values = all();
      if (values.every(Array.isArray))
        return [...new Set(values.flat().map((v) => JSON.stringify(v)))].map((v) => JSON.parse(v) as Json);
      return Object.assign({}, ...values.map((v) => objectAt(v, 'union() argument'))) as JsonObject;
    }
    case 'replace':
      return text(arg(0))
        .split(text(arg(1)))
        .join(text(arg(2)));
    case 'toLower':
      return text(arg(0)).toLowerCase();
    case 'add':
      return Number(arg(0)) + Number(arg(1));
    case 'greaterOrEquals':
      return Number(arg(0)) >= Number(arg(1));
    case 'lessOrEquals':
      return Number(arg(0)) <= Number(arg(1));
    case 'empty': {
      const v = arg(0);
      return (
        v === null ||
        v === '' ||
        (Array.isArray(v) && v.length === 0) ||
        (isObject(v) && Object.keys(v).length === 0)
      );
    }
    // Stand-ins for the deployment's context, enough to follow names into resource IDs.
    case 'subscription':
      return { id: `/subscriptions/${SUBSCRIPTION_ID}`, subscriptionId: SUBSCRIPTION_ID };
    case 'resourceGroup':
      return {
        id: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-test`,
        name: 'rg-test',
        location: 'swedencentral',
      };
    case 'uniqueString':
      return createHash('sha256').update(all().map(text).join('|')).digest('hex').slice(0, 13);
    case 'resourceId': {
      const [type, ...names] = all().map(text);
      const [namespace, ...types] = type!.split('/');
      const segments = types.flatMap((t, i) => [t, names[i]!]);
      return `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-test/providers/${namespace!}/${segments.join('/')}`;
    }
    case 'null':
      return null;
    case 'true':
      return true;
    case 'false':
      return false;
    default:
      throw new Error(`function ${ast.name}() is not supported by this test's evaluator`);
  }
}

function parseExpression(source: string): Ast {
  let position = 0;
  const skipSpace = (): void => {
    while (source[position] === ' ') position += 1;
  };
  const peek = (): string | undefined => {
    skipSpace();
    return source[position];
  };
  const expect = (char: string): void => {
    if (peek() !== char) throw new Error(`"${char}" expected at "${source.slice(position)}"`);
    position += 1;
  };
  const identifier = (): string => {
    skipSpace();
    const match = /^\w+/.exec(source.slice(position));
    if (match === null) throw new Error(`identifier expected at "${source.slice(position)}"`);
    position += match[0].length;
    return match[0];
  };
  const stringLiteral = (): string => {
    expect("'");
    let out = '';
    for (;;) {
      const char = source[position];
      if (char === undefined) throw new Error('unterminated string');
      position += 1;
      if (char === "'") {
        if (source[position] !== "'") return out;
        position += 1;
      }
      out += char;
    }
  };
  const primary = (): Ast => {
    const next = peek();
    if (next === "'") return { kind: 'literal', value: stringLiteral() };
    if (next !== undefined && /[-\d]/.test(next)) {
      const match = /^-?\d+/.exec(source.slice(position))!;
      position += match[0].length;
      return { kind: 'literal', value: Number(match[0]) };
    }
    const name = identifier();
    expect('(');
    const args: Ast[] = [];
    while (peek() !== ')') {
      args.push(expression());
      if (peek() === ',') position += 1;
    }
    expect(')');
    return { kind: 'call', name, args };
  };
  const expression = (): Ast => {
    let ast = primary();
    for (;;) {
      if (peek() === '.') {
        position += 1;
        ast = { kind: 'property', target: ast, key: identifier() };
      } else if (peek() === '[') {
        position += 1;
        ast = { kind: 'index', target: ast, index: expression() };
        expect(']');
      } else {
        return ast;
      }
    }
  };
  const ast = expression();
  skipSpace();
  if (position !== source.length) throw new Error(`unexpected "${source.slice(position)}"`);
  return ast;
}

// --- Static files (no compiler needed) --------------------------------------------------------

/** The `api` service block of azure.yaml, and the whole file. */
function azureYaml(): { yaml: string; api: string } {
  const yaml = readFileSync(path.join(REPO_ROOT, 'azure.yaml'), 'utf8');
  const api = /^ {2}api:\n((?: {4}.*\n?|\s*\n)+)/m.exec(yaml);
  if (api === null) throw new Error('azure.yaml has no services.api block');
  return { yaml, api: api[1]! };
}

describe('infrastructure files', () => {
  test('bicepconfig.json keeps the linter on, with the security rules at error level', () => {
    // bicepconfig.json may hold whole-line // comments (Bicep reads it as JSON with comments).
    const source = readFileSync(path.join(INFRA_DIR, 'bicepconfig.json'), 'utf8');
    const config = JSON.parse(source.replace(/^\s*\/\/.*$/gm, '')) as Json;
    expect(at(config, 'analyzers', 'core', 'enabled')).toBe(true);
    for (const rule of [
      'no-hardcoded-env-urls',
      'no-unused-params',
      'no-unused-vars',
      'secure-parameter-default',
      'outputs-should-not-contain-secrets',
      'use-secure-value-for-secure-inputs',
      'adminusername-should-not-be-literal',
      'use-stable-resource-identifiers',
      'prefer-interpolation',
      'secure-secrets-in-params',
      'no-hardcoded-location',
    ]) {
      expect([rule, at(config, 'analyzers', 'core', 'rules', rule, 'level')]).toEqual([rule, 'error']);
    }
  });

  test('azure.yaml deploys the staged package as the `api` TypeScript function service, without remote build', () => {
    const { yaml, api } = azureYaml();
    expect(api).toMatch(/^ {4}project: \.\s*$/m);
    expect(api).toMatch(/^ {4}language: ts\s*$/m);
    expect(api).toMatch(/^ {4}host: function\s*$/m);
    // azd zips what `dist` names (test/package checks its content) and uploads it as it is.
    expect(api).toMatch(/^ {4}dist: \.deploy\/api\s*$/m);
    expect(api).toMatch(/^ {4}remoteBuild: false\s*$/m);
    // The package is staged by the prepackage hook, on every platform.
    expect(api).toMatch(/^ {6}prepackage:\n(?: {8}.*\n)*? {10}run: node scripts\/package\.js\s*$/m);
    expect(yaml).toMatch(/^ {2}path: infra\s*$/m);
    expect(yaml).toMatch(/^ {2}module: main\s*$/m);
    // remoteBuild (1.23.5) and .funcignore parsed as gitignore with negations fixed (1.23.13).
    expect(yaml).toMatch(/^requiredVersions:\n {2}azd: ['"]>= ?1\.23\.13['"]\s*$/m);
    // After provisioning, on every platform: the signing key is created (once the deployer's Key
    // Vault role works), then the first deployment waits for the identity's storage role.
    const postprovision = /^ {2}postprovision:\n((?: {4}.*\n)+)/m.exec(yaml)?.[1] ?? '';
    const runs = [...postprovision.matchAll(/^ {6}run: (.*)$/gm)].map((m) => m[1]!.trim());
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      // ...then the roles the deployment replaced are revoked, then the wait.
      expect(run.split('&&').map((step) => step.trim())).toEqual([
        'node scripts/create-signing-key.js',
        'node scripts/revoke-replaced-roles.js',
        'node scripts/wait-for-role-propagation.js',
      ]);
    }
  });

  test("the root .funcignore, read with gitignore rules as azd reads it, keeps node_modules (azd's remoteBuild: false requires it)", () => {
    // azd refuses `remoteBuild: false` when the project's .funcignore excludes node_modules.
    const lines = readFileSync(path.join(REPO_ROOT, '.funcignore'), 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines.filter((l) => /^\/?node_modules\/?$/.test(l))).toEqual([]);
  });

  test('main.parameters.json feeds the azd environment into the template', () => {
    const params = JSON.parse(readFileSync(path.join(INFRA_DIR, 'main.parameters.json'), 'utf8')) as Json;
    expect(at(params, 'parameters', 'environmentName', 'value')).toBe('${AZURE_ENV_NAME}');
    expect(at(params, 'parameters', 'location', 'value')).toBe('${AZURE_LOCATION}');
    expect(at(params, 'parameters', 'principalId', 'value')).toBe('${AZURE_PRINCIPAL_ID}');
    // azd substitutes the signed-in principal's type itself (User or ServicePrincipal).
    expect(at(params, 'parameters', 'principalType', 'value')).toBe('${AZURE_PRINCIPAL_TYPE}');
    expect(at(params, 'parameters', 'vnetEnabled', 'value')).toBe('${GALLERY_EXPORT_VNET_ENABLED=false}');
    expect(at(params, 'parameters', 'keyVaultPurgeProtection', 'value')).toBe(
      '${GALLERY_EXPORT_KEY_VAULT_PURGE_PROTECTION=true}',
    );
  });

  test('the private-networking parameters file turns vnetEnabled on, and the vault private', () => {
    const source = readFileSync(VNET_PARAMS, 'utf8');
    expect(source).toMatch(/^using 'resources\.bicep'$/m);
    expect(source).toMatch(/^param vnetEnabled = true$/m);
    expect(source).toMatch(/^param keyVaultPublicNetworkAccess = 'Disabled'$/m);
  });
});

// --- The compiled template --------------------------------------------------------------------

const lookup = locateBicep(process.env);

if (!lookup.found) {
  const message = `Bicep CLI not found: ${lookup.reason} ${INSTALL_HINT}`;
  if (process.env.CI === 'true') {
    describe('Bicep templates', () => {
      test('the Bicep CLI is available (required when CI=true)', () => {
        throw new Error(message);
      });
    });
  } else {
    console.warn(`[test/infra] SKIPPED: ${message}`);
    describe.skip(`Bicep templates (SKIPPED: ${message})`, () => {
      test('compile and check infra/main.bicep', () => undefined);
    });
  }
} else {
  const bicep = lookup.path;

  describe(`Bicep templates (compiler from ${lookup.source})`, () => {
    let build: RunResult;
    let lint: RunResult;
    let paramBuilds: { file: string; build: RunResult; lint: RunResult }[];
    let template: JsonObject;
    let root: TemplateNode;
    let resources: ArmResource[];
    /** The values azd or the caller supplies for the parameters without a default. */
    const CONTEXT: Overrides = { environmentName: 'test', location: 'swedencentral' };
    /** Private networking on, everything else at its default. */
    const VNET: Overrides = { ...CONTEXT, vnetEnabled: true };

    beforeAll(async () => {
      const [mainBuild, mainLint, ...params] = await Promise.all([
        runBicep(bicep, ['build', MAIN_BICEP, '--stdout']),
        runBicep(bicep, ['lint', MAIN_BICEP]),
        ...GROUP_PARAMS.flatMap((file) => [
          runBicep(bicep, ['build-params', file, '--stdout']),
          runBicep(bicep, ['lint', file]),
        ]),
      ]);
      build = mainBuild!;
      lint = mainLint!;
      paramBuilds = GROUP_PARAMS.map((file, i) => ({
        file,
        build: params[2 * i]!,
        lint: params[2 * i + 1]!,
      }));
      if (build.code !== 0) throw new Error(`bicep build failed (${build.code}):\n${build.stderr}`);
      template = objectAt(JSON.parse(build.stdout) as Json, 'template');
      root = { label: 'main', template };
      resources = collectResources(root);
    }, COMPILE_TIMEOUT_MS);

    /** The parameter values a parameters file sets (bicep build-params). */
    const parameterFileValues = (file: string): Record<string, Json> => {
      const built = paramBuilds.find((p) => p.file === file)!.build;
      const json = JSON.parse(
        stringAt(at(JSON.parse(built.stdout) as Json, 'parametersJson'), 'parametersJson'),
      ) as Json;
      return Object.fromEntries(
        Object.entries(objectAt(at(json, 'parameters'), 'parameters')).map(([k, v]) => [
          k,
          at(v, 'value') ?? null,
        ]),
      );
    };

    describe('compiler', () => {
      test('`bicep build` succeeds without diagnostics', () => {
        expect(build.code).toBe(0);
        expect(unexplainedDiagnostics(build.stderr)).toEqual([]);
      });

      test('`bicep lint` (main.bicep and every module) reports nothing', () => {
        expect(unexplainedDiagnostics(lint.stdout + lint.stderr)).toEqual([]);
        expect(lint.code).toBe(0);
      });

      test('`bicep build-params` and `bicep lint` accept both parameters files (without and with private networking)', () => {
        expect(paramBuilds).toHaveLength(2);
        for (const { file, build: built, lint: linted } of paramBuilds) {
          const name = path.basename(file);
          expect([name, unexplainedDiagnostics(built.stderr)]).toEqual([name, []]);
          expect([name, built.code]).toEqual([name, 0]);
          expect(parameterFileValues(file)).toHaveProperty('environmentName');
          expect([name, unexplainedDiagnostics(linted.stdout + linted.stderr)]).toEqual([name, []]);
          expect([name, linted.code]).toEqual([name, 0]);
        }
        expect(parameterFileValues(VNET_PARAMS)).toMatchObject({ vnetEnabled: true });
        expect(parameterFileValues(GROUP_PARAMS[0]!)).not.toHaveProperty('vnetEnabled');
      });
    });

    describe('parameters', () => {
      test('main.bicep (azd) and resources.bicep (az deployment group) declare the same parameters', () => {
        const mainParams = objectAt(template.parameters, 'main parameters');
        const group = moduleNode(resources, root, 'resources');
        const deployment = group.parent!.deployment;
        const groupParams = objectAt(group.template.parameters, 'resources.bicep parameters');
        const mainOnly = ['resourceGroupName'];
        expect(
          Object.keys(mainParams)
            .filter((p) => !mainOnly.includes(p))
            .sort(),
        ).toEqual(Object.keys(groupParams).sort());
        for (const [name, definition] of Object.entries(groupParams)) {
          // Same type, default, bounds, allowed values and description. Except location: required
          // and prompted by azd in main, the group's own location by default in resources.
          if (name !== 'location') expect([name, mainParams[name]]).toEqual([name, definition]);
          // ...and main passes every one through unchanged.
          expect([name, at(deployment, 'properties', 'parameters', name, 'value')]).toEqual([
            name,
            `[parameters('${name}')]`,
          ]);
        }
      });

      test('location: only regions that offer Flex Consumption, in main (azd prompts) and resources (checked)', () => {
        const group = moduleNode(resources, root, 'resources');
        const regions = at(group.template.variables, 'flexConsumptionRegions');
        if (!Array.isArray(regions)) throw new Error('resources.bicep has no flexConsumptionRegions');
        expect(regions).toContain('swedencentral');
        expect(regions).not.toContain('eastus2euap');
        expect(at(template.parameters, 'location', 'allowedValues')).toEqual(regions);
        // A plain group deployment defaults to the group's region, which is checked instead.
        const checked = at(group.template.variables, 'checkedLocation');
        expect(evaluate(checked, group, { location: 'swedencentral' })).toBe('swedencentral');
        expect(() => evaluate(checked, group, { location: 'westindia' })).toThrow(
          /fail\(\): Region "westindia" does not offer Flex Consumption/,
        );
        // Every module is deployed there.
        for (const r of ofType(resources, 'Microsoft.Resources/deployments').filter(
          (d) => d.node === group,
        )) {
          const location = at(r.body, 'properties', 'parameters', 'location', 'value');
          if (location !== undefined)
            expect([r.symbol, location]).toEqual([r.symbol, "[variables('checkedLocation')]"]);
        }
      });

      test('main.parameters.json sets only parameters that exist', () => {
        const params = JSON.parse(readFileSync(path.join(INFRA_DIR, 'main.parameters.json'), 'utf8')) as Json;
        const declared = Object.keys(objectAt(template.parameters, 'parameters'));
        for (const name of Object.keys(objectAt(at(params, 'parameters'), 'main.parameters.json'))) {
          expect(declared).toContain(name);
        }
      });

      test('every contract setting has its parameter, with the contract default', () => {
        const mainParams = objectAt(template.parameters, 'main parameters');
        for (const { param, defaultValue } of CONTRACT_SETTINGS) {
          if (param === '') continue;
          expect([param, at(mainParams, param, 'defaultValue')]).toEqual([param, defaultValue]);
        }
      });

      test('dev loop: purge protection on by default but a parameter; audit retention 365 days by default', () => {
        const p = objectAt(template.parameters, 'parameters');
        expect(at(p, 'keyVaultPurgeProtection')).toMatchObject({ type: 'bool', defaultValue: true });
        expect(at(p, 'vnetEnabled')).toMatchObject({ type: 'bool', defaultValue: false });
        expect(at(p, 'immutabilityPolicyLocked')).toMatchObject({ type: 'bool', defaultValue: false });
        expect(at(p, 'logAnalyticsRetentionDays')).toMatchObject({ defaultValue: 365, maxValue: 730 });
        expect(at(p, 'keyVaultSku')).toMatchObject({
          defaultValue: 'standard',
          allowedValues: ['standard', 'premium'],
        });
        expect(at(p, 'entraAuthClientId')).toMatchObject({ defaultValue: '' });
      });

      test('no parameter default looks like a secret', () => {
        for (const node of allTemplates(root, resources)) {
          for (const [name, definition] of Object.entries(
            objectAt(node.template.parameters ?? {}, 'parameters'),
          )) {
            const type = text(at(definition, 'type')).toLowerCase();
            if (type === 'securestring' || type === 'secureobject') {
              expect([name, at(definition, 'defaultValue')]).toEqual([name, undefined]);
            }
          }
        }
      });
    });

    describe('storage accounts', () => {
      let host: ArmResource;
      let exportsAccount: ArmResource;

      beforeAll(() => {
        host = singleIn(resources, 'hostStorage', STORAGE);
        exportsAccount = singleIn(resources, 'exportStorage', STORAGE);
      });

      test("two accounts: the host's (code package, host state) and the exports' (personal data), nothing else", () => {
        expect(ofType(resources, STORAGE)).toHaveLength(2);
        const group = moduleNode(resources, root, 'resources');
        expect(passedValue(host.node, 'name')).toBe("[variables('names').hostStorage]");
        expect(passedValue(exportsAccount.node, 'name')).toBe("[variables('names').exportStorage]");
        const names = objectAt(evaluate(at(group.template.variables, 'names'), group, CONTEXT), 'names');
        expect(names.hostStorage).toMatch(/^stfunc[0-9a-f]{13}$/);
        expect(names.exportStorage).toMatch(/^st[0-9a-f]{13}$/);
        // The package container is in the host's account; the exports container and queues are not.
        const containers = ofType(resources, CONTAINER);
        expect(containers.filter((c) => c.node === host.node).map((c) => c.symbol)).toEqual([
          'deploymentContainer',
        ]);
        expect(containers.filter((c) => c.node === exportsAccount.node).map((c) => c.symbol)).toEqual([
          'exportContainer',
        ]);
        expect(ofType(resources, QUEUE).every((q) => q.node === exportsAccount.node)).toBe(true);
        // Flex reads its package from the host's account, whose name the app is given.
        const site = single(resources, 'Microsoft.Web/sites');
        expect(passedValue(site.node, 'hostStorageAccountName')).toBe("[variables('names').hostStorage]");
        expect(passedValue(site.node, 'exportStorageAccountName')).toBe("[variables('names').exportStorage]");
        expect(at(site.body, 'properties', 'functionAppConfig', 'deployment', 'storage', 'value')).toBe(
          "[format('{0}{1}', reference('hostStorage').primaryEndpoints.blob, parameters('deploymentContainerName'))]",
        );
        expect(at(site.node.template.resources, 'hostStorage', 'name')).toBe(
          "[parameters('hostStorageAccountName')]",
        );
        expect(passedValue(site.node, 'deploymentContainerName')).toBe(
          "[reference('hostStorage').outputs.deploymentContainerName.value]",
        );
      });

      test('both allow no shared key, no public blobs, TLS 1.2+, HTTPS only, Entra ID by default', () => {
        for (const account of [host, exportsAccount]) {
          const props = objectAt(account.body.properties, 'storage properties');
          expect(props.allowSharedKeyAccess).toBe(false);
          expect(props.allowBlobPublicAccess).toBe(false);
          expect(props.minimumTlsVersion).toBe('TLS1_2');
          expect(props.supportsHttpsTrafficOnly).toBe(true);
          expect(props.defaultToOAuthAuthentication).toBe(true);
        }
      });

      test('exports: blob versioning, blob soft delete and container soft delete are on, days from parameters', () => {
        const blob = singleIn(resources, 'exportStorage', `${STORAGE}/blobServices`);
        const props = objectAt(blob.body.properties, 'blob service properties');
        expect(props.isVersioningEnabled).toBe(true);
        expect(at(props, 'deleteRetentionPolicy', 'enabled')).toBe(true);
        expect(at(props, 'containerDeleteRetentionPolicy', 'enabled')).toBe(true);
        expect(topLevelParametersOf(blob.node, at(props, 'deleteRetentionPolicy', 'days'))).toEqual([
          'blobSoftDeleteDays',
        ]);
        expect(topLevelParametersOf(blob.node, at(props, 'containerDeleteRetentionPolicy', 'days'))).toEqual([
          'containerSoftDeleteDays',
        ]);
      });

      test('containers are private; the exports container is named by exportContainer', () => {
        const containers = ofType(resources, CONTAINER);
        expect(containers).toHaveLength(2);
        for (const c of containers) expect(at(c.body, 'properties', 'publicAccess')).toBe('None');
        const exportsContainer = containers.find((c) =>
          topLevelParametersOf(c.node, c.body.name).includes('exportContainer'),
        );
        expect(exportsContainer?.node).toBe(exportsAccount.node);
      });

      test('the export queue and its poison queue exist, named by exportQueue', () => {
        const queues = ofType(resources, QUEUE);
        expect(queues).toHaveLength(2);
        for (const q of queues) expect(topLevelParametersOf(q.node, q.body.name)).toContain('exportQueue');
        const names = queues.map((q) => stringAt(q.body.name, 'queue name'));
        expect(
          names.filter((n) => n.includes("format('{0}-poison', parameters('exportQueueName'))")),
        ).toHaveLength(1);
      });

      test("audit trail: the exports' blob and queue services log StorageRead, StorageWrite, StorageDelete to Log Analytics", () => {
        const settings = ofType(inModule(resources, 'exportStorage'), DIAGNOSTIC_SETTINGS);
        const scopes = settings.map((d) => stringAt(d.body.scope, 'scope'));
        expect(scopes.sort()).toEqual([
          "[resourceId('Microsoft.Storage/storageAccounts/blobServices', parameters('name'), 'default')]",
          "[resourceId('Microsoft.Storage/storageAccounts/queueServices', parameters('name'), 'default')]",
        ]);
        for (const d of settings) {
          const logs = evaluate(at(d.body, 'properties', 'logs'), d.node);
          expect(logs).toEqual(
            ['StorageRead', 'StorageWrite', 'StorageDelete'].map((category) => ({ category, enabled: true })),
          );
          expect(at(d.body, 'properties', 'workspaceId')).toBe("[parameters('logAnalyticsWorkspaceId')]");
          expect(passedValue(d.node, 'logAnalyticsWorkspaceId')).toBe(
            "[reference('monitoring').outputs.workspaceId.value]",
          );
        }
      });

      describe('lifecycle management policy', () => {
        let policy: ArmResource;
        let rules: JsonObject[];
        const rule = (prefix: string): JsonObject => {
          const found = rules.find((r) =>
            JSON.stringify(at(r, 'definition', 'filters', 'prefixMatch')).includes(prefix),
          );
          if (found === undefined) throw new Error(`no lifecycle rule with a prefix ending in ${prefix}`);
          return found;
        };
        /** Top-level parameters a lifecycle action's day count comes from (a literal is an error). */
        const daysFrom = (action: Json | undefined, what: string): string[] => {
          if (action === undefined || action === null) throw new Error(`${what}: missing`);
          if (isObject(action)) {
            const [key, days] = Object.entries(action).find(([k]) => k.startsWith('days')) ?? [];
            if (typeof days !== 'string')
              throw new Error(`${what}.${key}: a literal (${JSON.stringify(days)})`);
          }
          // A conditional action is one expression: `if(cond, createObject('days...', <days>), null())`.
          return topLevelParametersOf(
            policy.node,
            expandVariables(JSON.stringify(action), policy.node.template),
          )
            .filter((p) => p !== 'snapshotColdTier')
            .filter((p, i, a) => a.indexOf(p) === i);
        };

        beforeAll(() => {
          policy = single(resources, `${STORAGE}/managementPolicies`);
          expect(policy.node).toBe(exportsAccount.node);
          const list = at(policy.body, 'properties', 'policy', 'rules');
          if (!Array.isArray(list)) throw new Error('management policy has no rules');
          rules = list.map((r, i) => objectAt(r, `rule ${i}`));
          for (const r of rules) expect([r.name, r.enabled]).toEqual([r.name, true]);
        });

        test('snapshots/ go to Cool, then Cold or Archive, then are deleted, each after parameter days', () => {
          const snapshots = rule("snapshots/'");
          expect(
            topLevelParametersOf(policy.node, at(snapshots, 'definition', 'filters', 'prefixMatch')),
          ).toEqual(['exportContainer']);
          const baseBlob = objectAt(at(snapshots, 'definition', 'actions', 'baseBlob'), 'snapshots baseBlob');
          expect(daysFrom(baseBlob.tierToCool, 'tierToCool')).toEqual([
            'snapshotCoolAfterDays',
            'snapshotColdAfterDays',
            'snapshotRetentionDays',
          ]);
          expect(daysFrom(baseBlob.delete, 'delete')).toEqual(['snapshotRetentionDays']);
          // Either tier, chosen by snapshotColdTier, at the same parameter.
          expect(daysFrom(baseBlob.tierToCold, 'tierToCold')).toEqual(['snapshotColdAfterDays']);
          expect(daysFrom(baseBlob.tierToArchive, 'tierToArchive')).toContain('snapshotColdAfterDays');
          expect(parameterRefs(baseBlob.tierToCold)).toContain('snapshotColdTier');
          expect(parameterRefs(baseBlob.tierToArchive)).toContain('snapshotColdTier');
          expect(
            daysFrom(at(snapshots, 'definition', 'actions', 'version', 'delete'), 'version.delete'),
          ).toEqual(['previousVersionRetentionDays']);
        });

        test('with the defaults: Cool after 30 days, Cold (or Archive) after 90, deleted after 730', () => {
          const baseBlob = at(rule("snapshots/'"), 'definition', 'actions', 'baseBlob');
          expect(evaluate(baseBlob, policy.node)).toEqual({
            tierToCool: { daysAfterModificationGreaterThan: 30 },
            tierToCold: { daysAfterModificationGreaterThan: 90 },
            tierToArchive: null,
            delete: { daysAfterModificationGreaterThan: 730 },
          });
          expect(evaluate(baseBlob, policy.node, { snapshotColdTier: 'Archive' })).toMatchObject({
            tierToCold: null,
            tierToArchive: { daysAfterModificationGreaterThan: 90 },
          });
          // Archive does not exist on zone-redundant accounts: the deployment stops.
          expect(() =>
            evaluate(baseBlob, policy.node, { snapshotColdTier: 'Archive', storageSkuName: 'Standard_ZRS' }),
          ).toThrow(/fail\(\): snapshotColdTier "Archive" is not available/);
        });

        test('the deployment stops unless cool < cold < retention', () => {
          const baseBlob = at(rule("snapshots/'"), 'definition', 'actions', 'baseBlob');
          const unordered: Overrides[] = [
            { snapshotCoolAfterDays: 90 },
            { snapshotCoolAfterDays: 120 },
            { snapshotColdAfterDays: 730 },
            { snapshotRetentionDays: 60 },
          ];
          for (const overrides of unordered) {
            expect(() => evaluate(baseBlob, policy.node, overrides)).toThrow(
              /fail\(\): Lifecycle days must satisfy/,
            );
          }
          expect(() =>
            evaluate(baseBlob, policy.node, {
              snapshotCoolAfterDays: 1,
              snapshotColdAfterDays: 2,
              snapshotRetentionDays: 3,
            }),
          ).not.toThrow();
          // ...and the top-level defaults respect it.
          const p = objectAt(template.parameters, 'parameters');
          const [n, m, r] = ['snapshotCoolAfterDays', 'snapshotColdAfterDays', 'snapshotRetentionDays'].map(
            (name) => at(p, name, 'defaultValue') as number,
          );
          expect(n! < m! && m! < r!).toBe(true);
          for (const name of ['snapshotCoolAfterDays', 'snapshotColdAfterDays', 'snapshotRetentionDays']) {
            expect([name, typeof at(p, name, 'minValue')]).toEqual([name, 'number']);
          }
        });

        test('runs/ records are kept at least as long as snapshots: same default, a smaller value stops the deployment', () => {
          const runs = rule("runs/'");
          const del = at(runs, 'definition', 'actions', 'baseBlob', 'delete');
          expect(daysFrom(del, 'runs delete')).toEqual(['runRecordRetentionDays', 'snapshotRetentionDays']);
          expect(at(template.parameters, 'runRecordRetentionDays', 'defaultValue')).toBe(
            "[parameters('snapshotRetentionDays')]",
          );
          expect(evaluate(del, policy.node)).toEqual({ daysAfterModificationGreaterThan: 730 });
          expect(evaluate(del, policy.node, { snapshotRetentionDays: 400 })).toEqual({
            daysAfterModificationGreaterThan: 400,
          });
          expect(evaluate(del, policy.node, { runRecordRetentionDays: 1000 })).toEqual({
            daysAfterModificationGreaterThan: 1000,
          });
          expect(() => evaluate(del, policy.node, { runRecordRetentionDays: 400 })).toThrow(
            /fail\(\): runRecordRetentionDays must be at least snapshotRetentionDays/,
          );
        });

        test('erasures/ are never touched: every rule is limited to snapshots/ or runs/', () => {
          expect(rules).toHaveLength(2);
          for (const r of rules) {
            const prefixes = at(r, 'definition', 'filters', 'prefixMatch');
            expect(Array.isArray(prefixes) && prefixes.length > 0).toBe(true);
            const evaluated = evaluate(prefixes, policy.node) as string[];
            expect(evaluated.every((p) => /^gallery-exports\/(snapshots|runs)\/$/.test(p))).toBe(true);
          }
          expect(JSON.stringify(policy.body)).not.toMatch(/erasures/);
        });
      });

      test('WORM is optional (immutabilityPeriodDays, off by default), version-level, and a locked policy is left alone', () => {
        const p = objectAt(template.parameters, 'parameters');
        expect(at(p, 'immutabilityPeriodDays', 'defaultValue')).toBe(0);
        const policy = single(resources, `${CONTAINER}/immutabilityPolicies`);
        const condition = stringAt(policy.body.condition, 'condition');
        expect(
          topLevelParametersOf(policy.node, expandVariables(condition, policy.node.template)).sort(),
        ).toEqual(['immutabilityPeriodDays', 'immutabilityPolicyLocked']);
        expect(evaluate(condition, policy.node)).toBe(false);
        expect(evaluate(condition, policy.node, { immutabilityPeriodDays: 30 })).toBe(true);
        // Once locked, a PUT is refused: the redeployment must not send one.
        expect(
          evaluate(condition, policy.node, { immutabilityPeriodDays: 30, immutabilityPolicyLocked: true }),
        ).toBe(false);
        expect(
          topLevelParametersOf(
            policy.node,
            at(policy.body, 'properties', 'immutabilityPeriodSinceCreationInDays'),
          ),
        ).toEqual(['immutabilityPeriodDays']);
        const exportsContainer = ofType(resources, CONTAINER).find(
          (c) => at(c.body, 'properties', 'immutableStorageWithVersioning') !== undefined,
        );
        expect(exportsContainer).toBeDefined();
        expect(topLevelParametersOf(exportsContainer!.node, exportsContainer!.body.name)).toContain(
          'exportContainer',
        );
        const versionLevel = expandVariables(
          stringAt(
            at(exportsContainer!.body, 'properties', 'immutableStorageWithVersioning'),
            'immutableStorageWithVersioning',
          ),
          exportsContainer!.node.template,
        );
        expect(versionLevel).toContain("createObject('enabled', true())");
        expect(topLevelParametersOf(exportsContainer!.node, versionLevel)).toEqual([
          'immutabilityPeriodDays',
        ]);
      });
    });

    describe('private networking (vnetEnabled)', () => {
      let network: TemplateNode;

      beforeAll(() => {
        network = moduleNode(resources, moduleNode(resources, root, 'resources'), 'network');
      });

      test('the network module is deployed only with vnetEnabled', () => {
        const condition = network.parent!.deployment.condition;
        expect(condition).toBe("[parameters('vnetEnabled')]");
        expect(evaluate(condition, network.parent!.node)).toBe(false);
        expect(evaluate(condition, network.parent!.node, VNET)).toBe(true);
      });

      test('a virtual network with an app subnet delegated to Microsoft.App/environments and a private endpoint subnet', () => {
        const vnet = single(
          ofType(resources, 'Microsoft.Network/virtualNetworks'),
          'Microsoft.Network/virtualNetworks',
        );
        expect(vnet.node).toBe(network);
        const subnets = at(vnet.body, 'properties', 'subnets');
        if (!Array.isArray(subnets)) throw new Error('no subnets');
        expect(subnets.map((s) => evaluate(at(s, 'name'), network))).toEqual(['app', 'private-endpoints']);
        expect(at(subnets[0], 'properties', 'delegations', 0, 'properties', 'serviceName')).toBe(
          'Microsoft.App/environments',
        );
        // The app integrates into it.
        const site = single(resources, 'Microsoft.Web/sites');
        expect(at(site.body, 'properties', 'virtualNetworkSubnetId')).toBe(
          "[if(empty(parameters('virtualNetworkSubnetId')), null(), parameters('virtualNetworkSubnetId'))]",
        );
        expect(at(site.node.parent!.deployment, 'properties', 'parameters', 'virtualNetworkSubnetId')).toBe(
          "[if(parameters('vnetEnabled'), createObject('value', reference('network').outputs.appSubnetId.value), createObject('value', ''))]",
        );
        expect(at(network.template.outputs, 'appSubnetId', 'value')).toMatch(
          /subnets', parameters\('name'\), variables\('appSubnetName'\)\)\]$/,
        );
      });

      test('private endpoints and DNS zones for blob, queue, table and Key Vault, on the right resources', () => {
        const links = passedValue(network, 'privateLinks');
        if (!Array.isArray(links)) throw new Error('privateLinks is not a literal list');
        const described = links
          .map((l) => `${text(at(l, 'groupId'))} -> ${text(at(l, 'resourceName'))}`)
          .sort();
        expect(described).toEqual(
          [
            "blob -> [variables('names').hostStorage]",
            "table -> [variables('names').hostStorage]",
            "blob -> [variables('names').exportStorage]",
            "queue -> [variables('names').exportStorage]",
            "vault -> [variables('names').keyVault]",
          ].sort(),
        );
        // One zone per sub-resource, from the cloud's own suffixes (environment() is not evaluated here).
        const zoneNames = JSON.stringify(at(network.template.variables, 'zoneNames'));
        expect(zoneNames).toContain("privatelink.blob.{0}', environment().suffixes.storage");
        expect(zoneNames).toContain("privatelink.queue.{0}', environment().suffixes.storage");
        expect(zoneNames).toContain("privatelink.table.{0}', environment().suffixes.storage");
        expect(zoneNames).toContain(
          "replace(environment().suffixes.keyvaultDns, '.vault.', 'privatelink.vaultcore.')",
        );
        const inNetwork = (type: string): ArmResource[] =>
          resources.filter((r) => r.node === network && r.type === type);
        const zones = single(
          inNetwork('Microsoft.Network/privateDnsZones'),
          'Microsoft.Network/privateDnsZones',
        );
        expect(at(zones.body, 'copy', 'count')).toBe("[length(variables('groupIds'))]");
        expect(at(network.template.variables, 'groupIds')).toEqual(['blob', 'queue', 'table', 'vault']);
        // Each zone is linked to the network; each endpoint publishes its address in its zone.
        single(
          inNetwork('Microsoft.Network/privateDnsZones/virtualNetworkLinks'),
          'Microsoft.Network/privateDnsZones/virtualNetworkLinks',
        );
        const endpoints = single(
          inNetwork('Microsoft.Network/privateEndpoints'),
          'Microsoft.Network/privateEndpoints',
        );
        expect(at(endpoints.body, 'copy', 'count')).toBe("[length(parameters('privateLinks'))]");
        expect(JSON.stringify(at(endpoints.body, 'properties', 'privateLinkServiceConnections'))).toContain(
          "resourceId(parameters('privateLinks')[copyIndex()].resourceType, parameters('privateLinks')[copyIndex()].resourceName)",
        );
        const dns = single(
          inNetwork('Microsoft.Network/privateEndpoints/privateDnsZoneGroups'),
          'Microsoft.Network/privateEndpoints/privateDnsZoneGroups',
        );
        expect(at(dns.body, 'copy', 'count')).toBe("[length(parameters('privateLinks'))]");
        expect(
          at(dns.body, 'properties', 'privateDnsZoneConfigs', 0, 'properties', 'privateDnsZoneId'),
        ).toContain("indexOf(variables('groupIds'), parameters('privateLinks')[copyIndex()].groupId)");
      });

      test('in vnet mode both storage accounts and the vault refuse public traffic (defaultAction Deny); without it they are public', () => {
        for (const module of ['hostStorage', 'exportStorage']) {
          const account = singleIn(resources, module, STORAGE);
          const props = at(account.body, 'properties');
          expect([module, evaluate(at(props, 'publicNetworkAccess'), account.node, VNET)]).toEqual([
            module,
            'Disabled',
          ]);
          expect([module, evaluate(at(props, 'publicNetworkAccess'), account.node, CONTEXT)]).toEqual([
            module,
            'Enabled',
          ]);
          expect([
            module,
            at(evaluate(at(props, 'networkAcls'), account.node, CONTEXT), 'defaultAction'),
          ]).toEqual([module, 'Allow']);
          expect([module, evaluate(at(props, 'networkAcls'), account.node, VNET)]).toEqual([
            module,
            { defaultAction: 'Deny', bypass: 'None' },
          ]);
        }
        const vault = single(resources, VAULT);
        const access = at(vault.body, 'properties', 'publicNetworkAccess');
        const acls = at(vault.body, 'properties', 'networkAcls', 'defaultAction');
        expect(evaluate(access, vault.node, VNET)).toBe('Disabled');
        expect(evaluate(acls, vault.node, VNET)).toBe('Deny');
        expect(evaluate(access, vault.node, { ...VNET, keyVaultPublicNetworkAccess: 'Disabled' })).toBe(
          'Disabled',
        );
        expect(evaluate(access, vault.node, CONTEXT)).toBe('Enabled');
        expect(evaluate(acls, vault.node, CONTEXT)).toBe('Allow');
      });

      test('keyVaultPublicNetworkAccess=Disabled without private networking stops the deployment', () => {
        const vault = single(resources, VAULT);
        const access = at(vault.body, 'properties', 'publicNetworkAccess');
        expect(() => evaluate(access, vault.node, { keyVaultPublicNetworkAccess: 'Disabled' })).toThrow(
          /fail\(\): keyVaultPublicNetworkAccess "Disabled" needs private networking/,
        );
      });
    });

    describe('Function App', () => {
      let site: ArmResource;
      let settings: JsonObject;

      beforeAll(() => {
        site = single(resources, 'Microsoft.Web/sites');
        const config = ofType(resources, 'Microsoft.Web/sites/config').find((c) =>
          stringAt(c.body.name, 'config name').includes("'appsettings'"),
        );
        if (config === undefined) throw new Error('no Microsoft.Web/sites/config appsettings');
        settings = objectAt(config.body.properties, 'app settings');
      });

      test('runs on a Flex Consumption (FC1) plan, Node 22', () => {
        const plan = single(resources, 'Microsoft.Web/serverfarms');
        expect(at(plan.body, 'sku', 'name')).toBe('FC1');
        expect(at(plan.body, 'sku', 'tier')).toBe('FlexConsumption');
        const config = objectAt(at(site.body, 'properties', 'functionAppConfig'), 'functionAppConfig');
        expect(at(config, 'runtime')).toEqual({ name: 'node', version: '22' });
        expect(
          topLevelParametersOf(site.node, at(config, 'scaleAndConcurrency', 'maximumInstanceCount')),
        ).toEqual(['maximumInstanceCount']);
        expect(
          topLevelParametersOf(site.node, at(config, 'scaleAndConcurrency', 'instanceMemoryMB')),
        ).toEqual(['instanceMemoryMB']);
        expect(at(config, 'deployment', 'storage', 'type')).toBe('blobContainer');
        expect(at(config, 'deployment', 'storage', 'authentication', 'type')).toBe('UserAssignedIdentity');
      });

      test('maximumInstanceCount is one Flex accepts in every region (40 or more), whichever way it is deployed', () => {
        // Flex refuses a maximum below 40 outside a few preview regions (azure-functions-host#10523).
        const lowestAcceptedEverywhere = 40;
        const maxInstances = at(site.body, 'properties', 'functionAppConfig', 'scaleAndConcurrency');
        expect(evaluate(at(maxInstances, 'maximumInstanceCount'), site.node, CONTEXT)).toBeGreaterThanOrEqual(
          lowestAcceptedEverywhere,
        );
        // ...and no parameters file sets a lower one.
        for (const file of GROUP_PARAMS) {
          const value = parameterFileValues(file).maximumInstanceCount ?? lowestAcceptedEverywhere;
          expect([path.basename(file), value]).toEqual([path.basename(file), expect.any(Number)]);
          expect(value).toBeGreaterThanOrEqual(lowestAcceptedEverywhere);
        }
        const azdParams = JSON.parse(
          readFileSync(path.join(INFRA_DIR, 'main.parameters.json'), 'utf8'),
        ) as Json;
        expect(at(azdParams, 'parameters', 'maximumInstanceCount')).toBeUndefined();
      });

      test('the parameters describe the real bound on catalog load: the maximum applies per function group, the budget per process', () => {
        const description = (name: string): string =>
          stringAt(at(template.parameters, name, 'metadata', 'description'), `${name} description`);
        // Not "the catalog sees up to CATALOG_CONCURRENCY x maximumInstanceCount": each function
        // group (the queue trigger, the timer, HTTP, the poison trigger) scales on its own.
        expect(description('catalogConcurrency')).not.toMatch(/times maximumInstanceCount/);
        expect(description('catalogConcurrency')).toMatch(/per (worker )?process/);
        expect(description('maximumInstanceCount')).toMatch(/per function group/);
        expect(description('maximumInstanceCount')).not.toMatch(/Kept low by default/);
      });

      test('HTTPS only, TLS 1.2, no FTP, no basic-auth publishing, user-assigned identity', () => {
        expect(at(site.body, 'properties', 'httpsOnly')).toBe(true);
        expect(at(site.body, 'properties', 'siteConfig', 'minTlsVersion')).toBe('1.2');
        expect(at(site.body, 'properties', 'siteConfig', 'ftpsState')).toBe('Disabled');
        expect(at(site.body, 'identity', 'type')).toBe('UserAssigned');
        const basicAuth = ofType(resources, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
        expect(basicAuth).toHaveLength(2);
        for (const policy of basicAuth) expect(at(policy.body, 'properties', 'allow')).toBe(false);
        expect(at(site.body, 'tags')).toEqual(expect.stringContaining("'azd-service-name', 'api'"));
      });

      test('every contract setting is an app setting', () => {
        for (const { setting } of CONTRACT_SETTINGS) expect(Object.keys(settings)).toContain(setting);
        const contract = objectAt(passedValue(site.node, 'contractSettings'), 'contractSettings');
        for (const { setting, param } of CONTRACT_SETTINGS) {
          const value = contract[setting];
          if (setting === 'KEY_VAULT_URL') {
            expect(value).toBe("[reference('keyVault').outputs.uri.value]");
            const vault = moduleNode(resources, site.node.parent!.node, 'keyVault');
            expect(at(vault.template, 'outputs', 'uri', 'value')).toMatch(/\.vaultUri\]$/);
          } else if (setting === 'SIGNING_KEY_NAME') {
            // The key the postprovision hook creates in the vault, named by signingKeyName.
            expect(value).toBe("[reference('keyVault').outputs.signingKeyName.value]");
            const vault = moduleNode(resources, site.node.parent!.node, 'keyVault');
            expect(
              topLevelParametersOf(vault, at(vault.template, 'outputs', 'signingKeyName', 'value')),
            ).toEqual(['signingKeyName']);
          } else if (setting === 'EXPORT_CONTAINER' || setting === 'EXPORT_QUEUE') {
            // The storage module's output, which is the parameter it was given.
            const output = setting === 'EXPORT_CONTAINER' ? 'exportContainerName' : 'exportQueueName';
            expect(value).toBe(`[reference('exportStorage').outputs.${output}.value]`);
            const storage = moduleNode(resources, site.node.parent!.node, 'exportStorage');
            expect(topLevelParametersOf(storage, at(storage.template, 'outputs', output, 'value'))).toEqual([
              param,
            ]);
          } else {
            expect([setting, parameterRefs(value)]).toEqual([setting, [param]]);
          }
        }
      });

      test("SNAPSHOT_RETENTION_DAYS is the lifecycle policy's snapshot retention", () => {
        expect(settings.SNAPSHOT_RETENTION_DAYS).toBe(
          "[parameters('deploymentSettings').SNAPSHOT_RETENTION_DAYS]",
        );
        const deployment = objectAt(passedValue(site.node, 'deploymentSettings'), 'deploymentSettings');
        expect(deployment.SNAPSHOT_RETENTION_DAYS).toBe("[string(parameters('snapshotRetentionDays'))]");
      });

      test('storage is reached with the managed identity, never with a key: the host on its account, the app on the exports account', () => {
        // `existing` references, by symbol: hostStorage and exportStorage are the two accounts.
        const existing = objectAt(site.node.template.resources, 'functionapp resources');
        expect(at(existing, 'hostStorage', 'name')).toBe("[parameters('hostStorageAccountName')]");
        expect(at(existing, 'exportStorage', 'name')).toBe("[parameters('exportStorageAccountName')]");
        expect(settings.AzureWebJobsStorage__blobServiceUri).toBe(
          "[reference('hostStorage').primaryEndpoints.blob]",
        );
        expect(settings.AzureWebJobsStorage__tableServiceUri).toBe(
          "[reference('hostStorage').primaryEndpoints.table]",
        );
        expect(settings).not.toHaveProperty('AzureWebJobsStorage__queueServiceUri');
        expect(settings.EXPORT_STORAGE__blobServiceUri).toBe(
          "[reference('exportStorage').primaryEndpoints.blob]",
        );
        expect(settings.EXPORT_STORAGE__queueServiceUri).toBe(
          "[reference('exportStorage').primaryEndpoints.queue]",
        );
        for (const prefix of ['AzureWebJobsStorage', 'EXPORT_STORAGE']) {
          expect(settings[`${prefix}__credential`]).toBe('managedidentity');
          expect(settings[`${prefix}__clientId`]).toBe("[parameters('identityClientId')]");
          expect(settings).not.toHaveProperty(prefix); // a connection string
        }
        expect(settings.AZURE_CLIENT_ID).toBe("[parameters('identityClientId')]");
        expect(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe(
          "[format('ClientId={0};Authorization=AAD', parameters('identityClientId'))]",
        );
        expect(passedValue(site.node, 'identityClientId')).toBe(
          "[reference('identity').outputs.clientId.value]",
        );
        // Flex takes the runtime from functionAppConfig; these settings are rejected there.
        for (const name of [
          'FUNCTIONS_WORKER_RUNTIME',
          'FUNCTIONS_EXTENSION_VERSION',
          'WEBSITE_NODE_DEFAULT_VERSION',
        ]) {
          expect(settings).not.toHaveProperty(name);
        }
      });

      test("audit trail: the app's logs (FunctionAppLogs) go to Log Analytics", () => {
        const diagnostics = ofType(resources, DIAGNOSTIC_SETTINGS).filter((d) => d.node === site.node);
        expect(diagnostics).toHaveLength(1);
        expect(diagnostics[0]!.body.scope).toBe("[resourceId('Microsoft.Web/sites', parameters('name'))]");
        expect(at(diagnostics[0]!.body, 'properties', 'logs')).toEqual([
          { category: 'FunctionAppLogs', enabled: true },
        ]);
        expect(passedValue(site.node, 'logAnalyticsWorkspaceId')).toBe(
          "[reference('monitoring').outputs.workspaceId.value]",
        );
      });

      test('optional Entra ID authentication: off by default; on, every request needs a token for the app registration', () => {
        const auth = ofType(resources, 'Microsoft.Web/sites/config').find((c) =>
          stringAt(c.body.name, 'config name').includes("'authsettingsV2'"),
        );
        if (auth === undefined) throw new Error('no authsettingsV2');
        expect(topLevelParametersOf(auth.node, auth.body.condition)).toEqual(['entraAuthClientId']);
        expect(evaluate(auth.body.condition, auth.node)).toBe(false);
        expect(
          evaluate(auth.body.condition, auth.node, {
            entraAuthClientId: '00000000-0000-0000-0000-000000000001',
          }),
        ).toBe(true);
        const props = objectAt(auth.body.properties, 'authsettingsV2');
        expect(at(props, 'globalValidation')).toEqual({
          requireAuthentication: true,
          unauthenticatedClientAction: 'Return401',
        });
        expect(at(props, 'identityProviders', 'azureActiveDirectory', 'registration', 'clientId')).toBe(
          "[parameters('entraAuthClientId')]",
        );
        expect(at(props, 'identityProviders', 'azureActiveDirectory', 'registration', 'openIdIssuer')).toBe(
          "[format('{0}{1}/v2.0', environment().authentication.loginEndpoint, tenant().tenantId)]",
        );
        expect(at(props, 'login', 'tokenStore', 'enabled')).toBe(false);
      });

      test('no account key, SAS or listKeys() anywhere in the template', () => {
        const text = JSON.stringify(template);
        expect(text).not.toMatch(/AccountKey/i);
        expect(text).not.toMatch(/list(Keys|AccountSas|ServiceSas|Secrets)\s*\(/i);
        expect(text).not.toMatch(/SharedAccessSignature/i);
      });
    });

    describe('Key Vault and Application Insights', () => {
      test('Key Vault: RBAC only, soft delete, purge protection on by default (a parameter), SKU a parameter', () => {
        const vault = single(resources, VAULT);
        const props = objectAt(vault.body.properties, 'vault properties');
        expect(props.enableRbacAuthorization).toBe(true);
        expect(props.enableSoftDelete).toBe(true);
        expect(props.accessPolicies).toEqual([]);
        expect(evaluate(props.enablePurgeProtection, vault.node)).toBe(true);
        // Off is an absent property: Key Vault refuses an explicit false on a protected vault.
        expect(evaluate(props.enablePurgeProtection, vault.node, { keyVaultPurgeProtection: false })).toBe(
          null,
        );
        expect(topLevelParametersOf(vault.node, props.softDeleteRetentionInDays)).toEqual([
          'keyVaultSoftDeleteRetentionDays',
        ]);
        expect(topLevelParametersOf(vault.node, at(props, 'sku', 'name'))).toEqual(['keyVaultSku']);
        expect(
          topLevelParametersOf(
            vault.node,
            expandVariables(stringAt(props.publicNetworkAccess, 'access'), vault.node.template),
          ).sort(),
        ).toEqual(['keyVaultPublicNetworkAccess', 'vnetEnabled']);
      });

      test("no key resource: Key Vault would check the deployer's own rights before its new role reaches the vault (Azure/bicep#6539)", () => {
        expect(ofType(resources, KEY)).toEqual([]);
        // ...nor an `existing` reference to it (a role scoped to it): it does not exist yet.
        for (const node of allTemplates(root, resources)) {
          for (const [symbol, body] of resourceEntries(node.template)) {
            expect([node.label, symbol, text(body.type).toLowerCase()]).not.toEqual([
              node.label,
              symbol,
              KEY.toLowerCase(),
            ]);
          }
        }
      });

      test('the signing key the hook creates: RSA 3072 (RSA-HSM on premium), sign and verify only, rotated by policy', () => {
        const vault = moduleNode(resources, moduleNode(resources, root, 'resources'), 'keyVault');
        const spec = at(vault.template.outputs, 'signingKeyProperties', 'value');
        const props = objectAt(evaluate(spec, vault, CONTEXT), 'key properties');
        expect(props).toEqual({
          kty: 'RSA',
          keySize: 3072,
          keyOps: ['sign', 'verify'],
          attributes: { enabled: true },
          rotationPolicy: {
            attributes: { expiryTime: 'P425D' },
            lifetimeActions: [
              { trigger: { timeAfterCreate: 'P365D' }, action: { type: 'rotate' } },
              { trigger: { timeBeforeExpiry: 'P30D' }, action: { type: 'notify' } },
            ],
          },
        });
        expect(at(evaluate(spec, vault, { ...CONTEXT, keyVaultSku: 'premium' }), 'kty')).toBe('RSA-HSM');
        expect(
          at(
            evaluate(spec, vault, { ...CONTEXT, signingKeyRotationDays: 90 }),
            'rotationPolicy',
            'lifetimeActions',
            0,
            'trigger',
          ),
        ).toEqual({ timeAfterCreate: 'P90D' });
        expect(at(template.parameters, 'signingKeyName', 'defaultValue')).toBe('gallery-export-signing');
        // Handed to the hook as JSON, with the vault, the key's name and the ARM endpoint.
        const group = moduleNode(resources, root, 'resources');
        expect(at(group.template.outputs, 'SIGNING_KEY_PROPERTIES', 'value')).toBe(
          "[string(reference('keyVault').outputs.signingKeyProperties.value)]",
        );
        expect(at(group.template.outputs, 'AZURE_KEY_VAULT_ID', 'value')).toBe(
          "[reference('keyVault').outputs.id.value]",
        );
        expect(at(group.template.outputs, 'AZURE_RESOURCE_MANAGER_ENDPOINT', 'value')).toBe(
          '[environment().resourceManager]',
        );
        for (const name of [
          'SIGNING_KEY_PROPERTIES',
          'SIGNING_KEY_NAME',
          'AZURE_KEY_VAULT_ID',
          'AZURE_RESOURCE_MANAGER_ENDPOINT',
          'AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON',
        ]) {
          expect([name, at(template.outputs, name, 'value')]).toEqual([
            name,
            `[reference('resources').outputs.${name}.value]`,
          ]);
        }
      });

      test('Application Insights is workspace-based with local auth disabled', () => {
        const component = single(resources, APP_INSIGHTS);
        expect(at(component.body, 'properties', 'DisableLocalAuth')).toBe(true);
        expect(at(component.body, 'properties', 'WorkspaceResourceId')).toEqual(expect.any(String));
        const workspace = single(resources, 'Microsoft.OperationalInsights/workspaces');
        expect(
          topLevelParametersOf(workspace.node, at(workspace.body, 'properties', 'retentionInDays')),
        ).toEqual(['logAnalyticsRetentionDays']);
      });
    });

    describe('role assignments', () => {
      interface Assignment {
        label: string;
        roles: string[];
        principal: Principal;
        scope: string;
        body: JsonObject;
      }
      let assignments: Assignment[];

      beforeAll(() => {
        assignments = ofType(resources, 'Microsoft.Authorization/roleAssignments').map((r) => {
          const label = `${r.node.label}/${r.symbol}`;
          const scope = stringAt(r.body.scope, `${label}.scope (absent = the whole resource group)`);
          const principalId = stringAt(at(r.body, 'properties', 'principalId'), `${label}.principalId`);
          const principalParam = /^\[parameters\('(\w+)'\)\]$/.exec(principalId)?.[1];
          const principal: Principal | undefined =
            principalParam === 'appPrincipalId' &&
            passedValue(r.node, 'appPrincipalId') === "[reference('identity').outputs.principalId.value]"
              ? 'app'
              : principalParam !== undefined && topLevelParameter(r.node, principalParam) === 'principalId'
                ? 'deployer'
                : undefined;
          if (principal === undefined) throw new Error(`${label}: unexpected principal ${principalId}`);
          const roleExpression = stringAt(
            at(r.body, 'properties', 'roleDefinitionId'),
            `${label}.roleDefinitionId`,
          );
          expect(roleExpression).toMatch(
            /^\[subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', /,
          );
          // guid(scope, principal, role): idempotent, and new when the principal changes.
          const name = expandVariables(stringAt(r.body.name, `${label}.name`), r.node.template);
          expect([
            label,
            name.startsWith(`[guid(${scope.slice(1, -1)}, ${principalId.slice(1, -1)}, `),
          ]).toEqual([label, true]);
          const roles = guidsIn(expandVariables(roleExpression, r.node.template));
          expect([label, guidsIn(name)]).toEqual([label, roles]);
          expect(at(r.body, 'properties', 'principalType')).toEqual(
            principal === 'app' ? 'ServicePrincipal' : expect.stringMatching(/^\[parameters\('\w+'\)\]$/),
          );
          return { label, roles, principal, scope: describeScope(r.node, scope), body: r.body };
        });
      });

      test('match the expected table exactly: role -> principal -> scope (one resource each)', () => {
        const actual = assignments.map((a) => ({ roles: a.roles, principal: a.principal, scope: a.scope }));
        const expected = EXPECTED_ROLE_ASSIGNMENTS.map((e) => ({
          roles: [...e.roles].map((g) => g.toLowerCase()).sort(),
          principal: e.principal,
          scope: e.scope,
        }));
        const key = (a: { roles: string[]; principal: string; scope: string }): string =>
          `${a.principal} ${a.scope} ${a.roles.join(',')}`;
        expect(actual.map(key).sort()).toEqual(expected.map(key).sort());
      });

      test('queues: the app reads, processes and sends on each of its two queues, and can create, delete or reconfigure none', () => {
        const onQueues = assignments.filter((a) => a.scope.startsWith(`${QUEUE}(`));
        for (const queue of ['exportQueue', 'exportQueue-poison']) {
          const roles = onQueues
            .filter((a) => a.principal === 'app' && a.scope.endsWith(`,${queue})`))
            .flatMap((a) => a.roles)
            .sort();
          expect([queue, roles]).toEqual([
            queue,
            [
              ROLE.storageQueueDataReader,
              ROLE.storageQueueDataMessageProcessor,
              ROLE.storageQueueDataMessageSender,
            ].sort(),
          ]);
        }
        for (const a of assignments)
          expect([a.label, a.roles]).toEqual([
            a.label,
            expect.not.arrayContaining([ROLE.storageQueueDataContributor]),
          ]);
      });

      describe('roles a redeployment replaced are revoked after provisioning (ARM never deletes an assignment)', () => {
        const DEPLOYER = '00000000-0000-0000-0000-0000000000d1';
        const BLOB_ROLES = [
          ROLE.storageBlobDataReader,
          ROLE.storageBlobDataContributor,
          ROLE.storageBlobDataOwner,
        ];
        const APP = { reference: 'identity.outputs.principalId.value' };
        let rbac: TemplateNode;
        const revocations = (overrides: Overrides): JsonObject[] => {
          const value = evaluate(at(rbac.template.outputs, 'revokedRoleAssignments', 'value'), rbac, {
            ...CONTEXT,
            ...overrides,
          });
          if (!Array.isArray(value)) throw new Error('revokedRoleAssignments is not a list');
          return value.map((v, i) => objectAt(v, `revocation ${i}`));
        };
        const assignmentsOf = (r: JsonObject): { name: string; roleDefinitionId: string }[] =>
          (r.assignments as Json[]).map((a, i) => ({
            name: stringAt(at(a, 'name'), `assignment ${i} name`),
            roleDefinitionId: stringAt(at(a, 'roleDefinitionId'), `assignment ${i} role`),
          }));
        /** A revocation as `[scope relative to the exports account, its roles]`. */
        const summary = (r: JsonObject): [string, string[]] => [
          text(r.scope).replace(
            /^.*\/providers\/Microsoft\.Storage\/storageAccounts\/st[0-9a-f]{13}/,
            'exports',
          ),
          assignmentsOf(r)
            .map((a) => a.roleDefinitionId)
            .sort(),
        ];
        /** Every assignment the template makes with these parameters, as `[scope, principal, role, name]`. */
        const granted = (overrides: Overrides): Json[][] => {
          const values = { ...CONTEXT, ...overrides };
          return ofType(resources, 'Microsoft.Authorization/roleAssignments')
            .filter(
              (r) => r.body.condition === undefined || evaluate(r.body.condition, r.node, values) === true,
            )
            .map((r) => [
              evaluate(r.body.scope, r.node, values),
              evaluate(at(r.body, 'properties', 'principalId'), r.node, values),
              text(evaluate(at(r.body, 'properties', 'roleDefinitionId'), r.node, values))
                .split('/')
                .pop()!,
              evaluate(r.body.name, r.node, values),
            ]);
        };

        beforeAll(() => {
          rbac = moduleNode(resources, moduleNode(resources, root, 'resources'), 'rbac');
        });

        test('each by the name the template gives an assignment: guid(scope, principal, role), as every version did', () => {
          for (const r of revocations({ principalId: DEPLOYER, deployerStorageRole: 'None' })) {
            for (const a of assignmentsOf(r)) {
              expect(a.name).toBe(standInGuid([r.scope!, r.principalId!, a.roleDefinitionId]));
            }
          }
          // ...the same expression the template names what it grants with.
          for (const [scope, principal, role, name] of granted({ principalId: DEPLOYER })) {
            expect(name).toBe(standInGuid([scope!, principal!, role!]));
          }
        });

        test("the app's Queue Data Contributor on each queue, and its roles on the exports account from the single-account layout", () => {
          const app = revocations({ principalId: DEPLOYER }).filter(
            (r) => JSON.stringify(r.principalId) === JSON.stringify(APP),
          );
          expect(app.map(summary).sort()).toEqual(
            [
              [
                'exports',
                [
                  ROLE.storageBlobDataOwner,
                  ROLE.storageQueueDataContributor,
                  ROLE.storageTableDataContributor,
                ].sort(),
              ],
              [
                'exports/queueServices/default/queues/gallery-export-authors',
                [ROLE.storageQueueDataContributor],
              ],
              [
                'exports/queueServices/default/queues/gallery-export-authors-poison',
                [ROLE.storageQueueDataContributor],
              ],
            ].sort(),
          );
          // Each waits until the assignments that replace it have had time to reach the service.
          for (const r of app) {
            const replacedAt = r.replacedAt as Json[];
            expect(replacedAt.length).toBeGreaterThan(0);
            for (const t of replacedAt) expect(text(at(t, 'reference'))).toMatch(/\.createdOn$/);
          }
        });

        test('changing deployerStorageRole leaves no other blob role of principalId behind; None revokes all three; no principalId, nothing', () => {
          for (const role of ['None', 'Reader', 'Contributor', 'Owner']) {
            const deployer = revocations({ principalId: DEPLOYER, deployerStorageRole: role }).filter(
              (r) => r.principalId === DEPLOYER,
            );
            const grantedRole = {
              Reader: ROLE.storageBlobDataReader,
              Contributor: ROLE.storageBlobDataContributor,
              Owner: ROLE.storageBlobDataOwner,
            }[role];
            expect([role, deployer.map(summary)]).toEqual([
              role,
              [['exports', BLOB_ROLES.filter((r) => r !== grantedRole).sort()]],
            ]);
            // Its replacement (none for None) must have propagated first.
            expect([role, (deployer[0]!.replacedAt as Json[]).length]).toEqual([
              role,
              role === 'None' ? 0 : 1,
            ]);
          }
          expect(revocations({ principalId: '' }).filter((r) => r.principalId === '')).toEqual([]);
          expect(revocations({ principalId: '' })).toHaveLength(3);
        });

        test('never an assignment the template makes', () => {
          for (const role of ['None', 'Reader', 'Contributor', 'Owner']) {
            const overrides = { principalId: DEPLOYER, deployerStorageRole: role };
            const grants = granted(overrides);
            expect(grants.length).toBeGreaterThan(10);
            const grantedTriples = new Set(
              grants.map(([scope, principal, r]) => JSON.stringify([scope, principal, r])),
            );
            const grantedNames = new Set(grants.map(([, , , name]) => name));
            for (const r of revocations(overrides)) {
              for (const a of assignmentsOf(r)) {
                const triple = JSON.stringify([r.scope, r.principalId, a.roleDefinitionId]);
                expect([role, triple, grantedTriples.has(triple), grantedNames.has(a.name)]).toEqual([
                  role,
                  triple,
                  false,
                  false,
                ]);
              }
            }
          }
        });

        test('handed to the postprovision hook (scripts/revoke-replaced-roles.js) as JSON', () => {
          const group = moduleNode(resources, root, 'resources');
          expect(at(group.template.outputs, 'AZURE_REVOKED_ROLE_ASSIGNMENTS', 'value')).toBe(
            "[string(reference('rbac').outputs.revokedRoleAssignments.value)]",
          );
          expect(at(template.outputs, 'AZURE_REVOKED_ROLE_ASSIGNMENTS', 'value')).toBe(
            "[reference('resources').outputs.AZURE_REVOKED_ROLE_ASSIGNMENTS.value]",
          );
        });
      });

      test("the app's identity cannot write its own code package with the role that writes personal data", () => {
        const appStorage = assignments.filter(
          (a) => a.principal === 'app' && a.scope.startsWith('Microsoft.Storage/'),
        );
        const onHost = appStorage.filter((a) => a.scope.includes('names.hostStorage'));
        const onExports = appStorage.filter((a) => a.scope.includes('names.exportStorage'));
        expect(onHost.length + onExports.length).toBe(appStorage.length);
        // Every exports role is narrower than the account: a container or a queue.
        for (const a of onExports)
          expect([a.label, a.scope]).toEqual([a.label, expect.stringMatching(/\/(containers|queues)\(/)]);
      });

      test('Key Vault: the app reads secrets and signs, never writes a secret or manages a key; the deployer manages both', () => {
        const onVault = (principal: Principal): string[] =>
          assignments
            .filter((a) => a.principal === principal && a.scope.startsWith(`${VAULT}(`))
            .flatMap((a) => a.roles)
            .sort();
        expect(onVault('app')).toEqual([ROLE.keyVaultSecretsUser, ROLE.keyVaultCryptoUser].sort());
        expect(onVault('deployer')).toEqual([ROLE.keyVaultSecretsOfficer, ROLE.keyVaultCryptoOfficer].sort());
        // Nothing is scoped to the key: it does not exist while the template runs.
        expect(assignments.filter((a) => a.scope.startsWith(`${KEY}(`))).toEqual([]);
      });

      /**
       * The role assignment whose `createdOn` an output reads: by its symbol
       * (`reference('appHostBlobOwner').createdOn`) or by its ID (`reference(extensionResourceId(...))`);
       * Bicep writes either.
       */
      const createdOnOf = (node: TemplateNode, expression: string): JsonObject | undefined => {
        const reads = [...expression.matchAll(/reference\('(\w+)'\)\.createdOn/g)].map((m) => m[1]!);
        if (reads.length === 1) return objectAt(at(node.template, 'resources', reads[0]!), reads[0]!);
        const byId =
          /reference\(extensionResourceId\((.*), 'Microsoft\.Authorization\/roleAssignments', (guid\(.*\))\), '[\d-]+'\)\.createdOn/.exec(
            expression,
          );
        if (byId === null) throw new Error(`no role assignment's createdOn in ${expression}`);
        return resources.find(
          (r) => r.node === node && r.body.scope === `[${byId[1]!}]` && r.body.name === `[${byId[2]!}]`,
        )?.body;
      };

      test("the deployer's Key Vault Crypto Officer is granted by the template, and the hook learns when", () => {
        const rbac = moduleNode(resources, moduleNode(resources, root, 'resources'), 'rbac');
        const officer = ofType(resources, 'Microsoft.Authorization/roleAssignments').filter(
          (r) =>
            r.node === rbac &&
            guidsIn(
              expandVariables(stringAt(at(r.body, 'properties', 'roleDefinitionId'), 'role'), rbac.template),
            ).includes(ROLE.keyVaultCryptoOfficer),
        );
        expect(officer).toHaveLength(1);
        const createdOn = expandVariables(
          stringAt(at(rbac.template, 'outputs', 'deployerVaultRoleCreatedOn', 'value'), 'output'),
          rbac.template,
        );
        // The assignment's creation time when there is a deployer, empty otherwise.
        expect(createdOn).toMatch(/^\[if\(.*not\(empty\(parameters\('deployerPrincipalId'\)\)\).*, ''\)\]$/);
        expect(createdOnOf(rbac, createdOn)).toBe(officer[0]!.body);
        expect(at(template.outputs, 'AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON', 'value')).toBe(
          "[reference('resources').outputs.AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON.value]",
        );
      });

      test('the app never gets a key-management role', () => {
        for (const a of assignments.filter((x) => x.principal === 'app')) {
          expect([a.label, a.roles]).toEqual([
            a.label,
            expect.not.arrayContaining([ROLE.keyVaultCryptoOfficer]),
          ]);
        }
      });

      test('grant no Owner, Contributor, access-administration or key-management role', () => {
        const forbidden: readonly string[] = Object.values(FORBIDDEN_ROLES);
        for (const a of assignments) {
          expect([a.label, a.roles.filter((r) => forbidden.includes(r))]).toEqual([a.label, []]);
        }
      });

      test("the deployer's assignments are skipped when principalId is empty", () => {
        for (const a of assignments.filter((x) => x.principal === 'deployer')) {
          const node = resources.find((r) => r.body === a.body)!.node;
          const condition = expandVariables(
            stringAt(a.body.condition, `${a.label}.condition`),
            node.template,
          );
          expect(condition).toContain("not(empty(parameters('deployerPrincipalId')))");
        }
      });

      test("azd's postprovision hook learns when the app's storage role was granted", () => {
        const rbac = moduleNode(resources, moduleNode(resources, root, 'resources'), 'rbac');
        const hostBlobOwner = assignments.find(
          (a) =>
            a.principal === 'app' &&
            a.scope === `${STORAGE}(names.hostStorage)` &&
            a.roles.includes(ROLE.storageBlobDataOwner),
        );
        expect(
          createdOnOf(
            rbac,
            stringAt(at(rbac.template, 'outputs', 'appHostStorageRoleCreatedOn', 'value'), 'output'),
          ),
        ).toBe(hostBlobOwner?.body);
        expect(at(template.outputs, 'AZURE_APP_STORAGE_ROLE_CREATED_ON', 'value')).toBe(
          "[reference('resources').outputs.AZURE_APP_STORAGE_ROLE_CREATED_ON.value]",
        );
      });
    });

    describe('alerts', () => {
      let rules: {
        name: string;
        query: string;
        criterion: JsonObject;
        body: JsonObject;
        node: TemplateNode;
      }[];
      const byText = (needle: RegExp): (typeof rules)[number] => {
        const found = rules.filter((r) => needle.test(r.query));
        if (found.length !== 1)
          throw new Error(`expected one alert query matching ${needle}, found ${found.length}`);
        return found[0]!;
      };
      const RUN_FINISHED =
        'GalleryExport.RunFinished runId=20261128T020000Z-3fa9c1 status=partial complete=3 failed=1 skipped=2';
      const AUTHOR_ID = 'CB9A'.padEnd(64, '0');

      beforeAll(() => {
        rules = ofType(resources, 'Microsoft.Insights/scheduledQueryRules').map((r) => {
          const criteria = at(r.body, 'properties', 'criteria', 'allOf');
          if (!Array.isArray(criteria) || criteria.length !== 1)
            throw new Error('one criterion per rule expected');
          const criterion = objectAt(criteria[0], 'criterion');
          return {
            name: stringAt(r.body.name, 'rule name'),
            query: stringAt(evaluate(criterion.query, r.node), 'query'),
            criterion,
            body: r.body,
            node: r.node,
          };
        });
      });

      test('three log alerts on the Application Insights traces', () => {
        expect(rules).toHaveLength(3);
        for (const rule of rules) {
          expect(rule.body.kind).toBe('LogAlert');
          expect(at(rule.body, 'properties', 'enabled')).toBe(true);
          expect(at(rule.body, 'properties', 'scopes')).toEqual(["[parameters('applicationInsightsId')]"]);
          expect(passedValue(rule.node, 'applicationInsightsId')).toBe(
            "[reference('monitoring').outputs.applicationInsightsId.value]",
          );
          expect(rule.query.split('\n')[0]).toBe('traces');
          const actions = expandVariables(
            stringAt(at(rule.body, 'properties', 'actions'), 'actions'),
            rule.node.template,
          );
          expect(actions).toContain('"actionGroups"');
          expect(actions).toContain("resourceId('Microsoft.Insights/actionGroups'");
        }
        const group = single(resources, 'Microsoft.Insights/actionGroups');
        expect(
          topLevelParametersOf(
            group.node,
            expandVariables(stringAt(group.body.condition, 'condition'), group.node.template),
          ),
        ).toEqual(['alertEmailAddress']);
      });

      test('1: a run that finished with failed authors, or failed', () => {
        const rule = byText(/failed > 0/);
        expect(rule.query).toContain('where status == "failed" or failed > 0');
        expect(parseLine(rule.query, RUN_FINISHED)).toEqual({
          runId: '20261128T020000Z-3fa9c1',
          status: 'partial',
          complete: '3',
          failed: '1',
          skipped: '2',
        });
        expect(rule.criterion).toMatchObject({
          timeAggregation: 'Count',
          operator: 'GreaterThan',
          threshold: 0,
        });
      });

      test("2: a token that is not this author's, or not a JWT", () => {
        const rule = byText(/TokenHealth/);
        expect(rule.query).toContain('| where status in ("mismatch", "unreadable")');
        const line = `GalleryExport.TokenHealth secret=gallery-author-jane authorId=${AUTHOR_ID} status=mismatch expiresAt=2026-11-28T09:00:00Z hoursLeft=36.5`;
        expect(parseLine(rule.query, line)).toEqual({
          secret: 'gallery-author-jane',
          authorId: AUTHOR_ID,
          status: 'mismatch',
          expiresAt: '2026-11-28T09:00:00Z',
          hoursLeftText: '36.5',
        });
        const absent = `GalleryExport.TokenHealth secret=gallery-author-x authorId=${AUTHOR_ID} status=absent expiresAt=- hoursLeft=-`;
        expect(parseLine(rule.query, absent)).toMatchObject({
          status: 'absent',
          expiresAt: '-',
          hoursLeftText: '-',
        });
        expect(at(rule.criterion, 'dimensions', 0, 'name')).toBe('secret');
      });

      test('3: no complete or partial run within runHeartbeatHours', () => {
        const rule = byText(/ago\(/);
        expect(topLevelParametersOf(rule.node, rule.criterion.query)).toEqual(['runHeartbeatHours']);
        expect(rule.query).toContain('| where timestamp > ago(26h)\n');
        expect(rule.query).toContain('where status in ("complete", "partial")');
        expect(parseLine(rule.query, RUN_FINISHED)).toMatchObject({ status: 'partial' });
        expect(rule.criterion).toMatchObject({
          timeAggregation: 'Count',
          operator: 'LessThan',
          threshold: 1,
        });
        // The look-back must cover the heartbeat (at most 48 h).
        expect(at(rule.body, 'properties', 'overrideQueryTimeRange')).toBe('P2D');
        expect(at(template.parameters, 'runHeartbeatHours', 'maxValue')).toBe(48);
        expect(at(template.parameters, 'runHeartbeatHours', 'defaultValue')).toBe(26);
      });

      describe("metric alerts on the app's OpenTelemetry metrics", () => {
        let metricRules: ArmResource[];
        const criterionOf = (r: ArmResource): JsonObject => {
          const allOf = at(r.body, 'properties', 'criteria', 'allOf');
          if (!Array.isArray(allOf) || allOf.length !== 1) throw new Error('one criterion per metric alert');
          return objectAt(allOf[0], 'criterion');
        };
        const byMetric = (metric: string): ArmResource => {
          const found = metricRules.filter((r) => criterionOf(r).metricName === metric);
          if (found.length !== 1)
            throw new Error(`expected one metric alert on ${metric}, found ${found.length}`);
          return found[0]!;
        };

        beforeAll(() => {
          metricRules = ofType(resources, 'Microsoft.Insights/metricAlerts');
        });

        test("two, both on the app's own Application Insights, custom metrics not yet emitted accepted", () => {
          expect(metricRules).toHaveLength(2);
          for (const r of metricRules) {
            expect(at(r.body, 'properties', 'scopes')).toEqual(["[parameters('applicationInsightsId')]"]);
            expect(passedValue(r.node, 'applicationInsightsId')).toBe(
              "[reference('monitoring').outputs.applicationInsightsId.value]",
            );
            expect(at(r.body, 'properties', 'criteria', 'odata.type')).toBe(
              'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria',
            );
            const criterion = criterionOf(r);
            expect(criterion).toMatchObject({
              criterionType: 'StaticThresholdCriterion',
              metricNamespace: 'azure.applicationinsights',
              skipMetricValidation: true,
            });
            expect(METRICS).toContain(criterion.metricName);
            // Dimension filters need an opt-in on the component that templates cannot set.
            expect(criterion.dimensions).toBeUndefined();
            expect(at(r.body, 'properties', 'enabled')).toBe(true);
            expect(at(r.body, 'properties', 'autoMitigate')).toBe(true);
            expect(
              expandVariables(stringAt(at(r.body, 'properties', 'actions'), 'actions'), r.node.template),
            ).toContain('actionGroupId');
          }
        });

        test('4: tokens expired or expiring within 7 days at the last run (gauge above zero within 24 h)', () => {
          const r = byMetric('gallery_export.tokens.expiring');
          expect(criterionOf(r)).toMatchObject({
            timeAggregation: 'Maximum',
            operator: 'GreaterThan',
            threshold: 0,
          });
          expect(at(r.body, 'properties', 'windowSize')).toBe('PT24H');
        });

        test('5: the catalog answered 429 more than catalogThrottledAlertThreshold times within an hour', () => {
          const r = byMetric('gallery_export.catalog.throttled');
          expect(criterionOf(r)).toMatchObject({ timeAggregation: 'Total', operator: 'GreaterThan' });
          expect(topLevelParametersOf(r.node, criterionOf(r).threshold)).toEqual([
            'catalogThrottledAlertThreshold',
          ]);
          expect(evaluate(criterionOf(r).threshold, r.node)).toBe(100);
          expect(at(r.body, 'properties', 'windowSize')).toBe('PT1H');
        });
      });
    });

    describe('workbook', () => {
      let workbook: ArmResource;
      let content: JsonObject;
      let queries: { name: string; query: string }[];

      beforeAll(() => {
        workbook = single(resources, 'Microsoft.Insights/workbooks');
        content = objectAt(
          JSON.parse(
            stringAt(
              evaluate(at(workbook.body, 'properties', 'serializedData'), workbook.node, CONTEXT),
              'serializedData',
            ),
          ) as Json,
          'workbook content',
        );
        const items = at(content, 'items');
        if (!Array.isArray(items)) throw new Error('workbook has no items');
        queries = items
          .filter((i) => at(i, 'type') === 3)
          .map((i) => ({
            name: stringAt(at(i, 'name'), 'item name'),
            query: stringAt(at(i, 'content', 'query'), 'query'),
          }));
      });

      test("is built on the app's own Application Insights component", () => {
        const appInsightsId =
          "[resourceId('Microsoft.Insights/components', parameters('applicationInsightsName'))]";
        expect(at(workbook.body, 'properties', 'sourceId')).toBe(appInsightsId);
        expect(passedValue(workbook.node, 'applicationInsightsName')).toBe(
          "[variables('names').applicationInsights]",
        );
        expect(at(workbook.body, 'kind')).toBe('shared');
        expect(at(content, 'version')).toBe('Notebook/1.0');
        for (const item of (at(content, 'items') as Json[]).filter((i) => at(i, 'type') === 3)) {
          expect(at(item, 'content', 'resourceType')).toBe('microsoft.insights/components');
          expect(at(item, 'content', 'timeContextFromParameter')).toBe('TimeRange');
        }
      });

      test("has the charts an operator opens first, on the app's metrics and log lines", () => {
        expect(queries.map((q) => q.name)).toEqual(
          expect.arrayContaining([
            'runs-by-outcome',
            'recent-runs',
            'authors-by-outcome',
            'entities-exported',
            'throttled-rate',
            'retries-by-reason',
            'tokens-expiring',
            'tokens-by-secret',
          ]),
        );
        const all = queries.map((q) => q.query).join('\n');
        for (const metric of [
          'gallery_export.runs',
          'gallery_export.authors',
          'gallery_export.entities.exported',
          'gallery_export.catalog.requests',
          'gallery_export.catalog.throttled',
          'gallery_export.catalog.retries',
          'gallery_export.tokens.expiring',
        ]) {
          expect(all).toContain(`"${metric}"`);
        }
        // Every metric name a query reads is one the app emits.
        for (const [, name] of all.matchAll(/"(gallery_export\.[\w.]+)"/g)) expect(METRICS).toContain(name);
        // The log-line queries parse the lines the app writes.
        const recent = queries.find((q) => q.name === 'recent-runs')!.query;
        expect(
          parseLine(
            recent.replace(/\n\| take \d+$/, ''),
            'GalleryExport.RunFinished runId=20261128T020000Z-3fa9c1 status=failed complete=0 failed=2 skipped=0',
          ),
        ).toMatchObject({ status: 'failed', failed: '2' });
      });

      test('docs/operations.md shows the exact KQL behind every chart', () => {
        const doc = readFileSync(OPERATIONS_DOC, 'utf8');
        for (const { name, query } of queries) {
          expect([name, doc.includes(`\`\`\`kusto\n${query}\n\`\`\``)]).toEqual([name, true]);
        }
      });
    });

    describe('outputs', () => {
      test('no output name or value suggests a secret', () => {
        const suspiciousName =
          /(password|passwd|secret|connection_?string|sas|token|credential|api_?key|access_?key|account_?key|instrumentation_?key|listkeys)/i;
        const suspiciousValue =
          /(list\w*\(|connectionstring|instrumentationkey|primarykey|secondarykey|accountkey|password)/i;
        for (const node of allTemplates(root, resources)) {
          for (const [name, output] of Object.entries(objectAt(node.template.outputs ?? {}, 'outputs'))) {
            // A key's name, specification or vault is not a secret.
            const withoutNames = name
              .replace(/key_?vault/gi, '')
              .replace(/signing_?key_?(name|properties)/gi, '');
            expect([
              node.label,
              name,
              suspiciousName.test(withoutNames) || /key/i.test(withoutNames),
            ]).toEqual([node.label, name, false]);
            expect([
              node.label,
              name,
              suspiciousValue.test(JSON.stringify(at(output, 'value') ?? null)),
            ]).toEqual([node.label, name, false]);
            expect([node.label, name, text(at(output, 'type')).toLowerCase().startsWith('secure')]).toEqual([
              node.label,
              name,
              false,
            ]);
          }
        }
      });

      test('azd and the README get the names they need', () => {
        const outputs = Object.keys(objectAt(template.outputs, 'outputs'));
        for (const name of [
          'AZURE_FUNCTION_APP_NAME',
          'KEY_VAULT_URL',
          'SIGNING_KEY_NAME',
          'AZURE_KEY_VAULT_NAME',
          'AZURE_STORAGE_ACCOUNT_NAME',
          'AZURE_STORAGE_BLOB_ENDPOINT',
          'AZURE_RESOURCE_GROUP',
          'EXPORT_STORAGE__blobServiceUri',
          'EXPORT_STORAGE__queueServiceUri',
          'EXPORT_CONTAINER',
          'EXPORT_QUEUE',
          'SNAPSHOT_RETENTION_DAYS',
          'AZURE_APP_STORAGE_ROLE_CREATED_ON',
          // The postprovision hook that creates the signing key.
          'AZURE_KEY_VAULT_ID',
          'AZURE_RESOURCE_MANAGER_ENDPOINT',
          'SIGNING_KEY_PROPERTIES',
          'AZURE_DEPLOYER_VAULT_ROLE_CREATED_ON',
        ]) {
          expect(outputs).toContain(name);
        }
        // The CLI's storage outputs are the exports account, not the host's.
        expect(at(template.outputs, 'EXPORT_STORAGE__blobServiceUri', 'value')).toBe(
          "[reference('resources').outputs.EXPORT_STORAGE__blobServiceUri.value]",
        );
        const group = moduleNode(resources, root, 'resources');
        expect(at(group.template.outputs, 'EXPORT_STORAGE__blobServiceUri', 'value')).toBe(
          "[reference('exportStorage').outputs.blobEndpoint.value]",
        );
      });
    });
  });
}
