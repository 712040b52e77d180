/**
 * House rules for imports, checked on the source (src/**\/*.ts) rather than trusted to review:
 *  - a folder imports only the folders the table below allows (ARCHITECTURE.md's "may import" column,
 *    which must state the same table);
 *  - no import cycle between folders;
 *  - no dynamic import whose argument is not a string literal (the compiler and readers must see it).
 * A folder is a top-level folder of src/, except under src/apps/, where each app is one ('apps/http').
 * Files directly in src/ (the package's entry points) form the folder '.'. Type-only imports count: a
 * folder that needs another's types depends on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { repoPath } from '../support/env.js';

/** Which folders each folder may import (besides itself). Keep in step with ARCHITECTURE.md. */
export const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  util: [],
  uapi: [],
  isa: ['util'],
  btf: ['util'],
  cbpf: ['isa', 'util'],
  'pcap-filter': ['cbpf', 'isa', 'uapi', 'util'],
  asm: ['elf', 'btf', 'isa', 'util'],
  elf: ['btf', 'isa', 'uapi', 'util'],
  engine: ['elf', 'btf', 'isa', 'uapi', 'util'],
  verifier: ['engine', 'asm', 'elf', 'btf', 'isa', 'uapi', 'util'],
  vm: ['engine', 'asm', 'elf', 'btf', 'isa', 'uapi', 'util'],
  kernel: ['engine', 'elf', 'btf', 'isa', 'uapi', 'util'],
  compile: ['elf', 'btf', 'util'],
  loader: ['engine', 'verifier', 'vm', 'kernel', 'elf', 'btf', 'isa', 'uapi', 'util'],
  packet: ['pcap-filter', 'cbpf', 'kernel', 'loader', 'elf', 'isa', 'uapi', 'util'],
  tc: ['loader', 'engine', 'kernel', 'pcap-filter', 'cbpf', 'elf', 'btf', 'isa', 'uapi', 'util'],
  trace: ['compile', 'loader', 'engine', 'kernel', 'elf', 'btf', 'isa', 'uapi', 'util'],
  conformance: ['vm', 'asm', 'isa', 'util'],
  'apps/http': [
    'packet',
    'pcap-filter',
    'cbpf',
    'loader',
    'engine',
    'vm',
    'kernel',
    'elf',
    'asm',
    'isa',
    'uapi',
    'util',
  ],
  cli: [
    'apps/http',
    'conformance',
    'trace',
    'tc',
    'compile',
    'packet',
    'pcap-filter',
    'cbpf',
    'verifier',
    'loader',
    'engine',
    'vm',
    'kernel',
    'elf',
    'btf',
    'asm',
    'isa',
    'uapi',
    'util',
  ],
  '.': [
    'apps/http',
    'trace',
    'tc',
    'compile',
    'packet',
    'pcap-filter',
    'cbpf',
    'verifier',
    'loader',
    'engine',
    'vm',
    'kernel',
    'elf',
    'btf',
    'asm',
    'isa',
    'uapi',
    'util',
  ],
};

const srcDir = repoPath('src');

