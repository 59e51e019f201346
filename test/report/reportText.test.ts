import { entityFacts, entityTypeWords, formatCatalogDate, formatCount } from '../../src/report/entityFacts';
import { catalogText, catalogValueText, escapeHtml, visibleText } from '../../src/report/htmlText';
import { describeTokenStatus, describeTrigger } from '../../src/report/reportWording';
import type { TokenStatus } from '../../src/contract/tokenHealth';

describe('escaping catalog text', () => {
  test('the five HTML-significant characters become entities, in text and attributes alike', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
    expect(catalogText('</td></tr></table>')).toBe('<bdi>&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</bdi>');
  });

  test('control characters are shown, never passed on', () => {
    expect(visibleText('Bell\u0007 NUL\u0000 \u001b[31mred')).toBe(
      'Bell⟨U+0007⟩ NUL⟨U+0000⟩ ⟨U+001B⟩[31mred',
    );
    expect(visibleText('line\nbreak\ttab\u007f')).toBe('line⟨U+000A⟩break⟨U+0009⟩tab⟨U+007F⟩');
    expect(visibleText('C1 \u0085 here')).toBe('C1 \u27e8U+0085\u27e9 here');
  });

  test('bidirectional overrides are shown; right-to-left letters, marks and joiners are kept', () => {
    expect(visibleText('Invoice \u202etxt.exe\u202c')).toBe(
      'Invoice \u27e8U+202E\u27e9txt.exe\u27e8U+202C\u27e9',
    );
    expect(visibleText('\u2067isolate\u2069')).toBe('\u27e8U+2067\u27e9isolate\u27e8U+2069\u27e9');
    const kept = 'تحليل ניתוח \u200f\u200e 👨\u200d👩\u200d👧 🏳️\u200d🌈 Zoë';
    expect(visibleText(kept)).toBe(kept);
    // Right-to-left text is isolated, so it cannot reorder the cells around it.
    expect(catalogText('تحليل')).toBe('<bdi>تحليل</bdi>');
  });

  test('lone surrogates become U+FFFD; valid pairs stay', () => {
    expect(visibleText('a\ud83db\udc00c🚀')).toBe('a\ufffdb\ufffdc🚀');
  });

  test('any JSON value becomes text', () => {
    expect(catalogValueText('x')).toBe('x');
    expect(catalogValueText(42)).toBe('42');
    expect(catalogValueText(null)).toBe('null');
    expect(catalogValueText(['a', { b: 1 }])).toBe('["a",{"b":1}]');
    expect(catalogValueText(undefined)).toBe('');
  });
});

describe('entity facts', () => {
  test('entity_type in words, whether an integer or a string', () => {
    const expected: Array<[unknown, string]> = [
      [1, 'experiment'],
      ['1', 'experiment'],
      [4, 'module'],
      [5, 'competition'],
      ['6', 'API'],
      [7, 'tutorial'],
      [9, 'collection'],
      ['10', 'solution accelerator'],
      [11, 'notebook'],
      [12, 'classroom'],
      ['13', 'webinar'],
      [14, 'video'],
      [16, 'project'],
      [2, 'unknown type (2)'],
      [' 16 ', 'project'],
      ['Notebook', 'Notebook'],
      [undefined, 'unknown type'],
      [null, 'unknown type'],
      ['', 'unknown type'],
    ];
    for (const [code, words] of expected) expect([code, entityTypeWords(code)]).toEqual([code, words]);
  });

  test('catalog dates (seven fractional digits, an offset) read as UTC minutes; anything else as sent', () => {
    expect(formatCatalogDate('2018-05-07T14:30:25.9305671+00:00')).toBe('2018-05-07 14:30 UTC');
    expect(formatCatalogDate('2018-05-07T23:30:00+02:00')).toBe('2018-05-07 21:30 UTC');
    expect(formatCatalogDate('last Tuesday')).toBe('last Tuesday');
    expect(formatCatalogDate(undefined)).toBe('');
    expect(formatCatalogDate(1525703425)).toBe('1525703425');
  });

  test('counts get thousands separators whatever the machine locale', () => {
    expect(formatCount(246187)).toBe('246,187');
    expect(formatCount('12')).toBe('12');
    expect(formatCount(undefined)).toBe('');
  });

  test('an entity read defensively: the gallery link as text, a derived one when _links is missing', () => {
    const link = (id: string): string => `https://catalog.example/entities/${id}`;
    expect(
      entityFacts(
        {
          id: 'abc',
          name: 'Wine Quality 🍷',
          entity_type: '11',
          hidden: true,
          created_at: '2015-01-21T00:20:00.0000000+00:00',
          updated_at: '2016-08-17T16:57:00.1234567+00:00',
          view_count: 1234,
          download_count: 5,
          _links: { self: 'https://catalog.azureml.net/tenants/t/communities/c/entities/abc' },
        },
        link,
      ),
    ).toEqual({
      id: 'abc',
      name: 'Wine Quality 🍷',
      type: 'notebook',
      created: '2015-01-21 00:20 UTC',
      updated: '2016-08-17 16:57 UTC',
      unlisted: true,
      views: '1,234',
      downloads: '5',
      link: 'https://catalog.azureml.net/tenants/t/communities/c/entities/abc',
    });
    expect(entityFacts({ id: 7, name: { nested: 1 }, hidden: 'true' }, link)).toMatchObject({
      id: '7',
      name: '{"nested":1}',
      unlisted: true,
      link: 'https://catalog.example/entities/7',
    });
    expect(entityFacts('just a string', link)).toMatchObject({ name: 'just a string', id: '', link: '' });
  });
});

describe('token status in plain words', () => {
  test('valid includes the unlisted entities; every other status says they are missing and why', () => {
    expect(describeTokenStatus({ status: 'valid' })).toMatchObject({ unlistedMayBeMissing: false });
    expect(describeTokenStatus({ status: 'valid' }).meaning).toMatch(
      /unlisted \(hidden\) entities are included/,
    );
    const reasons: Record<Exclude<TokenStatus, 'valid'>, RegExp> = {
      expired: /had expired when the export ran \(it expired at 2026-11-28T09:00:00Z\).*fresh token/,
      absent: /No access token was on file/,
      mismatch: /issued to a different author/,
      unreadable: /could not be read/,
    };
    for (const [status, reason] of Object.entries(reasons)) {
      const wording = describeTokenStatus({
        status: status as TokenStatus,
        expiresAt: '2026-11-28T09:00:00Z',
      });
      expect(wording.unlistedMayBeMissing).toBe(true);
      expect(wording.meaning).toMatch(reason);
      expect(wording.meaning).toMatch(/unlisted entities you published are missing from this export/);
    }
    expect(describeTokenStatus({ status: 'mismatch' }).label).toBe('belongs to someone else');
    expect(describeTokenStatus({ status: 'expired' }).meaning).not.toContain('(it expired at');
  });

  test('who started the export', () => {
    expect(describeTrigger('timer')).toBe('the nightly scheduled export');
    expect(describeTrigger('http')).toMatch(/HTTP API/);
    expect(describeTrigger('cli')).toMatch(/command line/);
  });
});
