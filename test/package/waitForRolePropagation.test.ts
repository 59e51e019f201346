/**
 * The postprovision hook (scripts/wait-for-role-propagation.js): waits only as long as the app's
 * storage role may still be propagating, judged by the time the template reports.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'wait-for-role-propagation.js');

function runHook(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

describe('wait-for-role-propagation (azd postprovision hook)', () => {
  test('waits out the rest of the propagation time of a role just granted', async () => {
    // ARM reports the time with seven fractional digits.
    const createdOn = new Date(Date.now()).toISOString().replace('Z', '0000Z');
    const result = await runHook({
      AZURE_APP_STORAGE_ROLE_CREATED_ON: createdOn,
      GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS: '1',
    });
    expect(result.code).toBe(0);
    expect(result.ms).toBeGreaterThanOrEqual(800);
    expect(result.stdout).toMatch(/waiting 1 s for it to propagate/);
  });

  test('returns at once for a role granted long ago (a redeployment)', async () => {
    const result = await runHook({ AZURE_APP_STORAGE_ROLE_CREATED_ON: '2024-05-01T10:11:12.1234567Z' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/no wait needed/);
    expect(result.ms).toBeLessThan(5000);
  });

  test('does not block a deployment when the time is missing, and refuses a malformed setting', async () => {
    const missing = await runHook({});
    expect(missing.code).toBe(0);
    expect(missing.stdout).toMatch(/not set; not waiting/);
    const malformed = await runHook({
      AZURE_APP_STORAGE_ROLE_CREATED_ON: new Date().toISOString(),
      GALLERY_EXPORT_ROLE_PROPAGATION_SECONDS: 'soon',
    });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/is not a number of seconds/);
  });
});
