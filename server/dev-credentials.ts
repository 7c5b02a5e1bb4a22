// First start without FLOWMESH_ADMIN_KEY: create an admin key, print it once, keep it in the data folder.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { countLiveKeys } from '../store/api-keys.js';
import type { Runtime } from './runtime.js';

export interface DevCredentials {
  adminKey: string;
  createdAt: string;
}

export async function ensureDevAdminKey(runtime: Runtime, print: (line: string) => void): Promise<void> {
  if (runtime.config.adminKey) return;
  const file = join(runtime.config.dataDir, 'dev-credentials.json');
  if ((await countLiveKeys(runtime.store.db, 'admin')) > 0) {
    const existing = await readFile(file, 'utf8').then(
      (s) => JSON.parse(s) as DevCredentials,
      () => undefined,
    );
    if (existing) print(`Admin key: see ${file}`);
    return;
  }
  const created = await runtime.auth.create({ name: 'development admin', role: 'admin' });
  await mkdir(runtime.config.dataDir, { recursive: true });
  const credentials: DevCredentials = { adminKey: created.key, createdAt: created.createdAt };
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  print('');
  print(`  Created a development admin key (shown once, also saved to ${file}):`);
  print(`    ${created.key}`);
  print('  Set FLOWMESH_ADMIN_KEY to use your own instead.');
  print('');
}
