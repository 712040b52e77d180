/**
 * The conformance suite in the kernel. Its programs take memory in r1/r2; the kernel only hands
 * programs a context, so each is wrapped as an XDP program whose prologue copies the `-- mem` bytes onto
 * the bottom of the stack (fp-512...) and points r1 at them (r2 = length). BPF_PROG_TEST_RUN reports r0's
 * low 32 bits; a second variant, where every `exit` of the main function jumps to `r0 >>= 32; exit`,
 * gives the high half. The verifier refuses many of these programs (unbounded loops, helpers, packet
 * access, reads of uninitialised registers...): we count those and compare the rest, against the
 * expected result and against the VM running the very same wrapped program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needs, conformanceDir } from '../support/env.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { makeInsn } from '../../src/isa/instruction.js';
import { assignPcs } from '../../src/isa/codec.js';
import * as op from '../../src/isa/opcodes.js';
import { parseConformanceData, type ConformanceCase } from '../../src/conformance/data-file.js';
import { caseProgram, collectDataFiles } from '../../src/conformance/runner.js';
import { loadKernelCollection } from '../../src/kernel/collection.js';
import { VerifierError } from '../../src/kernel/errors.js';
import { loadCollection } from '../../src/loader/index.js';
import { ProgType } from '../../src/uapi/types.js';

const MEM_AT = -512;

function prologue(mem: Uint8Array): Instruction[] {
  const out: Instruction[] = [];
  const padded = new Uint8Array(Math.ceil(mem.length / 8) * 8);
  padded.set(mem);
  const dv = new DataView(padded.buffer);
  for (let i = 0; i < padded.length; i += 8) {
    out.push(makeInsn({ code: op.OP_LDDW, dst: 0, imm: dv.getInt32(i, true), imm2: dv.getInt32(i + 4, true) }));
    out.push(makeInsn({ code: op.BPF_STX | op.BPF_MEM | op.BPF_DW, dst: 10, src: 0, off: MEM_AT + i }));
  }
  if (mem.length > 0) {
    out.push(makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst: 1, src: 10 }));
    out.push(makeInsn({ code: op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, dst: 1, imm: MEM_AT }));
  } else {
    out.push(makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst: 1, imm: 0 }));
  }
  out.push(makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst: 2, imm: mem.length }));
  out.push(makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst: 0, imm: 0 }));
  return out;
}

const clone = (insns: Instruction[]) => insns.map((i) => ({ ...i }));
const hasLocalCalls = (insns: Instruction[]) =>
  insns.some((i) => i.code === (op.BPF_JMP | op.BPF_CALL) && i.src === op.BPF_PSEUDO_CALL);

/** The program with every exit replaced by a jump to `r0 >>= 32; exit` (only without subprograms). */
function highHalf(body: Instruction[]): Instruction[] {
  const out = clone(body);
  assignPcs(out);
  const end = out.length ? out[out.length - 1]!.pc + (out[out.length - 1]!.code === op.OP_LDDW ? 2 : 1) : 0;
  for (const i of out) {
    if (i.code === (op.BPF_JMP | op.BPF_EXIT)) {
      i.code = op.BPF_JMP | op.BPF_JA;
      i.off = end - i.pc - 1;
    }
  }
  out.push(
    makeInsn({ code: op.BPF_ALU64 | op.BPF_RSH | op.BPF_K, dst: 0, imm: 32 }),
    makeInsn({ code: op.BPF_JMP | op.BPF_EXIT }),
  );
  return out;
}

function specOf(name: string, progs: Record<string, Instruction[]>): ObjectSpec {
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [],
    programs: Object.entries(progs).map(([n, insns]) => ({
      name: n,
      section: 'xdp',
      type: ProgType.XDP,
      insns: assignPcs(insns),
      mapRefs: [],
      license: 'GPL',
      kernelVersion: 0,
    })),
    path: name,
  };
}

test('conformance programs the verifier accepts give the expected r0 in the kernel, and the VM agrees', async (t) => {
  if (!needs(t, { root: true, conformance: true })) return;
  const files = collectDataFiles([conformanceDir]);
  const packet = new Uint8Array(64);
  let accepted = 0;
  let rejected = 0;
  let errorCases = 0;
  let highChecked = 0;
  const rejections = new Map<string, number>();
  const failures: string[] = [];
  for (const file of files) {
    const c: ConformanceCase = parseConformanceData(readFileSync(file, 'utf8'), file);
    if (c.error !== undefined || c.result === undefined) {
      errorCases++;
      continue;
    }
    let body: Instruction[];
    try {
      body = caseProgram(c);
    } catch {
      errorCases++;
      continue;
    }
    if (c.mem.length > 256) continue;
    const pro = prologue(c.mem);
    const progs: Record<string, Instruction[]> = { lo: [...clone(pro), ...clone(body)] };
    if (!hasLocalCalls(body)) progs.hi = [...clone(pro), ...highHalf(body)];
    const spec = specOf(c.name, progs);
    let kernel;
    try {
      kernel = loadKernelCollection(spec);
    } catch (err) {
      if (!(err instanceof VerifierError)) throw err;
      rejected++;
      const reason =
        err.log
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('processed') && l.trim())
          .pop() ?? err.errno;
      const key = reason.replace(/\d+/g, 'N').slice(0, 60);
      rejections.set(key, (rejections.get(key) ?? 0) + 1);
      continue;
    }
    accepted++;
    const vm = await loadCollection(spec, { engine: 'vm' });
    try {
      const expected = c.result;
      const lo = kernel.program('lo').run({ data: packet }).retval;
      if (BigInt(lo) !== (expected & 0xffffffffn))
        failures.push(
          `${c.name}: kernel r0 low half 0x${lo.toString(16)}, expected 0x${(expected & 0xffffffffn).toString(16)}`,
        );
      const vmLo = vm.program('lo').run({ data: packet }).retval;
      if (vmLo !== lo) failures.push(`${c.name}: VM 0x${vmLo.toString(16)} vs kernel 0x${lo.toString(16)}`);
      if (kernel.programs.has('hi')) {
        highChecked++;
        const hi = kernel.program('hi').run({ data: packet }).retval;
        if (BigInt(hi) !== expected >> 32n)
          failures.push(
            `${c.name}: kernel r0 high half 0x${hi.toString(16)}, expected 0x${(expected >> 32n).toString(16)}`,
          );
        const vmHi = vm.program('hi').run({ data: packet }).retval;
        if (vmHi !== hi) failures.push(`${c.name}: VM high half 0x${vmHi.toString(16)} vs kernel 0x${hi.toString(16)}`);
      }
    } finally {
      kernel.close();
      vm.close();
    }
  }
  t.diagnostic(
    `conformance in the kernel: ${accepted} accepted and compared (${highChecked} with both halves of r0), ${rejected} refused by the verifier, ${errorCases} error/unassemblable cases skipped`,
  );
  for (const [why, n] of [...rejections].sort((a, b) => b[1] - a[1]).slice(0, 8))
    t.diagnostic(`  refused x${n}: ${why}`);
  assert.deepEqual(failures, []);
  assert.ok(accepted >= 100, `only ${accepted} conformance programs were accepted by the kernel`);
});
