/**
 * `disasm --source`: the C line above its instructions, from .BTF.ext line_info, against `llvm-objdump -S`
 * (which reads DWARF) on objects compiled with -g. The instructions must be identical and every source
 * line bpfkit prints must be one llvm-objdump prints — except at a function's first instruction, where
 * BTF names the declaration line and DWARF the opening brace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { needs, repoPath } from '../support/env.js';
import { listFile } from '../../src/asm/listing.js';

const objects = ['pinned-fails.o', 'world-helpers.o', 'helpers.o'].map((o) =>
  repoPath('test', 'programs', 'fixtures', o),
);

test('disasm --source prints line_info source lines where llvm-objdump -S prints DWARF ones', (t) => {
  if (!needs(t, { tools: ['llvm-objdump'] })) return;
  for (const obj of objects) {
    const ours = listFile(readFileSync(obj), { source: obj, sourceLines: true }).split('\n');
    const llvm = execFileSync('llvm-objdump', ['-S', '--no-show-raw-insn', obj], { encoding: 'utf8' }).split('\n');
    const code = (lines: string[]) => lines.filter((l) => !l.startsWith('; '));
    assert.deepEqual(code(ours), code(llvm), `${obj}: instructions`);
    const known = new Set(llvm.filter((l) => l.startsWith('; ')));
    const extra = ours.filter(
      (l, i) => l.startsWith('; ') && !known.has(l) && !/^[0-9a-f]{16} </.test(ours[i - 1] ?? ''),
    );
    assert.ok(extra.length <= 2, `${obj}: source lines llvm-objdump does not print: ${extra.join(' | ')}`);
    const shown = ours.filter((l) => l.startsWith('; ')).length;
    assert.ok(shown > 0.8 * known.size, `${obj}: ${shown} source lines, llvm-objdump ${known.size}`);
  }
});

test('disasm --source on an object without .BTF.ext says why in one line', () => {
  const raw = readFileSync(repoPath('examples', 'proto-count', 'proto-count.o'));
  let msg = '';
  try {
    listFile(raw, { source: 'x.o', sourceLines: true });
  } catch (err) {
    msg = (err as Error).message;
  }
  assert.ok(msg === '' || /no \.BTF\.ext line_info .*clang -g/.test(msg), msg);
});
