// Migrate once per run, copy per test file. PGlite: a migrated cluster is dumped to a tarball that each
// test file loads (no initdb, no migrations). With DATABASE_URL set: one migrated template database;
// each test file copies it (CREATE DATABASE … TEMPLATE) and drops its copy. Everything this run made is
// removed at the end.
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { dumpMigratedPglite, openStore } from '../../store/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
    runPrefix: string;
    /** Path of the migrated PGlite dump every PGlite test database starts from. */
    pgliteDump: string;
  }
}

export function databaseUrlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export default async function setup(project: TestProject) {
  const base = process.env.DATABASE_URL;
  const runPrefix = `fm_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  project.provide('runPrefix', runPrefix);
  const dumpFile = join(tmpdir(), `${runPrefix}_pglite.tar`);
  await writeFile(dumpFile, new Uint8Array(await (await dumpMigratedPglite()).arrayBuffer()));
  project.provide('pgliteDump', dumpFile);
  const removeDump = () => rm(dumpFile, { force: true });
  if (!base) {
    project.provide('templateDatabase', '');
    return removeDump;
  }
  const template = `${runPrefix}_tmpl`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${template}"`);
  const store = await openStore({ databaseUrl: databaseUrlFor(base, template), poolSize: 1 });
  await store.close();
  project.provide('templateDatabase', template);

  return async () => {
    const rows = await admin<
      { datname: string }[]
    >`select datname from pg_database where datname like ${`${runPrefix}%`}`;
    for (const { datname } of rows) {
      await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
    await admin.end();
    await removeDump();
  };
}
