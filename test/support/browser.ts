import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * A real browser for tests: Debian's Chromium (`apt-get install -y chromium`), driven by playwright-core
 * through `executablePath`. Nothing is ever downloaded. Each session gets a fresh profile folder, and
 * every request, console message and page error of every page is recorded, so a test can assert that a
 * page made no request at all.
 *
 * Tests that need it use {@link describeWithChromium}: without Chromium they are skipped with a loud
 * notice, except under CI=true, where a missing browser is a failure (.ci/run installs it).
 */

export const CHROMIUM_INSTALL_HINT =
  'Install it with `apt-get install -y chromium` (or point CHROMIUM_PATH at a Chromium binary).';

export type ChromiumLookup = { found: true; path: string } | { found: false; reason: string };

/** CHROMIUM_PATH when set (then the only place looked at), else Debian's /usr/bin/chromium. */
export function locateChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const path = env.CHROMIUM_PATH || '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
    return { found: true, path };
  } catch {
    return {
      found: false,
      reason: `${env.CHROMIUM_PATH ? 'CHROMIUM_PATH' : 'Chromium'} (${path}) is not an executable file.`,
    };
  }
}

/**
 * `describe` for browser tests: runs them when Chromium is installed; otherwise prints a notice and
 * skips them locally, and fails under CI=true (a skipped test nobody sees is a defect).
 */
export function describeWithChromium(name: string, body: (chromiumPath: string) => void): void {
  const lookup = locateChromium();
  if (lookup.found) {
    describe(`${name} (Chromium at ${lookup.path})`, () => body(lookup.path));
    return;
  }
  const message = `${lookup.reason} ${CHROMIUM_INSTALL_HINT}`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      test('Chromium is available (required when CI=true)', () => {
        throw new Error(message);
      });
    });
  } else {
    console.warn(`\n********\n[browser tests] SKIPPED "${name}": ${message}\n********\n`);
    describe.skip(`${name} (SKIPPED: ${message})`, () => {
      test('needs Chromium', () => undefined);
    });
  }
}

export interface PageActivity {
  /** Every request any page of the session made: URL and resource type, navigations included. */
  requests: Array<{ url: string; resourceType: string }>;
  /** Requests that did not complete, with the browser's reason (a policy's refusal shows here). */
  failedRequests: Array<{ url: string; reason: string }>;
  /** Requests that got past the page's own policies and would have reached the network: refused here. */
  refusedByTest: string[];
  console: Array<{ type: string; text: string }>;
  pageErrors: string[];
}

export interface ChromiumSession {
  context: BrowserContext;
  activity: PageActivity;
  /** Opens a file in a new page and waits for its load event. */
  openFile(path: string): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchChromiumOptions {
  viewport?: { width: number; height: number };
}

/** Chromium, headless, with a fresh profile and no background traffic of its own. */
export async function launchChromium(
  executablePath: string,
  options: LaunchChromiumOptions = {},
): Promise<ChromiumSession> {
  const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: options.viewport ?? { width: 1280, height: 900 },
      offline: true,
    })
    .catch(async (error: unknown) => {
      await rm(profile, { recursive: true, force: true });
      throw error;
    });
  const activity: PageActivity = {
    requests: [],
    failedRequests: [],
    refusedByTest: [],
    console: [],
    pageErrors: [],
  };
  context.on('request', (request) =>
    activity.requests.push({ url: request.url(), resourceType: request.resourceType() }),
  );
  context.on('requestfailed', (request) =>
    activity.failedRequests.push({ url: request.url(), reason: request.failure()?.errorText ?? '' }),
  );
  // Anything that is not a local file is refused before it leaves the browser, should a page ever try.
  await context.route(/^(?!file:)/, async (route) => {
    activity.refusedByTest.push(route.request().url());
    await route.abort('blockedbyclient');
  });
  const watch = (page: Page): void => {
    page.on('console', (message) => activity.console.push({ type: message.type(), text: message.text() }));
    page.on('pageerror', (error) => activity.pageErrors.push(error.message));
  };
  context.on('page', watch);
  context.pages().forEach(watch);
  return {
    context,
    activity,
    async openFile(path: string): Promise<Page> {
      const page = await context.newPage();
      await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
      return page;
    },
    async close(): Promise<void> {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
