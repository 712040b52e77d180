/**
 * `disasm --source`: the C line above its instructions, from .BTF.ext line_info, against `llvm-objdump -S`
 * (which reads DWARF) on objects compiled with -g. The instructions must be identical and every source
 * line bpfkit prints must be one llvm-objdump prints — except at a function's first instruction, where
 * BTF names the declaration line and DWARF the opening brace. The objects are compiled here, from the
 * repository's root: llvm-objdump reads the source through DWARF's compilation directory, which for a
 * committed object names the machine that built it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { listFile } from '../../src/asm/listing.js';

const sources = ['pinned-fails', 'world-helpers', 'helpers'];

test('disasm --source prints line_info source lines where llvm-objdump -S prints DWARF ones', (t) => {
  if (!needs(t, { tools: ['clang', 'llvm-objdump'] })) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-source-lines-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const inc = execFileSync('sh', ['-c', 'gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu'], {
    encoding: 'utf8',
  }).trim();
  for (const name of sources) {
    const obj = join(dir, `${name}.o`);
    const src = `test/programs/fixtures/${name}.c`;
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I', `/usr/include/${inc}`, '-c', src, '-o', obj], {
      cwd: repoPath('.'),
    });
    const ours = listFile(readFileSync(obj), { source: obj, sourceLines: true }).split('\n');
    const llvm = execFileSync('llvm-objdump', ['-S', '--no-show-raw-insn', obj], {
      encoding: 'utf8',
      cwd: repoPath('.'),
    }).split('\n');
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
