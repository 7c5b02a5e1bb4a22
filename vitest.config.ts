// vitest: every suite runs on PGlite; with DATABASE_URL set, the same suites run again on PostgreSQL
// (one migrated template database per run, one copy per test file).
import { defineConfig } from 'vitest/config';

const shared = {
  include: ['tests/**/*.test.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    globalSetup: ['tests/support/global-setup.ts'],
    pool: 'forks',
    projects: [
      { test: { ...shared, name: 'pglite', env: { FLOWMESH_TEST_DB: 'pglite' } } },
      ...(process.env.DATABASE_URL
        ? [{ test: { ...shared, name: 'postgres', env: { FLOWMESH_TEST_DB: 'postgres' } } }]
        : []),
    ],
  },
});
