import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { displayWidth } from '../../src/cli/format';
import { runInTerminal, type TerminalResult } from '../support/terminal';
import { uniqueName } from '../support/storage';

/**
 * Issue 27's acceptance: run, list, verify and authors at a terminal of 120 columns (a pseudo-terminal
 * from util-linux `script`): no line wider than the terminal, every author's full ID or label present,
 * no ellipsis inside an ID or a path (none at all, in fact).
 */
const COLUMNS = 120;
let stack: LocalStack;
let env: Record<string, string>;
const completing = DEMO_AUTHORS.map((author) => author.label);

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
  env = { ...stack.env, EXPORT_CONTAINER: uniqueName('tty') };
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

function expectFits(result: TerminalResult): void {
  const wide = result.lines.filter((line) => displayWidth(line) > COLUMNS);
  expect(wide).toEqual([]);
  expect(result.raw).not.toContain('…');
}

test('run', async () => {
  const result = await runInTerminal(['run'], env, COLUMNS);
  expect(result.code).toBe(1); // the demo's unknown and malformed authors fail on purpose
  expectFits(result);
  const text = result.lines.join('\n');
  for (const label of [...completing, 'unknown-author', 'malformed-author', 'disabled-author'])
    expect(text).toContain(label);
  expect(text).toMatch(/FAILED +unknown-author/);
  expect(text).toMatch(/Run \S+: partial \(6 complete, 2 failed, 1 skipped\) in /);
  expect(text).toMatch(/run record runs\/\d{4}\/\d\d\/\d\d\/\S+\.json in container/);
}, 90_000);

test('list', async () => {
  const result = await runInTerminal(['list'], env, COLUMNS);
  expect(result.code).toBe(0);
  expectFits(result);
  for (const author of DEMO_AUTHORS) {
    const heading = result.lines.find((line) => line.startsWith('author ') && line.endsWith(author.authorId));
    expect([author.label, heading]).toEqual([author.label, expect.stringContaining(author.label)]);
  }
}, 60_000);

test('verify', async () => {
  const result = await runInTerminal(['verify'], env, COLUMNS);
  expect(result.code).toBe(0);
  expectFits(result);
  for (const author of DEMO_AUTHORS) expect(result.lines).toContain(`author ${author.authorId}`);
}, 60_000);

test('authors', async () => {
  const result = await runInTerminal(['authors'], env, COLUMNS);
  expect(result.code).toBe(0);
  expectFits(result);
  for (const author of DEMO_AUTHORS) {
    expect(result.lines.some((line) => line.includes(author.label))).toBe(true);
    expect(result.lines.some((line) => line.includes(author.authorId))).toBe(true);
  }
}, 60_000);
