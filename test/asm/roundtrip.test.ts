import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assemble, disassemble } from '../../src/asm/index.js';
import { listFile } from '../../src/asm/listing.js';
import { assignPcs, decodeProgram, encodeProgram, makeInsn, type Instruction } from '../../src/isa/index.js';
import { readElf, SHF_EXECINSTR } from '../../src/elf/elf-file.js';
import { needs } from '../support/env.js';
import { allValidInstructions, conformancePrograms, fixtureDir, fixtureObjects } from './support.js';

const SYNTAXES = ['llvm', 'conformance'] as const;
const bytesOf = (insns: Instruction[], endian: 'little' | 'big' = 'little') =>
  Buffer.from(encodeProgram(insns, endian));

function roundTrip(insns: Instruction[], what: string) {
  const want = bytesOf(insns);
  for (const syntax of SYNTAXES) {
    const text = disassemble(insns, { syntax });
    assert.equal(text.length, insns.length, what);
    for (const asmSyntax of [syntax, 'auto'] as const) {
      const back = bytesOf(assemble(text.join('\n'), { syntax: asmSyntax, source: what }));
      if (!back.equals(want)) {
        // Find the first differing instruction for a readable failure.
        const again = assemble(text.join('\n'), { syntax: asmSyntax });
        const i = again.findIndex((x, k) => !bytesOf([x]).equals(bytesOf([insns[k]!])));
        assert.fail(
          `${what} (${syntax} -> ${asmSyntax}): '${text[i]}' assembled to ${bytesOf([again[i]!]).toString('hex')}, want ${bytesOf([insns[i]!]).toString('hex')}`,
        );
      }
    }
  }
}

test('every valid instruction shape round-trips through both syntaxes', () => {
  const all = allValidInstructions();
  assert.ok(all.length > 2000, `only ${all.length} shapes`);
  // One at a time, so jump offsets stay as written (they need not land inside this toy program).
  for (const insn of all) roundTrip([assignPcs([insn])[0]!], `0x${insn.code.toString(16)}`);
});

test('invalid instructions print as .insn markers and still round-trip', () => {
  const odd: Instruction[] = [];
  for (let code = 0; code < 256; code++) {
    if (code === 0x18) continue;
    odd.push(makeInsn({ code, dst: 11, src: 15, off: -7, imm: 0x7fff0001 }));
  }
  odd.push(makeInsn({ code: 0xdb, dst: 1, src: 2, imm: 0x02 })); // unknown atomic op
  odd.push(makeInsn({ code: 0x95, imm: 1 })); // exit with reserved imm
  for (const insn of odd) {
    const [llvm] = disassemble([insn]);
    assert.match(llvm!, /^\.insn op=0x[0-9a-f]{2} .* # invalid: /, llvm);
  }
  roundTrip(assignPcs(odd), 'invalid opcodes');
});

test('every conformance program round-trips through both syntaxes', (t) => {
  if (!needs(t, { conformance: true })) return;
  const programs = conformancePrograms();
  for (const p of programs) roundTrip(assemble(p.asm, { source: p.file }), p.file);
});

test('every fixture section round-trips (plain listing -> asm -> same bytes), both byte orders', () => {
  for (const name of fixtureObjects()) {
    const bytes = readFileSync(`${fixtureDir}/${name}`);
    const elf = readElf(bytes, { source: name });
    for (const sec of elf.sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0)) {
      const insns = decodeProgram(sec.data, { endian: elf.endian, source: `${name}:${sec.name}` });
      roundTrip(insns, `${name}:${sec.name}`);
      for (const syntax of SYNTAXES) {
        // The CLI's --plain listing (with symbol labels) assembles back to the section's exact bytes.
        const text = listFile(bytes, { source: name, section: sec.name, plain: true, syntax });
        const back = Buffer.from(encodeProgram(assemble(text, { source: name }), elf.endian));
        assert.ok(back.equals(Buffer.from(sec.data)), `${name}:${sec.name} --plain --syntax ${syntax}`);
        // And so does the full numbered listing with headers and jump annotations.
        const full = listFile(bytes, { source: name, section: sec.name, syntax });
        assert.ok(
          Buffer.from(encodeProgram(assemble(full), elf.endian)).equals(Buffer.from(sec.data)),
          `${name}:${sec.name} listing`,
        );
      }
    }
  }
});

test('big-endian bytecode: encode/decode/disassemble agree with little-endian', () => {
  const insns = assemble(
    'r1 = 0x1122334455667788 ll\n*(u32 *)(r10 - 4) = w1\nif r1 s> -5 goto +1\nr0 = bswap16 r0\nexit',
  );
  const be = encodeProgram(insns, 'big');
  const back = decodeProgram(be, { endian: 'big' });
  assert.deepEqual(back, insns);
  assert.equal(listFile(be, { endian: 'big', plain: true }), listFile(encodeProgram(insns), { plain: true }));
});
