import type { RunRecord } from '../../src/contract/formats';
import { METRIC_NAMES, SPAN_ATTRIBUTES as A, SPAN_NAMES } from '../../src/telemetry/names';
import type { OtlpReceiver, ReceivedPoint, ReceivedSpan } from '../support/otlpReceiver';

/**
 * What a collector must have received for one finished run, checked against its run record: the
 * spans (names, parent/child, attributes) and the metric values. Used by the telemetry tests on a
 * simulated run, and meant for the end-to-end test of an instrumented export against the local stack.
 */
export interface ExpectRunTelemetryOptions {
  /** Secrets whose values must appear nowhere in what was received (the authors' tokens). */
  secrets: readonly string[];
  /**
   * Whether the authors ran in the run's process (CLI, EXPORT_MODE=inline): then their spans are
   * children of the run span. In a fan-out run each author is its own invocation. @default true
   */
  inProcess?: boolean;
}

export function expectRunTelemetry(
  receiver: OtlpReceiver,
  record: RunRecord,
  options: ExpectRunTelemetryOptions,
): void {
  const { spans } = receiver;
  const runs = spans.filter((s) => s.name === SPAN_NAMES.run && s.attributes[A.runId] === record.runId);
  expect(runs).toHaveLength(1);
  const run = runs[0]!;
  const counts = { complete: 0, failed: 0, skipped: 0, pending: 0 };
  for (const author of record.authors) counts[author.status]++;
  expect(run.attributes).toMatchObject({
    [A.trigger]: record.trigger,
    [A.runStatus]: record.status,
    [A.authorsTotal]: record.authors.length,
    [A.authorsComplete]: counts.complete,
    [A.authorsFailed]: counts.failed,
    [A.authorsSkipped]: counts.skipped,
  });

  // One author span per author that was exported (those skipped when the run was planned have none).
  const authorSpans = spans.filter(
    (s) => s.name === SPAN_NAMES.author && s.attributes[A.runId] === record.runId,
  );
  for (const span of authorSpans) {
    const outcome = record.authors.find((a) => a.secretName === span.attributes[A.secretName]);
    expect(outcome).toBeDefined();
    expect(span.attributes[A.authorStatus]).toBe(outcome!.status);
    expect(span.attributes[A.errorCode]).toBe(outcome!.error?.code);
    expect(span.attributes[A.entities]).toBe(
      outcome!.status === 'complete' ? outcome!.counts?.entities : undefined,
    );
    expect(span.status.code).toBe(outcome!.status === 'failed' ? 2 : 0);
    if (options.inProcess !== false) expect(childOf(span, run)).toBe(true);
  }
  for (const outcome of record.authors.filter((a) => a.status === 'complete' || a.status === 'failed')) {
    expect(authorSpans.map((s) => s.attributes[A.secretName])).toContain(outcome.secretName);
  }

  // Catalog and storage spans hang below an author span and say nothing about who the author is.
  const catalogNames: string[] = Object.values(SPAN_NAMES.catalog);
  const below = spans.filter((s) => catalogNames.includes(s.name) || s.name === SPAN_NAMES.blobWrite);
  for (const span of below) {
    expect(authorSpans.some((author) => childOf(span, author))).toBe(true);
    if (catalogNames.includes(span.name)) {
      expect(span.kind).toBe(3);
      expect(span.attributes).toMatchObject({
        [A.httpMethod]: 'GET',
        [A.urlTemplate]: expect.stringMatching(/^\/(entities|users\/\{authorId\})$/) as unknown,
        [A.serverAddress]: expect.any(String) as unknown,
      });
      expect(span.attributes['url.full']).toBeUndefined();
    }
  }
  const catalogSpans = below.filter(
    (s) => catalogNames.includes(s.name) && authorSpans.some((a) => childOf(s, a)),
  );
  const figures = { requests: 0, retries: 0, throttled: 0 };
  for (const author of record.authors) {
    figures.requests += author.catalog?.requests ?? 0;
    figures.retries += author.catalog?.retries ?? 0;
    figures.throttled += author.catalog?.throttled ?? 0;
  }
  expect(catalogSpans).toHaveLength(figures.requests);

  // The metrics agree with the record: counters are cumulative, so the last point of each series.
  const trigger = record.trigger;
  expect(latestValue(receiver, METRIC_NAMES.runs, { status: record.status, trigger })).toBe(1);
  expect(receiver.latest(METRIC_NAMES.runDuration, { status: record.status, trigger })?.count).toBe(1);
  const outcomes = new Map<string, number>();
  for (const author of record.authors) {
    const key = JSON.stringify({ status: author.status, error_code: author.error?.code ?? '', trigger });
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  for (const [key, count] of outcomes) {
    expect(latestValue(receiver, METRIC_NAMES.authors, JSON.parse(key) as Record<string, string>)).toBe(
      count,
    );
  }
  const entities = record.authors.reduce(
    (sum, a) => sum + (a.status === 'complete' ? (a.counts?.entities ?? 0) : 0),
    0,
  );
  expect(latestValue(receiver, METRIC_NAMES.entitiesExported, { trigger })).toBe(entities);
  expect(sumOfLatest(receiver, METRIC_NAMES.catalogRequests)).toBe(figures.requests);
  expect(sumOfLatest(receiver, METRIC_NAMES.catalogRetries)).toBe(figures.retries);
  expect(sumOfLatest(receiver, METRIC_NAMES.catalogThrottled)).toBe(figures.throttled);
  for (const window of ['expired', '7d']) {
    expect(latestValue(receiver, METRIC_NAMES.tokensExpiring, { window })).toEqual(expect.any(Number));
  }

  // Nothing received, headers included, holds a token or an author ID.
  const everything = receiver.rawText();
  for (const secret of options.secrets) expect(everything).not.toContain(secret);
  for (const author of record.authors) {
    if (author.authorId) expect(everything.toUpperCase()).not.toContain(author.authorId.toUpperCase());
  }
}

export function childOf(child: ReceivedSpan, parent: ReceivedSpan): boolean {
  return child.traceId === parent.traceId && child.parentSpanId === parent.spanId;
}

export function latestValue(
  receiver: OtlpReceiver,
  metric: string,
  attributes: Record<string, string>,
): number | undefined {
  return receiver.latest(metric, attributes)?.value;
}

/** The sum over every series of a counter of its last point. */
export function sumOfLatest(receiver: OtlpReceiver, metric: string): number {
  const last = new Map<string, ReceivedPoint>();
  for (const point of receiver.points.filter((p) => p.metric === metric)) {
    last.set(JSON.stringify(point.attributes), point);
  }
  return [...last.values()].reduce((sum, point) => sum + (point.value ?? 0), 0);
}
