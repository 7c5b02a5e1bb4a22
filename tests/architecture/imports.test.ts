// The folder rules of ARCHITECTURE.md, made executable: this test reads every source file and checks
// what it imports and whether it reads process.env.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCE_FOLDERS = ['server', 'capabilities', 'policies', 'agents', 'telemetry', 'work', 'store', 'bin'];
/** Entry points may read the environment; everything else gets a Config. */
const ENTRY_POINTS = [
  'server/node.ts',
  'server/worker.ts',
  'bin/',
  'bench/',
  'tests/support/',
  'vitest.config.ts',
  'drizzle.config.ts',
];

interface SourceFile {
  path: string;
  text: string;
}

function walk(dir: string, out: string[] = []): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'migrations') walk(path, out);
    } else if (/\.(c|m)?[jt]sx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function sources(folders: readonly string[]): SourceFile[] {
  return folders
    .flatMap((f) => walk(f))
    .map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }));
}

/** Module specifiers of static imports, re-exports, side-effect imports and dynamic imports. */
function importsOf(text: string): string[] {
  const specs = new Set<string>();
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.add(m[1]!);
  return [...specs];
}

/** The code with comments removed, so a comment that mentions process.env does not count. */
function withoutComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .map((line) => line.replace(/(^|\s)\/\/.*$/, '$1'))
    .join('\n');
}

function readsEnvironment(text: string): boolean {
  const code = withoutComments(text);
  return (
    /\bprocess\s*(\.\s*env\b|\[\s*['"`]env['"`]\s*\])/.test(code) ||
    /from\s*['"](node:)?process['"]/.test(code)
  );
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const isNodeBuiltin = (spec: string) => spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0]!);
const isHono = (spec: string) => spec === 'hono' || spec.startsWith('hono/') || spec.startsWith('@hono/');
const isDatabase = (spec: string) =>
  /^(drizzle-orm|drizzle-kit|postgres|@electric-sql\/pglite)(\/|$)/.test(spec);
const isLangGraph = (spec: string) => /^@langchain\/langgraph(\/|$|-)/.test(spec);

/** Files under `folders` that import something `forbidden`, as "file → specifier". */
function offenders(files: SourceFile[], forbidden: (spec: string) => boolean): string[] {
  return files.flatMap((f) =>
    importsOf(f.text)
      .filter(forbidden)
      .map((s) => `${f.path} → ${s}`),
  );
}

const all = sources(SOURCE_FOLDERS);
const inFolder = (folder: string) => (f: SourceFile) => f.path.startsWith(`${folder}/`);
const outside = (folder: string) => (f: SourceFile) => !f.path.startsWith(`${folder}/`);

describe('the import checker itself', () => {
  it('finds static, type-only, multi-line, re-exported, side-effect and dynamic imports', () => {
    const text = `import { a } from 'hono';\nimport type {\n  B,\n} from "drizzle-orm/pg-core";\nexport * from './x.js';\nimport 'node:fs';\nconst m = await import('postgres');`;
    expect(importsOf(text).sort()).toEqual(['./x.js', 'drizzle-orm/pg-core', 'hono', 'node:fs', 'postgres']);
  });

  it('sees the environment read in code but not in comments', () => {
    // Spelled in pieces so this file does not read as reading the environment itself.
    const p = 'process';
    expect(readsEnvironment(`const url = ${p}.env.DATABASE_URL;`)).toBe(true);
    expect(readsEnvironment(`const e = ${p}['env'];`)).toBe(true);
    expect(readsEnvironment(`import { env } from 'node:${p}';`)).toBe(true);
    expect(readsEnvironment(`// nothing else reads ${p}.env\nconst x = 1;`)).toBe(false);
    expect(readsEnvironment(`/* ${p}.env is read in node.ts */ const x = 1;`)).toBe(false);
  });

  it('reads the real source tree', () => {
    expect(all.some((f) => f.path === 'work/state-machine.ts')).toBe(true);
    expect(all.some((f) => f.path === 'server/app.ts')).toBe(true);
    expect(all.some((f) => f.path === 'store/database.ts')).toBe(true);
  });
});

describe('folder rules', () => {
  const work = all.filter(inFolder('work'));

  it('keeps work/ free of hono, drizzle, the database drivers and Node.js built-ins', () => {
    expect(offenders(work, (s) => isHono(s) || isDatabase(s) || isNodeBuiltin(s))).toEqual([]);
  });

  it('keeps work/ from importing any other folder of flowmesh', () => {
    expect(offenders(work, (s) => s.startsWith('../'))).toEqual([]);
  });

  it('lets only server/ import hono', () => {
    expect(offenders(all.filter(outside('server')), isHono)).toEqual([]);
  });

  it('lets only store/ import drizzle and the database drivers', () => {
    expect(offenders(all.filter(outside('store')), isDatabase)).toEqual([]);
  });

  it('lets only agents/ import LangGraph', () => {
    expect(offenders(all.filter(outside('agents')), isLangGraph)).toEqual([]);
  });

  it('lets only the entry points read the environment', () => {
    const everything = [...all, ...sources(['tests', 'bench'])];
    const readers = everything
      .filter((f) => !ENTRY_POINTS.some((e) => (e.endsWith('/') ? f.path.startsWith(e) : f.path === e)))
      .filter((f) => readsEnvironment(f.text))
      .map((f) => relative('.', f.path));
    expect(readers).toEqual([]);
  });
});
