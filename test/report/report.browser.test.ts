import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { DEMO_HOSTILE_ENTITY_NAMES } from '../../dev/catalog-simulator/demoData';
import { visibleText } from '../../src/report/htmlText';
import {
  writeSubjectAccessReport,
  type SubjectAccessReport,
} from '../../src/report/writeSubjectAccessReport';
import { describeWithChromium, launchChromium, type ChromiumSession } from '../support/browser';
import { writeDemoBundle, type DemoBundle } from './demoBundle';

/**
 * The subject-access report as a data subject sees it: the demo author whose entity names hold markup,
 * quotes, right-to-left text, emoji and control characters, rendered and opened in Debian's Chromium.
 * Everything is asserted from the rendered page. UPDATE_DOCS_SCREENSHOTS=1 also refreshes the
 * screenshots in docs/.
 */
const PER_PAGE = 100;
const DOCS = resolve(__dirname, '..', '..', 'docs');

describeWithChromium('the subject-access report in a real browser', (chromiumPath) => {
  let folder: string;
  let bundle: DemoBundle;
  let report: SubjectAccessReport;
  let browser: ChromiumSession;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'report-browser-'));
    bundle = await writeDemoBundle(folder);
    report = await writeSubjectAccessReport({
      ...bundle,
      outFile: join(folder, 'report.html'),
      entitiesPerPage: PER_PAGE,
    });
    browser = await launchChromium(chromiumPath, { viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await rm(folder, { recursive: true, force: true });
  });

  beforeEach(() => {
    browser.activity.requests.length = 0;
    browser.activity.failedRequests.length = 0;
    browser.activity.refusedByTest.length = 0;
    browser.activity.console.length = 0;
    browser.activity.pageErrors.length = 0;
  });

  /** The names in the entity table of the open page, as the browser shows them. */
  function shownNames(page: Page): Promise<string[]> {
    return page.locator('table.entities tbody th[scope="row"] > bdi:first-child').allTextContents();
  }

  function factCell(page: Page, label: string): Promise<string> {
    return page
      .locator(`xpath=//table[@class="facts"]//th[normalize-space()="${label}"]/following-sibling::td[1]`)
      .innerText();
  }

  test('the report opens with no script, no request and no error; every name is text on its page', async () => {
    expect(report.pages).toBe(3);
    const page = await browser.openFile(report.files[0]!);
    expect(browser.activity.requests).toEqual([
      { url: pathToFileURL(report.files[0]!).href, resourceType: 'document' },
    ]);
    expect(browser.activity.pageErrors).toEqual([]);
    expect(browser.activity.console).toEqual([]);
    expect(await page.locator('script, img, iframe, object, embed, link, [style]').count()).toBe(0);
    // The hostile names are the first entities by id: on the first page, as text, not markup.
    const onFirstPage = await shownNames(page);
    expect(onFirstPage.slice(0, DEMO_HOSTILE_ENTITY_NAMES.length)).toEqual(
      DEMO_HOSTILE_ENTITY_NAMES.map(visibleText),
    );
    const text = await page.innerText('body');
    const squash = (value: string): string => value.replace(/\s+/g, ' ');
    for (const name of DEMO_HOSTILE_ENTITY_NAMES) expect(squash(text)).toContain(squash(visibleText(name)));
    expect(text).toContain('<script>alert(1)</script> Churn model');
    expect(await page.title()).toBe(
      'Your data in the Azure AI Gallery: Zoë Müller-Łukasiewicz (author 561F69…3B67)',
    );
    // The right-to-left names stay inside their cell: the row still starts with its position.
    const arabicRow = await page.locator('table.entities tbody tr:nth-child(3)').innerText();
    expect(arabicRow.startsWith('3\t')).toBe(true);
    await page.close();
  });

  test('every entity name appears once, in order, across the pages; the counts match the manifest', async () => {
    const names: string[] = [];
    let unlisted = 0;
    for (const file of report.files) {
      const page = await browser.openFile(file);
      names.push(...(await shownNames(page)));
      unlisted += await page.locator('table.entities .unlisted').count();
      await page.close();
    }
    expect(names).toEqual(bundle.names.map(visibleText));
    const { counts } = bundle.manifest;
    expect(names).toHaveLength(counts.entities);
    expect(unlisted).toBe(counts.unlisted);
    const page = await browser.openFile(report.files[0]!);
    expect(await factCell(page, 'Entities in this export')).toBe(String(counts.entities));
    expect(await factCell(page, 'Unlisted (hidden)')).toBe(String(counts.unlisted));
    expect(await factCell(page, 'Entities the manifest records')).toBe(String(counts.entities));
    expect(await factCell(page, 'Entities the catalog reported')).toBe(String(counts.reportedByCatalog));
    expect(await factCell(page, 'Author ID')).toBe(bundle.manifest.authorId);
    expect(await page.innerText('table.entities caption')).toBe(
      `Entities 1 to ${PER_PAGE} of ${counts.entities}, ordered by id`,
    );
    const proof = await page.innerText('#proof');
    for (const file of bundle.manifest.files) expect(proof).toContain(file.sha256);
    expect(proof).toContain('sha256sum -c SHA256SUMS');
    expect(await page.innerText('#missing')).toContain('Access token: valid.');
    await page.close();
    expect(
      browser.activity.requests.every(
        (request) => request.url.startsWith('file://') && request.resourceType === 'document',
      ),
    ).toBe(true);
    expect(browser.activity.requests).toHaveLength(report.files.length + 1);
  });

  test('the pages link to each other with plain links: next, next, then back to the first', async () => {
    const page = await browser.openFile(report.files[0]!);
    await Promise.all([
      page.waitForURL(pathToFileURL(report.files[1]!).href),
      page.click('nav.pages >> nth=1 >> a[rel="next"]'),
    ]);
    expect(await page.innerText('h1')).toContain('page 2 of 3');
    expect(await page.innerText('table.entities caption')).toBe(
      `Entities 101 to 200 of ${bundle.manifest.counts.entities}, ordered by id`,
    );
    await Promise.all([
      page.waitForURL(pathToFileURL(report.files[2]!).href),
      page.click('a[rel="next"] >> nth=0'),
    ]);
    expect(await page.locator('a[rel="next"]').count()).toBe(0);
    await Promise.all([
      page.waitForURL(pathToFileURL(report.files[0]!).href),
      page.click('text=First page: the summary >> nth=0'),
    ]);
    expect(await page.innerText('h1')).toBe('Your data in the Azure AI Gallery');
    await page.goBack();
    expect(page.url()).toBe(pathToFileURL(report.files[2]!).href);
    expect(browser.activity.requests.map((request) => request.url)).toEqual(
      [0, 1, 2, 0, 2].map((index) => pathToFileURL(report.files[index]!).href),
    );
    await page.close();
  });

  test('it prints: navigation hidden, headers repeated, and a PDF comes out', async () => {
    const page = await browser.openFile(report.files[0]!);
    await page.emulateMedia({ media: 'print' });
    // Evaluated as expressions in the page (the project's TypeScript has no DOM types).
    const printed = await page.evaluate<{ nav: string[]; header: string; fontSize: string }>(`({
      nav: [...document.querySelectorAll('nav.pages')].map((nav) => getComputedStyle(nav).display),
      header: getComputedStyle(document.querySelector('table.entities thead')).display,
      fontSize: getComputedStyle(document.body).fontSize,
    })`);
    expect(printed.nav.every((display) => display === 'none')).toBe(true);
    expect(printed.header).toBe('table-header-group');
    expect(printed.fontSize).toBe('12px'); // 9pt
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    await page.emulateMedia({ media: 'screen' });
    expect(await page.evaluate<string>("getComputedStyle(document.querySelector('nav.pages')).display")).toBe(
      'flex',
    );
    await page.close();
  });

  test('a script or image that slipped into a page would neither run nor load (the policy forbids both)', async () => {
    const tampered = join(folder, 'tampered.html');
    const html = await readFile(report.files[0]!, 'utf8');
    const injected =
      '<script>document.title = "script ran"</script><img src="https://example.invalid/pixel.png">' +
      '<p style="background: url(https://example.invalid/bg.png)">styled</p><iframe src="https://example.invalid/"></iframe>';
    await writeFile(tampered, html.replace('<body>', `<body>${injected}`), { flag: 'wx' });
    const page = await browser.openFile(tampered);
    expect(await page.title()).not.toBe('script ran');
    // Chromium announces the image request, then the page's policy refuses it before it leaves.
    expect(browser.activity.refusedByTest).toEqual([]);
    const external = browser.activity.requests.filter((request) => !request.url.startsWith('file:'));
    expect(browser.activity.failedRequests).toEqual(external.map(({ url }) => ({ url, reason: 'csp' })));
    const refused = browser.activity.console
      .filter((message) => message.text.includes('violates the following Content Security Policy directive'))
      .map((message) => /directive:? ["']?([a-z]+-src)/.exec(message.text)?.[1]);
    expect(refused.sort()).toEqual(['frame-src', 'img-src', 'script-src', 'style-src']);
    await page.close();
  });

  test('screenshots of what a data subject gets', async () => {
    const page = await browser.openFile(report.files[0]!);
    const top = join(folder, 'report-screenshot.png');
    await page.screenshot({ path: top });
    await page.evaluate("document.querySelector('#entities').scrollIntoView()");
    const entities = join(folder, 'report-entities-screenshot.png');
    await page.screenshot({ path: entities });
    await page.close();
    for (const file of [top, entities]) {
      const png = await readFile(file);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect((await stat(file)).size).toBeGreaterThan(20_000);
      if (process.env.UPDATE_DOCS_SCREENSHOTS === '1')
        await copyFile(file, join(DOCS, file.slice(folder.length + 1)));
    }
  });
});
