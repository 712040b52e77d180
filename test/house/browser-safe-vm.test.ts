/**
 * `bpfkit/vm` runs in a browser (test/browser/vm.test.ts shows it), so no module it loads may use Node:
 * checked here on the source, over every module reachable from src/vm/index.ts by imports that exist at
 * run time (an `import type` is erased by the compiler and is not followed). Each must
 *  - import only relative paths (no `node:*`, no package: a browser loads dist/ as plain ES modules);
 *  - name none of Node's globals (Buffer, process, require, ...) — the portable way to ask for an
 *    optional one is a property of globalThis, which this check leaves alone.
 * Node-only facts (CPU count, process ids, V8 flags) reach the VM through src/vm/host-environment.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';
import { repoPath } from '../support/env.js';

const NODE_GLOBALS = new Set(['Buffer', 'process', 'require', '__dirname', '__filename', 'global', 'setImmediate']);

interface Finding {
  where: string;
  what: string;
}

/** Is `id` a name of something else (a property, a member, a declaration) rather than a free reference? */
function isNameOnly(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return true;
  if (ts.isQualifiedName(p) && p.right === id) return true;
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p)) && p.name === id)
    return true;
  if ((ts.isMethodDeclaration(p) || ts.isMethodSignature(p) || ts.isGetAccessor(p)) && p.name === id) return true;
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isBindingElement(p)) && p.name === id) return true;
  return false;
}

/** The run-time imports of a file (resolved .ts paths of relative ones) and what it does that Node alone offers. */
function scan(file: string, text = readFileSync(file, 'utf8')): { next: string[]; findings: Finding[] } {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const at = (node: ts.Node) =>
    `${relative(repoPath(), file)}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
  const next: string[] = [];
  const findings: Finding[] = [];
  const follow = (node: ts.Node, spec: string) => {
    if (!spec.startsWith('.')) {
      findings.push({ where: at(node), what: `imports '${spec}'` });
      return;
    }
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    if (!existsSync(target)) findings.push({ where: at(node), what: `imports '${spec}', which has no .ts source` });
    else next.push(target);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) follow(node, node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) follow(node, node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) follow(node, arg.text);
    } else if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text) && !isNameOnly(node)) {
      findings.push({ where: at(node), what: `uses Node's global '${node.text}'` });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { next, findings };
}

test('no module reachable from src/vm/index.ts needs Node (node:* imports, Buffer, process, ...)', () => {
  const seen = new Set<string>();
  const queue = [repoPath('src', 'vm', 'index.ts')];
  const findings: Finding[] = [];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const r = scan(file);
    findings.push(...r.findings);
    queue.push(...r.next);
  }
  // the walk really covered the VM: its engines, the collection, and what it borrows from other folders
  const reached = [...seen].map((f) => relative(repoPath(), f));
  for (const must of ['src/vm/interpreter-switch.ts', 'src/vm/interpreter-jit.ts', 'src/vm/collection.ts'])
    assert.ok(reached.includes(must), `${must} is reachable from src/vm/index.ts`);
  assert.ok(
    reached.some((f) => f.startsWith('src/isa/')),
    'the walk follows imports into other folders',
  );
  assert.deepEqual(
    findings.map((f) => `${f.where}: ${f.what}`),
    [],
    'src/vm must run in a browser: pass Node-only facts in through src/vm/host-environment.ts',
  );
});

test('the browser check sees what it looks for', () => {
  // the scanner itself, on a made-up file: a check that finds nothing proves nothing
  const text =
    `import { cpus } from 'node:os';\nimport type { Stats } from 'node:fs';\nconst b = Buffer.alloc(1);\n` +
    `const p = globalThis.process;\nconst o = { process: 1 };\nexport const n = o.process + cpus().length + b.length + (p ? 1 : 0);\n`;
  const { findings } = scan(repoPath('src', 'vm', 'probe.ts'), text);
  assert.deepEqual(
    findings.map((f) => f.what),
    ["imports 'node:os'", "uses Node's global 'Buffer'"],
  );
});