interface ImportSite {
  /** File path relative to the repository, and line. */
  where: string;
  specifier: string | undefined;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every import of a file: static imports, re-exports, import() calls and import('...') types. */
function importsOf(file: string): ImportSite[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: ImportSite[] = [];
  const at = (node: ts.Node) =>
    `${relative(repoPath(), file)}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
  const literal = (node: ts.Node | undefined) =>
    node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      out.push({ where: at(node), specifier: literal(node.moduleSpecifier) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      out.push({ where: at(node), specifier: literal(node.arguments[0]) });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      out.push({ where: at(node), specifier: literal(node.argument.literal) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The folder a path inside src/ belongs to. */
function folderOf(path: string): string {
  const parts = relative(srcDir, path).split(/[\\/]/);
  if (parts.length === 1) return '.';
  if (parts[0] === 'apps' && parts.length > 2) return `apps/${parts[1]}`;
  return parts[0]!;
}

interface Edge {
  from: string;
  to: string;
  where: string;
}

function scan(): { edges: Edge[]; dynamic: string[]; outside: string[]; folders: Set<string> } {
  const edges: Edge[] = [];
  const dynamic: string[] = [];
  const outside: string[] = [];
  const folders = new Set<string>();
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(file);
    folders.add(from);
    for (const site of importsOf(file)) {
      if (site.specifier === undefined) {
        dynamic.push(site.where);
        continue;
      }
      if (!site.specifier.startsWith('.')) continue; // node: built-ins and packages
      const target = resolve(dirname(file), site.specifier);
      if (relative(srcDir, target).startsWith('..')) {
        outside.push(`${site.where} imports ${site.specifier}, outside src/`);
        continue;
      }
      const to = folderOf(target);
      if (to !== from) edges.push({ from, to, where: site.where });
    }
  }
  return { edges, dynamic, outside, folders };
}

const scanned = scan();

test('house: every import in src/ has a string literal for its module (no import(variable))', () => {
  assert.ok(scanned.edges.length > 50, 'the scan found the imports');
  assert.deepEqual(scanned.dynamic, [], 'dynamic imports by a computed name');
  assert.deepEqual(scanned.outside, []);
});

test('house: each folder of src/ imports only what ARCHITECTURE.md allows it', () => {
  const unknown = [...scanned.folders].filter((f) => !(f in MAY_IMPORT));
  assert.deepEqual(unknown, [], 'folders missing from the MAY_IMPORT table (add them here and to ARCHITECTURE.md)');
  const seen = new Set<string>();
  const violations: string[] = [];
  for (const e of scanned.edges) {
    if (MAY_IMPORT[e.from]!.includes(e.to)) continue;
    const key = `${e.from} -> ${e.to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    violations.push(`${key} (${e.where})`);
  }
  assert.deepEqual(violations, []);
});

test('house: no import cycle between the folders of src/', () => {
  const next = new Map<string, Map<string, string>>();
  for (const e of scanned.edges) {
    if (!next.has(e.from)) next.set(e.from, new Map());
    if (!next.get(e.from)!.has(e.to)) next.get(e.from)!.set(e.to, e.where);
  }
  // Depth-first search; a back edge closes a cycle, reported with one import per step.
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const walk = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const [to] of next.get(f) ?? []) {
      if (state.get(to) === 'open') {
        const loop = [...path.slice(path.indexOf(to)), to];
        cycles.push(
          loop.map((x, i) => (i + 1 < loop.length ? `${x} (${next.get(x)!.get(loop[i + 1]!)})` : x)).join(' -> '),
        );
      } else if (!state.has(to)) walk(to);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of [...next.keys()].sort()) if (!state.has(f)) walk(f);
  assert.deepEqual(cycles, []);
});

test('house: ARCHITECTURE.md states the same "may import" table', () => {
  const doc = readFileSync(repoPath('ARCHITECTURE.md'), 'utf8');
  const stated = new Map<string, string[]>();
  // Rows of the Modules table: | `src/<folder>` (or `src/*.ts`) | job | may import |
  for (const m of doc.matchAll(/^\| `src\/([^`]*)` \|[^|\n]*\| ([^|\n]*) \|$/gm)) {
    const folder = m[1] === '*.ts' ? '.' : m[1]!;
    const cell = m[2]!.replace(/\([^)]*\)/g, '').trim();
    stated.set(
      folder,
      cell === '—'
        ? []
        : cell
            .split(',')
            .map((s) => s.trim().replace(/`/g, ''))
            .filter(Boolean),
    );
  }
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    assert.ok(
      stated.has(folder),
      `ARCHITECTURE.md's Modules table has a row for src/${folder === '.' ? '*.ts' : folder}`,
    );
    assert.deepEqual(
      [...stated.get(folder)!].sort(),
      [...allowed].sort(),
      `ARCHITECTURE.md: what src/${folder} may import`,
    );
  }
});
