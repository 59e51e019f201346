import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DSAR_ERASE_ROLE, DSAR_READ_ROLE } from '../../src/contract/dsar';

/** The app roles the data-subject routes require, as the app registration defines them (docs/deploy.md). */
test('infra/entra/app-roles.json defines Dsar.Read and Dsar.Erase, enabled, for users and applications', async () => {
  const root = join(__dirname, '..', '..');
  const roles = JSON.parse(await readFile(join(root, 'infra/entra/app-roles.json'), 'utf8')) as Array<{
    id: string;
    value: string;
    isEnabled: boolean;
    allowedMemberTypes: string[];
  }>;
  expect(roles.map((role) => role.value).sort()).toEqual([DSAR_ERASE_ROLE, DSAR_READ_ROLE].sort());
  for (const role of roles) {
    expect(role.isEnabled).toBe(true);
    expect(role.allowedMemberTypes.sort()).toEqual(['Application', 'User']);
    expect(role.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  }
  expect(new Set(roles.map((role) => role.id)).size).toBe(2);
  // The docs assign them by these IDs.
  const deploy = await readFile(join(root, 'docs/deploy.md'), 'utf8');
  for (const role of roles) expect(deploy).toContain(role.id);
});
