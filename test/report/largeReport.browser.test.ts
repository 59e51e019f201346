import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSubjectAccessReport } from '../../src/report/writeSubjectAccessReport';
import { describeWithChromium, launchChromium } from '../support/browser';
import { manifestFor, sampleProfile, writeLargeEntities } from './reportFixtures';

/**
 * A large author: 20,000 entities. The report is written a page at a time and its first page opened in
 * Chromium. The times are measured and printed, never asserted (they depend on the machine); what is
 * asserted is that the first page shows its share of the entities and links to every other page.
 */
const ENTITIES = 20_000;

describeWithChromium('a 20,000-entity report in a real browser', (chromiumPath) => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'report-large-'));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  test('its first page opens and shows the first entities; the figures are printed', async () => {
    const entitiesFile = join(folder, 'entities.json');
    const written = await writeLargeEntities(entitiesFile, ENTITIES);
    const profile = Buffer.from(JSON.stringify(sampleProfile('A. Prolific Author')));
    const manifest = manifestFor(
      { 'profile.json': profile, 'entities.json': written },
      { entities: ENTITIES, unlisted: written.unlisted, reportedByCatalog: ENTITIES },
    );

    const renderStarted = performance.now();
    const report = await writeSubjectAccessReport({
      outFile: join(folder, 'report.html'),
      manifest,
      profile,
      entitiesFile,
    });
    const renderMs = performance.now() - renderStarted;
    expect(report).toMatchObject({ pages: 20, entities: ENTITIES });
    const sizes = await Promise.all(report.files.map(async (file) => (await stat(file)).size));

    const browser = await launchChromium(chromiumPath);
    try {
      const opened = performance.now();
      const page = await browser.openFile(report.files[0]!);
      const loadMs = performance.now() - opened;
      await page.locator('table.entities tbody tr').last().waitFor();
      const shownMs = performance.now() - opened;
      // From the page's own clock, since its navigation started (an expression: no DOM types here).
      const timing = await page.evaluate<{ parsed: number; load: number; firstPaint: number }>(`({
        parsed: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
        load: performance.getEntriesByType('navigation')[0].loadEventEnd,
        firstPaint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
      })`);
      expect(await page.innerText('table.entities caption')).toBe(
        'Entities 1 to 1,000 of 20,000, ordered by id',
      );
      expect(await page.locator('table.entities tbody tr').count()).toBe(1000);
      expect(await page.locator('nav.pages >> nth=1 >> ol a').count()).toBe(20);
      expect(browser.activity.requests).toHaveLength(1);

      const last = performance.now();
      const lastPage = await browser.openFile(report.files[19]!);
      const lastPageMs = performance.now() - last;
      expect(await lastPage.innerText('table.entities caption')).toBe(
        'Entities 19,001 to 20,000 of 20,000, ordered by id',
      );

      const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
      console.log(
        [
          `Report of ${ENTITIES.toLocaleString('en-US')} entities (entities.json ${mib(written.bytes)}):`,
          `  written in ${renderMs.toFixed(0)} ms: ${report.pages} pages, ${mib(sizes.reduce((a, b) => a + b, 0))} in all`,
          `  first page ${mib(sizes[0]!)}: parsed at ${timing.parsed.toFixed(0)} ms, first contentful paint at ${timing.firstPaint.toFixed(0)} ms, load event at ${timing.load.toFixed(0)} ms (page clock);`,
          `    from asking for a new tab to its 1,000th row on screen: ${shownMs.toFixed(0)} ms (openFile returned after ${loadMs.toFixed(0)} ms)`,
          `  last page ${mib(sizes[19]!)}: loaded in ${lastPageMs.toFixed(0)} ms`,
        ].join('\n'),
      );
    } finally {
      await browser.close();
    }
  });
});
