import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * An OTLP/HTTP receiver on loopback, in-process: what a collector would get, decoded. It accepts
 * `POST /v1/traces` and `POST /v1/metrics` in JSON (`application/json`) and protobuf
 * (`application/x-protobuf`, decoded here by field number: OpenTelemetry JS ships a protobuf writer but
 * no reader), gzip or not. Every body is kept raw too, so a test can search everything received.
 */

export type AttributeValue =
  string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  /** Undefined for a root span (in this process: the parent may be remote, e.g. the Functions host). */
  parentSpanId: string | undefined;
  /** OTLP's enum: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Attributes;
  /** OTLP's enum: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Attributes;
  scope: string;
}

export interface ReceivedPoint {
  metric: string;
  unit: string;
  type: 'sum' | 'gauge' | 'histogram';
  attributes: Attributes;
  /** Sums and gauges. */
  value?: number;
  /** Histograms. */
  count?: number;
  sum?: number;
  resource: Attributes;
}

export interface ReceivedRequest {
  path: string;
  format: 'json' | 'protobuf';
  headers: IncomingHttpHeaders;
  /** The body as received, decompressed. */
  body: Buffer;
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (`http://127.0.0.1:<port>`). */
  url: string;
  spans: ReceivedSpan[];
  /** Every data point of every export, in order (cumulative points repeat per export). */
  points: ReceivedPoint[];
  requests: ReceivedRequest[];
  /** Every body received (headers included), as text, for a "no token anywhere" search. */
  rawText(): string;
  /** The last point of a metric whose attributes are exactly these. */
  latest(metric: string, attributes?: Attributes): ReceivedPoint | undefined;
  waitFor(condition: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface OtlpReceiverOptions {
  /** The status to answer a request with (e.g. 503 to test failures). @default () => 200 */
  status?: (path: string) => number;
}

export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const points: ReceivedPoint[] = [];
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const format = String(req.headers['content-type']).includes('protobuf') ? 'protobuf' : 'json';
      requests.push({ path, format, headers: req.headers, body });
      const status = options.status?.(path) ?? 200;
      if (req.method !== 'POST' || (path !== '/v1/traces' && path !== '/v1/metrics')) {
        res.writeHead(404).end();
        return;
      }
      if (status === 200) {
        try {
          if (path === '/v1/traces') spans.push(...decodeTraces(body, format));
          else points.push(...decodeMetrics(body, format));
        } catch (error) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
          return;
        }
      }
      if (format === 'json') res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    points,
    requests,
    rawText: () =>
      requests
        .map((request) => `${JSON.stringify(request.headers)}\n${request.body.toString('latin1')}`)
        .join('\n'),
    latest: (metric, attributes) =>
      points
        .filter((p) => p.metric === metric && (!attributes || sameAttributes(p.attributes, attributes)))
        .at(-1),
    waitFor: async (condition, what, timeoutMs = 10_000) => {
      const deadline = performance.now() + timeoutMs;
      while (!condition()) {
        if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function sameAttributes(actual: Attributes, expected: Attributes): boolean {
  const keys = Object.keys(actual);
  return keys.length === Object.keys(expected).length && keys.every((k) => actual[k] === expected[k]);
}

// --- One decoded shape for both encodings -------------------------------------------------------

/** A message decoded generically: JSON objects as they are, protobuf as field number -> values. */
type Message = { get(field: string, number: number): unknown[] };

function jsonMessage(value: unknown): Message {
  const object = (value ?? {}) as Record<string, unknown>;
  return {
    get: (field) => {
      const found = object[field];
      return found === undefined || found === null
        ? []
        : Array.isArray(found)
          ? (found as unknown[])
          : [found];
    },
  };
}

function decodeTraces(body: Buffer, format: 'json' | 'protobuf'): ReceivedSpan[] {
  const root = format === 'json' ? jsonMessage(JSON.parse(body.toString('utf8'))) : protoMessage(body);
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of messages(root, 'resourceSpans', 1, format)) {
    const resource = attributesOf(
      first(messages(resourceSpans, 'resource', 1, format)),
      'attributes',
      1,
      format,
    );
    for (const scopeSpans of messages(resourceSpans, 'scopeSpans', 2, format)) {
      const scope = text(first(messages(scopeSpans, 'scope', 1, format)), 'name', 1, format);
      for (const span of messages(scopeSpans, 'spans', 2, format)) {
        const status = first(messages(span, 'status', 15, format));
        const parent = id(span, 'parentSpanId', 4, format);
        spans.push({
          name: text(span, 'name', 5, format),
          traceId: id(span, 'traceId', 1, format),
          spanId: id(span, 'spanId', 2, format),
          parentSpanId: parent === '' ? undefined : parent,
          kind: num(span, 'kind', 6),
          attributes: attributesOf(span, 'attributes', 9, format),
          status: { code: num(status, 'code', 3), message: text(status, 'message', 2, format) },
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}

function decodeMetrics(body: Buffer, format: 'json' | 'protobuf'): ReceivedPoint[] {
  const root = format === 'json' ? jsonMessage(JSON.parse(body.toString('utf8'))) : protoMessage(body);
  const points: ReceivedPoint[] = [];
  for (const resourceMetrics of messages(root, 'resourceMetrics', 1, format)) {
    const resource = attributesOf(
      first(messages(resourceMetrics, 'resource', 1, format)),
      'attributes',
      1,
      format,
    );
    for (const scopeMetrics of messages(resourceMetrics, 'scopeMetrics', 2, format)) {
      for (const metric of messages(scopeMetrics, 'metrics', 2, format)) {
        const base = {
          metric: text(metric, 'name', 1, format),
          unit: text(metric, 'unit', 3, format),
          resource,
        };
        for (const [type, field, number] of [
          ['sum', 'sum', 7],
          ['gauge', 'gauge', 5],
        ] as const) {
          for (const data of messages(metric, field, number, format)) {
            for (const point of messages(data, 'dataPoints', 1, format)) {
              const value =
                format === 'json'
                  ? num(point, 'asInt', 0) || num(point, 'asDouble', 0)
                  : (double(point, 6, 'int') ?? double(point, 4, 'double') ?? 0);
              points.push({ ...base, type, attributes: attributesOf(point, 'attributes', 7, format), value });
            }
          }
        }
        for (const data of messages(metric, 'histogram', 9, format)) {
          for (const point of messages(data, 'dataPoints', 1, format)) {
            points.push({
              ...base,
              type: 'histogram',
              attributes: attributesOf(point, 'attributes', 9, format),
              count: format === 'json' ? num(point, 'count', 0) : (double(point, 4, 'uint') ?? 0),
              sum: format === 'json' ? num(point, 'sum', 0) : (double(point, 5, 'double') ?? 0),
            });
          }
        }
      }
    }
  }
  return points;
}

function messages(message: Message | undefined, field: string, number: number, format: string): Message[] {
  if (!message) return [];
  const values = message.get(field, number);
  return values.map((value) => (format === 'json' ? jsonMessage(value) : protoMessage(value as Buffer)));
}

const first = (list: Message[]): Message | undefined => list[0];

function text(message: Message | undefined, field: string, number: number, format: string): string {
  const value = message?.get(field, number)[0];
  if (value === undefined) return '';
  if (format !== 'json') return (value as Buffer).toString('utf8');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A varint (protobuf) or a number or numeric string (JSON, where 64-bit integers are strings). */
function num(message: Message | undefined, field: string, number: number): number {
  const value = message?.get(field, number)[0];
  return value === undefined ? 0 : Number(value);
}

/** A trace or span ID as hex: JSON sends hex already, protobuf raw bytes. */
function id(message: Message, field: string, number: number, format: string): string {
  const value = message.get(field, number)[0];
  if (value === undefined) return '';
  if (format !== 'json') return (value as Buffer).toString('hex');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** An 8-byte protobuf field (fixed64, sfixed64 or double). */
function double(message: Message, number: number, as: 'double' | 'int' | 'uint'): number | undefined {
  const value = message.get('', number)[0] as Buffer | undefined;
  if (value === undefined) return undefined;
  if (as === 'double') return value.readDoubleLE(0);
  return Number(as === 'int' ? value.readBigInt64LE(0) : value.readBigUInt64LE(0));
}

function attributesOf(
  message: Message | undefined,
  field: string,
  number: number,
  format: string,
): Attributes {
  const attributes: Attributes = {};
  for (const pair of messages(message, field, number, format)) {
    attributes[text(pair, 'key', 1, format)] = anyValue(first(messages(pair, 'value', 2, format)), format);
  }
  return attributes;
}

function anyValue(value: Message | undefined, format: string): AttributeValue {
  if (!value) return null;
  if (format === 'json') {
    for (const kind of ['stringValue', 'boolValue', 'bytesValue'] as const) {
      const found = value.get(kind, 0)[0];
      if (found !== undefined) return found as AttributeValue;
    }
    const number = value.get('intValue', 0)[0] ?? value.get('doubleValue', 0)[0];
    if (number !== undefined) return Number(number);
  } else {
    const string = value.get('', 1)[0] as Buffer | undefined;
    if (string !== undefined) return string.toString('utf8');
    const bool = value.get('', 2)[0] as bigint | undefined;
    if (bool !== undefined) return bool !== 0n;
    const integer = value.get('', 3)[0] as bigint | undefined;
    if (integer !== undefined) return Number(BigInt.asIntN(64, integer));
    const number = value.get('', 4)[0] as Buffer | undefined;
    if (number !== undefined) return number.readDoubleLE(0);
  }
  const array = first(messages(value, 'arrayValue', 5, format));
  if (array) return messages(array, 'values', 1, format).map((item) => anyValue(item, format));
  const list = first(messages(value, 'kvlistValue', 6, format));
  if (list) return attributesOf(list, 'values', 1, format);
  return null;
}

/** Protobuf's wire format, one level: varints as bigint, everything else as the bytes it spans. */
function protoMessage(bytes: Buffer): Message {
  const fields = new Map<number, unknown[]>();
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = bytes[at++];
      if (byte === undefined) throw new Error('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  const take = (length: number): Buffer => {
    if (at + length > bytes.length) throw new Error('truncated field');
    const slice = bytes.subarray(at, at + length);
    at += length;
    return slice;
  };
  while (at < bytes.length) {
    const tag = Number(varint());
    const [number, wire] = [tag >>> 3, tag & 7];
    const value =
      wire === 0
        ? varint()
        : wire === 1
          ? take(8)
          : wire === 2
            ? take(Number(varint()))
            : wire === 5
              ? take(4)
              : undefined;
    if (value === undefined) throw new Error(`unsupported wire type ${wire}`);
    fields.set(number, [...(fields.get(number) ?? []), value]);
  }
  return { get: (_field, number) => fields.get(number) ?? [] };
}
