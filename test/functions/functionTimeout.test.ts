import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  functionTimeoutMs,
  invocationDeadlineMs,
  parseFunctionTimeout,
  RECORDING_MARGIN_MS,
} from '../../src/functions/functionTimeout';
import { servicesFor, useEnvironment } from '../../src/functions/runtime';
import { invocation } from '../support/functionsHarness';

/** An invocation the host kills records nothing: the code's deadlines stay below host.json's limit. */
afterAll(() => useEnvironment(undefined));

test('host.json functionTimeout is read as the host reads it', () => {
  expect(parseFunctionTimeout('00:30:00')).toBe(30 * 60_000);
  expect(parseFunctionTimeout('1.02:00:00')).toBe(26 * 3600_000);
  expect(parseFunctionTimeout('-1')).toBeUndefined();
  const host = JSON.parse(readFileSync(join(__dirname, '..', '..', 'host.json'), 'utf8')) as {
    functionTimeout: string;
  };
  expect(functionTimeoutMs()).toBe(parseFunctionTimeout(host.functionTimeout));
});

test('AUTHOR_TIMEOUT_MS is kept below the function timeout, with room to record the outcome', () => {
  expect(invocationDeadlineMs(60 * 60_000, 30 * 60_000)).toBe(30 * 60_000 - RECORDING_MARGIN_MS);
  expect(invocationDeadlineMs(10 * 60_000, 30 * 60_000)).toBe(10 * 60_000);
  expect(invocationDeadlineMs(10 * 60_000, undefined)).toBe(10 * 60_000);
});

test('the Functions services use the clamped deadline and say so', async () => {
  await useEnvironment({
    KEY_VAULT_URL: 'http://127.0.0.1:1',
    EXPORT_STORAGE: 'UseDevelopmentStorage=true',
    AUTHOR_TIMEOUT_MS: String(2 * 3600_000),
  });
  const { context, logs } = invocation('exportTimer');
  const services = servicesFor(context);
  expect(services.authorTimeoutMs).toBe(functionTimeoutMs()! - RECORDING_MARGIN_MS);
  expect(logs.join('\n')).toMatch(/AUTHOR_TIMEOUT_MS \(7200000\) is not below host.json's functionTimeout/);
});
