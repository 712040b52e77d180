/**
 * The divergences the sweep over the kernel's BPF selftests found (docs/verifier.md, "The kernel's
 * selftests"), each as a minimal program of our own: bpfkit's verdict is held to the kernel's words, and
 * as root the running kernel judges the same program, so the expectation itself is checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadObjectFile } from '../../src/elf/index.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { verifyInstructions, verifyProgram, type VerifierMap, type VerifyResult } from '../../src/verifier/index.js';
import { kernelHelperProbe } from '../../src/kernel/index.js';
import { hasTool, isRoot } from '../support/env.js';
import type { Instruction } from '../../src/isa/index.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import type { KernelEnv } from '../../src/loader/kernel-env.js';
import { build } from './boundary-programs.js';
import { compileCPrograms } from './c-programs.js';
import { kernelVerdictObject, kernelVerdictRaw, type KernelVerdict } from './kernel-oracle.js';

const SOCK = ProgType.SOCKET_FILTER;
const TC = ProgType.SCHED_CLS;
const XDP = ProgType.XDP;

/** What bpfkit must say: accepted, refused at `pc` with a last message line matching `re`, or not modelled. */
type Want = { ok: true } | { pc: number; re: RegExp } | { unmodelled: true };

interface Case {
  name: string;
  type: number;
  text: string;
  maps?: VerifierMap[];
  want: Want;
  /** Edit the assembled instructions (fields the assembler cannot write). */
  patch?: (insns: Instruction[]) => void;
}

const map = (type: number, keySize: number, valueSize: number, extra: Partial<VerifierMap> = {}): VerifierMap => ({
  name: 'm',
  type,
  keySize,
  valueSize,
  maxEntries: 4,
  readOnly: false,
  ...extra,
});

/** Look up key 0 of map 0 into r0 and skip to the end when NULL (the body follows, then `r0 = 0; exit`). */
const lookup = `
  r1 = 0
  *(u64 *)(r10 - 8) = r1
  r2 = r10
  r2 += -8
  r1 = map 0
  call 1`;

const RAW: Case[] = [
  // BPF_F_WRONLY_PROG: the program may store into the value, never load from it (check_map_access_type).
  {
    name: 'write-only map: a load is refused',
    type: SOCK,
    text: `${lookup}
      if r0 == 0 goto +1
      r0 = *(u64 *)(r0 + 0)
      r0 = 0
      exit`,
    maps: [map(MapType.ARRAY, 4, 8, { writeOnly: true })],
    want: { pc: 8, re: /^read from map forbidden, value_size=8 off=0 size=8$/ },
  },
  {
    name: 'write-only map: a store is fine',
    type: SOCK,
    text: `${lookup}
      if r0 == 0 goto +2
      r1 = 7
      *(u64 *)(r0 + 0) = r1
      r0 = 0
      exit`,
    maps: [map(MapType.ARRAY, 4, 8, { writeOnly: true })],
    want: { ok: true },
  },
  {
    name: 'write-only map: a helper reading the value is refused',
    type: SOCK,
    text: `${lookup}
      if r0 == 0 goto +4
      r2 = r0
      r1 = map 0
      call 1
      r0 = 0
      exit`,
    maps: [map(MapType.ARRAY, 4, 8, { writeOnly: true })],
    want: { pc: 11, re: /^read from map forbidden, value_size=8 off=0 size=4$/ },
  },
  // adjust_ptr_min_max_vals: no subtraction from a stack pointer, not even a constant.
  {
    name: 'stack pointer: r1 -= 8 is refused',
    type: SOCK,
    text: `
      r0 = 0
      r1 = r10
      r1 -= 8
      *(u64 *)(r1 + 0) = r0
      exit`,
    want: { pc: 2, re: /^R1 subtraction from stack pointer prohibited$/ },
  },
  {
    name: 'stack pointer: r1 -= r2 is refused',
    type: SOCK,
    text: `
      r2 = 8
      r1 = r10
      r1 -= r2
      r0 = 0
      exit`,
    want: { pc: 2, re: /^R1 subtraction from stack pointer prohibited$/ },
  },
  // check_func_arg: packet pointers go only to helpers whose prototype has pkt_access.
  {
    name: 'packet pointer to bpf_skb_load_bytes is refused',
    type: TC,
    text: `
      r2 = *(u32 *)(r1 + 76)
      r3 = *(u32 *)(r1 + 80)
      r4 = r2
      r4 += 8
      if r4 > r3 goto +4
      r3 = r2
      r2 = 0
      r4 = 4
      call 26
      r0 = 0
      exit`,
    want: { pc: 8, re: /^helper access to the packet is not allowed$/ },
  },
  {
    name: 'packet pointer as a map key is fine',
    type: TC,
    text: `
      r2 = *(u32 *)(r1 + 76)
      r3 = *(u32 *)(r1 + 80)
      r4 = r2
      r4 += 8
      if r4 > r3 goto +3
      r1 = map 0
      call 1
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 4, 8)],
    want: { ok: true },
  },
  // is_ldsx: a sign-extending load of a context field that is a pointer is an invalid access.
  {
    name: 'sign-extending load of xdp_md->data is refused',
    type: XDP,
    text: `
      r2 = *(s32 *)(r1 + 0)
      r0 = 2
      exit`,
    want: { pc: 0, re: /^invalid bpf_context access off=0 size=4$/ },
  },
  {
    name: 'sign-extending load of __sk_buff->data_end is refused',
    type: TC,
    text: `
      r2 = *(s32 *)(r1 + 80)
      r0 = 0
      exit`,
    want: { pc: 0, re: /^invalid bpf_context access off=80 size=4$/ },
  },
  {
    name: 'sign-extending load of __sk_buff->len is fine',
    type: TC,
    text: `
      r2 = *(s32 *)(r1 + 0)
      r0 = 0
      exit`,
    want: { ok: true },
  },
  // check_atomic: strict alignment even where plain loads may be unaligned.
  {
    name: 'atomic add at a misaligned map value offset is refused',
    type: TC,
    text: `${lookup}
      if r0 == 0 goto +2
      r1 = 1
      lock *(u32 *)(r0 + 3) += r1
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 8, 8)],
    want: { pc: 9, re: /^misaligned value access off 0\+0\+3 size 4$/ },
  },
  {
    name: 'atomic add at an aligned map value offset is fine',
    type: TC,
    text: `${lookup}
      if r0 == 0 goto +2
      r1 = 1
      lock *(u32 *)(r0 + 4) += r1
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 8, 8)],
    want: { ok: true },
  },
  {
    name: 'unaligned plain load of a map value is fine',
    type: TC,
    text: `${lookup}
      if r0 == 0 goto +1
      r1 = *(u32 *)(r0 + 3)
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 8, 8)],
    want: { ok: true },
  },
  // A map pointer may have a known zero added (and stays a map pointer); nothing else.
  {
    name: 'map pointer + 0 is still a map pointer',
    type: SOCK,
    text: `
      r1 = 0
      *(u64 *)(r10 - 8) = r1
      r2 = r10
      r2 += -8
      r1 = map 0
      r1 += 0
      call 1
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 4, 8)],
    want: { ok: true },
  },
  {
    name: 'map pointer + 8 is refused',
    type: SOCK,
    text: `
      r1 = map 0
      r1 += 8
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 4, 8)],
    want: { pc: 2, re: /^R1 pointer arithmetic on map_ptr prohibited$/ },
  },
  // may_update_sockmap: socket filters, tc and XDP may delete from a socket map; a lookup returns a socket.
  {
    name: 'delete from a sockmap in a socket filter is fine',
    type: SOCK,
    text: `
      r1 = 0
      *(u64 *)(r10 - 8) = r1
      r2 = r10
      r2 += -8
      r1 = map 0
      call 3
      r0 = 0
      exit`,
    maps: [map(MapType.SOCKMAP, 4, 4)],
    want: { ok: true },
  },
  {
    name: 'a lookup in a sockmap takes a reference, which exit leaks',
    type: SOCK,
    text: `${lookup}
      r0 = 0
      exit`,
    maps: [map(MapType.SOCKMAP, 4, 4)],
    want: { pc: 8, re: /^BPF_EXIT instruction in main prog would lead to reference leak$/ },
  },
  // LD_ABS beside bpf-to-bpf calls: fine in the main program, refused in a subprogram without BTF.
  {
    name: 'LD_ABS in the main program beside a local call is fine',
    type: SOCK,
    text: `
      r6 = r1
      call pc+2
      r0 = *(u8 *)skb[0]
      exit
      r0 = 0
      exit`,
    want: { ok: true },
  },
  {
    name: 'LD_ABS in a subprogram without BTF is refused',
    type: SOCK,
    text: `
      r6 = r1
      call pc+2
      r0 = 0
      exit
      r0 = *(u8 *)skb[0]
      exit`,
    want: { pc: 4, re: /^LD_ABS is not allowed in subprogs without BTF$/ },
  },
  // prepare_func_exit: a static subprogram returns any pointer but a stack one, and may leave r0 unset.
  {
    name: 'static subprogram returning the ctx pointer is fine',
    type: SOCK,
    text: `
      call pc+3
      r0 = *(u32 *)(r0 + 0)
      r0 = 0
      exit
      r0 = r1
      exit`,
    want: { ok: true },
  },
  {
    name: "static subprogram returning the caller's stack pointer is refused",
    type: SOCK,
    text: `
      r1 = r10
      r1 += -8
      call pc+2
      r0 = 0
      exit
      r0 = r1
      exit`,
    want: { pc: 6, re: /^cannot return stack pointer to the caller$/ },
  },
  {
    name: 'static subprogram leaving r0 unset is fine until the caller reads r0',
    type: SOCK,
    text: `
      call pc+2
      r0 = 0
      exit
      exit`,
    want: { ok: true },
  },
  {
    name: 'static subprogram leaving r0 unset, the caller returning it, is refused',
    type: SOCK,
    text: `
      call pc+1
      exit
      exit`,
    want: { pc: 1, re: /^R0 !read_ok$/ },
  },
  // Privileged: pointers may be the operand of an atomic, and subtracted in 32 bits.
  {
    name: 'atomic add of a pointer into a map value is fine',
    type: SOCK,
    text: `
      r6 = r1
      ${lookup}
      if r0 == 0 goto +1
      lock *(u64 *)(r0 + 0) += r6
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 4, 8)],
    want: { ok: true },
  },
  {
    name: '32-bit subtraction of two packet pointers is fine',
    type: TC,
    text: `
      r2 = *(u32 *)(r1 + 76)
      r3 = *(u32 *)(r1 + 80)
      w3 -= w2
      r0 = 0
      exit`,
    want: { ok: true },
  },
  // A privileged load through a map pointer reads struct bpf_map by the kernel's BTF.
  {
    name: 'a load through a map pointer is not modelled',
    type: SOCK,
    text: `
      r1 = map 0
      r0 = *(u32 *)(r1 + 0)
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 4, 8)],
    want: { unmodelled: true },
  },
  // A scalar spilled at a slot's start keeps an id shared with its register (if it fits the spill), so a
  // compare on the register teaches the spilled copy too.
  ...[
    { cut: false, size: 'u64', ok: true },
    { cut: true, size: 'u32', ok: true },
    { cut: false, size: 'u32', ok: false },
  ].map(({ cut, size, ok }): Case => ({
    name: `a ${size} spill of a ${cut ? '32' : '64'}-bit value is ${ok ? '' : 'not '}linked to its register`,
    type: SOCK,
    text: `
        call 7
        ${cut ? 'w0 = w0' : 'r0 = r0'}
        *(${size} *)(r10 - 8) = r0
        if r0 > 16 goto +3
        r0 = *(${size} *)(r10 - 8)
        if r0 <= 16 goto +1
        r0 = *(u64 *)(r9 + 0)
        r0 = 0
        exit`,
    want: ok ? { ok: true } : { pc: 6, re: /^R9 !read_ok$/ },
  })),
  {
    name: 'a u32 fill of a u64 spill keeps the known low bits (coerce_reg_to_size)',
    type: SOCK,
    text: `
      call 7
      r0 <<= 32
      *(u64 *)(r10 - 8) = r0
      r0 = *(u32 *)(r10 - 8)
      if r0 == 0 goto +1
      r0 = *(u64 *)(r9 + 0)
      r0 = 0
      exit`,
    want: { ok: true },
  },
  // check_alu_op: a negated or byte-swapped pointer is an unknown scalar for a privileged loader.
  {
    name: 'a negated pointer is a scalar',
    type: SOCK,
    text: `
      r1 = -r1
      r0 = *(u32 *)(r1 + 0)
      exit`,
    want: { pc: 1, re: /^R1 invalid mem access 'scalar'$/ },
  },
  {
    name: 'a byte-swapped pointer is a scalar',
    type: SOCK,
    text: `
      r1 = be16 r1
      r0 = 0
      exit`,
    want: { ok: true },
  },
  // BPF_ST into the context is a store like any other since Linux 6.3: the field table decides.
  {
    name: 'BPF_ST of a constant into __sk_buff->mark is fine',
    type: TC,
    text: `
      *(u32 *)(r1 + 8) = 123
      r0 = 0
      exit`,
    want: { ok: true },
  },
  {
    name: 'BPF_ST into __sk_buff->len is refused as a context access',
    type: TC,
    text: `
      *(u32 *)(r1 + 0) = 123
      r0 = 0
      exit`,
    want: { pc: 0, re: /^invalid bpf_context access off=0 size=4$/ },
  },
  // save_aux_ptr_type: one load meeting the context on one path and the stack on another is refused.
  {
    name: 'one load through ctx on a path and the stack on another is refused',
    type: TC,
    text: `
      r6 = r1
      call 7
      r2 = r6
      if r0 == 0 goto +2
      r2 = r10
      r2 += -8
      r3 = *(u32 *)(r2 + 0)
      r0 = 0
      exit`,
    want: { pc: 6, re: /^same insn cannot be used with different pointers$/ },
  },
  {
    name: 'one load through a map value on a path and the stack on another is fine',
    type: TC,
    text: `${lookup}
      if r0 != 0 goto +2
      r0 = r10
      r0 += -8
      r3 = *(u32 *)(r0 + 0)
      r0 = 0
      exit`,
    maps: [map(MapType.ARRAY, 4, 8)],
    want: { ok: true },
  },
  // check_reg_sane_offset on the result of pointer arithmetic, and a helper's packet range.
  {
    name: 'a stack pointer moved past 2^29 is refused',
    type: SOCK,
    text: `
      r1 = r10
      r1 += 536870911
      r1 += 536870911
      r0 = 0
      exit`,
    want: { pc: 2, re: /^fp pointer offset 1073741822 is not allowed$/ },
  },
  {
    name: 'a map key one byte past the proven packet range is refused',
    type: TC,
    text: `
      r2 = *(u32 *)(r1 + 76)
      r3 = *(u32 *)(r1 + 80)
      r4 = r2
      r4 += 4
      if r4 > r3 goto +5
      r1 = map 0
      r2 += 1
      call 1
      r0 = 0
      exit`,
    maps: [map(MapType.HASH, 4, 8)],
    want: { pc: 8, re: /^R2 offset is outside of the packet$/ },
  },
  // round_up_stack_depth: a JIT rounds each frame to 16 bytes (264 + 240 fits 512), the interpreter to 32.
  {
    name: 'a call chain of 264 + 240 stack bytes fits a JIT kernel',
    type: SOCK,
    text: `
      r1 = 0
      *(u64 *)(r10 - 264) = r1
      call pc+2
      r0 = 0
      exit
      r1 = 0
      *(u64 *)(r10 - 240) = r1
      r0 = 0
      exit`,
    want: { ok: true },
  },
  {
    name: 'a call chain of 272 + 248 stack bytes does not',
    type: SOCK,
    text: `
      r1 = 0
      *(u64 *)(r10 - 272) = r1
      call pc+2
      r0 = 0
      exit
      r1 = 0
      *(u64 *)(r10 - 248) = r1
      r0 = 0
      exit`,
    want: { pc: 2, re: /^combined stack size of 2 calls is 528\. Too large$/ },
  },
  {
    name: 'a tail call in a subprogram without BTF is refused',
    type: TC,
    text: `
      call pc+2
      r0 = 0
      exit
      r2 = map 0
      r3 = 0
      call 12
      r0 = 0
      exit`,
    maps: [map(MapType.PROG_ARRAY, 4, 4)],
    want: { pc: 6, re: /^tail_call is not allowed in subprogs without BTF$/ },
  },
  // resolve_pseudo_ldimm64 resolves kernel variables before the walk, in dead code too: not modelled.
  {
    name: 'a kernel variable in dead code is not modelled',
    type: SOCK,
    text: `
      r0 = 0
      if r0 == 0 goto +2
      r1 = 0 ll
      exit`,
    patch: (insns) => {
      Object.assign(insns[2]!, { src: 3, imm: 1 });
    },
    want: { unmodelled: true },
  },
  // check_reg_type's list of memory types (Linux 6.18), and NULL with a size (only a stack pointer would do).
  {
    name: 'ctx as bpf_csum_diff memory names the 6.18 memory types',
    type: XDP,
    text: `
      r2 = 8
      r3 = 0
      r4 = 0
      r5 = 0
      call 28
      r0 = 2
      exit`,
    want: {
      pc: 4,
      re: /^R1 type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_$/,
    },
  },
  {
    name: 'NULL with a size for bpf_csum_diff expects a stack pointer',
    type: XDP,
    text: `
      r1 = 0
      r2 = 8
      r3 = 0
      r4 = 0
      r5 = 0
      call 28
      r0 = 2
      exit`,
    want: { pc: 5, re: /^R1 type=scalar expected=fp$/ },
  },
  // check_reg_arg: a register past r10 in a field that names one is "R15 is invalid" (jumps read their
  // destination first, the others their source); in a field that must be 0 it is a reserved field.
  ...[
    { text: 'r0 = r1', patch: { src: 15 }, want: 'R15 is invalid' },
    { text: 'r0 = r1', patch: { dst: 12, src: 13 }, want: 'R13 is invalid' },
    { text: 'if r0 > r1 goto +0', patch: { dst: 12, src: 13 }, want: 'R12 is invalid' },
    { text: 'r0 += 1', patch: { src: 15 }, want: 'BPF_ALU uses reserved fields' },
  ].map((c): Case => ({
    name: `${c.text} with ${JSON.stringify(c.patch)}: ${c.want}`,
    type: SOCK,
    text: `
        ${c.text}
        r0 = 0
        exit`,
    patch: (insns) => {
      Object.assign(insns[0]!, c.patch);
    },
    want: { pc: 0, re: new RegExp(`^${c.want}$`) },
  })),
  // may_goto: the loop's exit is walked first, each further iteration one level deeper, imprecise
  // scalars widened; a counter used as an index stays exact, so every iteration up to the bound is walked.
  {
    name: 'may_goto: a summing loop is fine',
    type: SOCK,
    text: `
      r6 = 0
      r7 = 0
      may_goto +3
      r7 += r6
      r6 += 1
      goto -4
      r0 = r7
      exit`,
    want: { ok: true },
  },
  {
    name: 'may_goto: jumping to itself is an infinite loop',
    type: SOCK,
    text: `
      r0 = 0
      may_goto -1
      exit`,
    want: { pc: 1, re: /^infinite loop detected at insn 1$/ },
  },
  {
    name: 'may_goto: reserved fields are refused',
    type: SOCK,
    text: `
      r0 = 0
      may_goto +0
      exit`,
    patch: (insns) => {
      insns[1]!.imm = 1;
    },
    want: { pc: 1, re: /^invalid may_goto imm 1$/ },
  },
  ...[7, 8].map((bound): Case => ({
    name: `may_goto: a counter indexing an 8-byte value, checked against ${bound}`,
    type: SOCK,
    text: `${lookup}
        if r0 == 0 goto +9
        r6 = 0
        may_goto +7
        if r6 > ${bound} goto +6
        r1 = r0
        r1 += r6
        r2 = 1
        *(u8 *)(r1 + 0) = r2
        r6 += 1
        goto -8
        r0 = 0
        exit`,
    maps: [map(MapType.ARRAY, 4, 8)],
    want: bound === 7 ? { ok: true } : { pc: 14, re: /^R1 min value is outside of the allowed memory range$/ },
  })),
];

/**
 * Dead code the kernel proves with its 32-bit bounds, by comparing two registers, or through a 32-bit
 * copy (the selftests' verifier_bounds_deduction_non_const, verifier_bounds, verifier_movsx and
 * verifier_reg_equal): once false refusals, now walked as the kernel walks them. Each probe (`r10 = 0`,
 * a read of r1 after a call) is refused wherever it is reachable.
 */
const DEAD_CODE: Case[] = [
  ['if w0 < 4 goto +2', 'w2 = 3', 'if w0 == w2 goto +2'],
  ['if w0 > 4 goto +2', 'w2 = 5', 'if w0 == w2 goto +2'],
  ['if w0 < 4 goto +2', 'w2 = 4', 'if w2 > w0 goto +2'],
  ['if w0 < 3 goto +3', 'w2 = 2', 'if w2 != w0 goto +2', 'goto +2'],
].map((lines, i): Case => ({
  name: `JMP32 against a register the low half's bounds decide (${i + 1})`,
  type: SOCK,
  text: ['call 5', ...lines, 'r0 = 0', 'exit', 'r0 -= r1', 'exit'].join('\n'),
  want: { ok: true },
}));
DEAD_CODE.push(
  {
    name: 'unsigned 32-bit range meets the negative part of a signed one',
    type: SOCK,
    text: `
      call 7
      w0 &= 0xffffffff
      if w0 < 0x3 goto +3
      if w0 s> 0x1 goto +2
      if w0 s< 0x0 goto +1
      r10 = 0
      exit`,
    want: { ok: true },
  },
  {
    name: 'signed 64-bit range across the sign meets an unsigned one in its positive part',
    type: SOCK,
    text: `
      call 7
      r0 = (s8)r0
      r1 = 0xffffffffffffff00 ll
      if r0 > r1 goto +2
      if r0 < 128 goto +1
      r10 = 0
      r0 = 0
      exit`,
    want: { ok: true },
  },
  {
    name: 'w7 = (s8)w3 of 0x80..0x8f is negative below -5',
    type: SOCK,
    text: `
      call 7
      r3 = r0
      r3 &= 0xf
      r3 |= 0x80
      w7 = (s8)w3
      if w7 s>= -5 goto +2
      w0 = 0
      exit
      r10 = 1
      exit`,
    want: { ok: true },
  },
  {
    name: 'w3 = w2 of a zero-extended value links the two registers',
    type: SOCK,
    text: `
      call 5
      *(u64 *)(r10 - 8) = r0
      r2 = *(u32 *)(r10 - 8)
      w3 = w2
      if w2 < 9 goto +1
      exit
      if r3 < 9 goto +1
      r0 -= r1
      exit`,
    want: { ok: true },
  },
  // The other side of each: where the kernel does walk the probe, bpfkit must refuse.
  {
    name: 'JMP32: the low half at least 4 may still equal 4',
    type: SOCK,
    text: ['call 5', 'if w0 < 4 goto +2', 'w2 = 4', 'if w0 == w2 goto +2', 'r0 = 0', 'exit', 'r0 -= r1', 'exit'].join(
      '\n',
    ),
    want: { pc: 6, re: /^R1 !read_ok$/ },
  },
  {
    name: 'a false JSET forgets the ranges (Linux 6.18): the probe after it is walked',
    type: SOCK,
    text: `
      call 7
      r8 = r0
      r8 = (s8)r8
      if r8 & 0xfc goto +3
      if r8 s< 0 goto +1
      goto +1
      r10 = 0
      r0 = 0
      exit`,
    want: { pc: 6, re: /^frame pointer is read only$/ },
  },
  {
    name: 'if w6 s> w6: a compare of a register with itself contradicts, and the kernel walks on',
    type: SOCK,
    text: `
      call 7
      r6 = r0
      w6 s>>= 31
      if w6 s> w6 goto +2
      r0 = 0
      exit
      if w6 s> -127 goto +1
      r10 = 0
      r0 = 0
      exit`,
    want: { pc: 7, re: /^frame pointer is read only$/ },
  },
);
// BPF_ADD_CONST (verifier_iterating_callbacks' check_add_const_3regs): `r1 = r0; r1 += 1` keeps r1
// linked to r0, one apart, so a bound on r0 bounds r1 (and r2, two apart, one byte too far).
DEAD_CODE.push(
  ...[1, 2].map((k): Case => ({
    name: `r2 = r0 + ${k}, linked: a bound on r0 bounds r2 ${k === 1 ? 'within' : 'past'} a 10-byte value`,
    type: SOCK,
    text: `${lookup}
        if r0 == 0 goto +12
        r6 = r0
        r7 = r0
        call 5
        r1 = r0
        r2 = r0
        r1 += 1
        r2 += ${k}
        if r0 > 8 goto +4
        r6 += r1
        r7 += r2
        *(u8 *)(r6 + 0) = r0
        *(u8 *)(r7 + 0) = r0
        r0 = 0
        exit`,
    maps: [map(MapType.ARRAY, 4, 10)],
    want: k === 1 ? { ok: true } : { pc: 19, re: /^R7 max value is outside of the allowed memory range$/ },
  })),
);
RAW.push(...DEAD_CODE);

// assign_scalar_id_before_mov: copying a register linked K apart (r2 = r0 + 1) first gives it a group of
// its own, so the copy and its own `+= 1` stay linked to it: r2 <= 5 bounds r3 to 6. (Kept in r0's group,
// r3 would have taken a second K and been unlinked: [2, 10].)
RAW.push(
  ...[7, 6].map((size): Case => ({
    name: `mov-of-add-const-linked-${size}`,
    type: TC,
    text: `${lookup}
      if r0 == 0 goto +10
      r6 = r0
      call 5
      if r0 > 8 goto +7
      r2 = r0
      r2 += 1
      r3 = r2
      r3 += 1
      if r2 > 5 goto +2
      r6 += r3
      r0 = *(u8 *)(r6 + 0)
      r0 = 0
      exit`,
    maps: [map(MapType.ARRAY, 4, size)],
    want: size === 7 ? { ok: true } : { pc: 17, re: /^R6 max value is outside of the allowed memory range$/ },
  })),
);

// bpf_fastcall: a subprogram saving r1 around bpf_get_smp_processor_id (which the JIT inlines) in the
// lowest stack slot loses that slot when the kernel removes the pair — unless anything else touches the
// slot, a jump lands inside the pattern, or another helper's call (not inlined) has one too. Under a
// 512-byte caller, that decides whether the chain fits.
const FASTCALL_TOO_LARGE = { pc: 2, re: /^combined stack size of 2 calls is 528\. Too large$/ };
RAW.push(
  ...(
    [
      ['plain', '', '', { ok: true }],
      ['slot-read-elsewhere', '', 'r0 = *(u64 *)(r10 - 8)', FASTCALL_TOO_LARGE],
      ['slot-read-by-helper', '', 'r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 4', FASTCALL_TOO_LARGE],
      ['other-helper-pattern', '', '*(u64 *)(r10 - 8) = r1\ncall 7\nr1 = *(u64 *)(r10 - 8)', FASTCALL_TOO_LARGE],
      ['jump-onto-fill', 'if r1 > 3 goto +2', '', FASTCALL_TOO_LARGE],
      ['jump-onto-spill', 'if r1 > 3 goto +0', '', { ok: true }],
    ] as const
  ).map(([name, before, after, want]): Case => ({
    name: `fastcall-${name}`,
    type: ProgType.RAW_TRACEPOINT,
    text: `
        r1 = 42
        *(u64 *)(r10 - 512) = r1
        call pc+2
        r0 = 0
        exit
        ${before}
        *(u64 *)(r10 - 8) = r1
        call 8
        r1 = *(u64 *)(r10 - 8)
        ${after}
        r0 = 0
        exit`,
    want,
  })),
);

// Stack slot liveness by read marks: a remembered state's slots its continuation never read do not count
// when pruning — but one read after a helper wrote only part of it does. Path A leaves zeros in fp-16,
// path B an unknown value; get_current_comm writes the slot's first 4 bytes; its last 4 are read and
// index a map value. B must not be pruned by A's state (A's read marks cover the slot).
RAW.push({
  name: 'stack-read-marks-after-partial-helper-write',
  type: ProgType.RAW_TRACEPOINT,
  text: `${lookup}
    if r0 == 0 goto +14
    r6 = r0
    call 7
    if r0 > 5 goto +3
    r1 = 0
    *(u64 *)(r10 - 16) = r1
    goto +1
    *(u64 *)(r10 - 16) = r0
    r1 = r10
    r1 += -16
    r2 = 4
    call 16
    r2 = *(u32 *)(r10 - 12)
    r6 += r2
    r0 = *(u8 *)(r6 + 0)
    r0 = 0
    exit`,
  maps: [map(MapType.ARRAY, 4, 8)],
  want: { pc: 21, re: /^R6 unbounded memory access, make sure to bounds check any such access$/ },
});

/** A callback's context and a two-byte array in .data to index with what the callbacks computed. */
/** bpf_spin_lock and bpf_spin_unlock by number (the test's C prelude does not declare them). */
const SPIN = `static void (*lock)(struct bpf_spin_lock *l) = (void *)93;
  static void (*unlock)(struct bpf_spin_lock *l) = (void *)94;`;
const CB_CTX = `struct ictx { __u64 i; __u64 j; };
  __u8 choice[2] = { 0, 1 };`;

/** C programs for what needs BTF (callbacks, global functions) or the loader (maps of maps). */
const C: { name: string; source: string; want: Want }[] = [
  // A jump back to a callback's first instruction inside the callback is a loop like any other.
  {
    name: 'callback-self-loop',
    source: `static long cb(__u32 i, void *data) { for (;;) {} return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { __u64 c = 0; bpf_loop(4, cb, &c, 0); return 0; }`,
    want: { pc: -1, re: /^infinite loop detected at insn \d+$/ },
  },
  // Global functions that may move packet data (a tail call here) leave the caller's packet pointers stale.
  {
    name: 'global-tail-call-stale-packet',
    source: `struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jt SEC(".maps");
      __noinline int g(struct __sk_buff *skb) { bpf_tail_call(skb, &jt, 0); return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) {
        __u8 *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;
        if (d + 4 > e) return 0;
        g(skb);
        return *d; }`,
    want: { pc: -1, re: /^R\d invalid mem access 'scalar'$/ },
  },
  // A tail call from a static function that succeeds returns to its caller, the packet maybe moved: the
  // caller's packet pointers are stale after the function returns; after a failed tail call, inside the
  // function, they still hold, as in a program's own function.
  {
    name: 'static-tail-call-packet',
    source: `struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jt SEC(".maps");
      static __noinline int g(struct __sk_buff *skb) { bpf_tail_call(skb, &jt, 0); return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) {
        __u8 *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;
        if (d + 4 > e) return 0;
        g(skb);
        return *d; }`,
    want: { pc: -1, re: /^R\d invalid mem access 'scalar'$/ },
  },
  {
    name: 'static-tail-call-packet-inside',
    source: `struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jt SEC(".maps");
      static __noinline int g(struct __sk_buff *skb) { __u8 *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;
        if (d + 4 > e) return 0; bpf_tail_call(skb, &jt, 0); return *d; }
      SEC("tc") int prog(struct __sk_buff *skb) { return g(skb); }`,
    want: { ok: true },
  },
  // The early return is walked first: the caller's stale read is refused before the function's own fault.
  {
    name: 'static-tail-call-early-return-first',
    source: `struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jt SEC(".maps");
      static __noinline int g(struct __sk_buff *skb) { bpf_tail_call(skb, &jt, 0); return *(volatile __u8 *)(long)skb->len; }
      SEC("tc") int prog(struct __sk_buff *skb) {
        __u8 *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;
        if (d + 4 > e) return 0;
        g(skb);
        return *d; }`,
    want: { pc: 7, re: /^R6 invalid mem access 'scalar'$/ },
  },
  // A static function that could move the packet (skb_change_tail) but does not on the walked path (its
  // argument is a known 3) leaves the caller's packet pointers alone: only a call that happens counts.
  {
    name: 'static-change-tail-not-reached',
    source: `static long (*change_tail)(void *skb, __u32 len, __u64 flags) = (void *)38;
      static __noinline int g(struct __sk_buff *skb, int k) { if (k == 7) change_tail(skb, 64, 0); return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) {
        __u8 *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;
        if (d + 4 > e) return 0;
        g(skb, 3);
        return *d; }`,
    want: { ok: true },
  },
  // A function whose tail call (or LD_ABS) could end it early must return an integer (or an enum).
  {
    name: 'static-void-tail-call',
    source: `struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jt SEC(".maps");
      static __noinline void g(struct __sk_buff *skb) { bpf_tail_call(skb, &jt, 0); }
      SEC("tc") int prog(struct __sk_buff *skb) { g(skb); return 0; }`,
    want: { pc: -1, re: /^tail_call is only allowed in functions that return 'int'\.$/ },
  },
  {
    name: 'static-enum-tail-call',
    source: `struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jt SEC(".maps");
      enum verdict { PASS, DROP };
      static __noinline enum verdict g(struct __sk_buff *skb) { bpf_tail_call(skb, &jt, 0); return DROP; }
      SEC("tc") int prog(struct __sk_buff *skb) { return g(skb); }`,
    want: { ok: true },
  },
  {
    name: 'global-no-packet-change',
    source: `__noinline int g(struct __sk_buff *skb) { return skb->len & 1; }
      SEC("tc") int prog(struct __sk_buff *skb) {
        __u8 *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;
        if (d + 4 > e) return 0;
        g(skb);
        return *d; }`,
    want: { ok: true },
  },
  // `__arg_ctx` (the arg:ctx decl tag): the argument is the context whatever its C type says, if that type
  // is one the program type allows (btf_validate_prog_ctx_type).
  {
    name: 'arg-ctx-void',
    source: `__noinline int g(void *ctx __attribute__((btf_decl_tag("arg:ctx")))) { __u8 b; return bpf_skb_load_bytes(ctx, 0, &b, 1); }
      SEC("tc") int prog(struct __sk_buff *skb) { return g(skb); }`,
    want: { ok: true },
  },
  {
    name: 'arg-ctx-other-struct',
    source: `__noinline int g(struct xdp_md *ctx __attribute__((btf_decl_tag("arg:ctx")))) { return ctx != 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { return g((void *)skb); }`,
    want: { pc: -1, re: /^Caller passes invalid args into func#1 \('g'\)$/ },
  },
  {
    name: 'arg-ctx-and-nonnull',
    source: `__noinline int g(void *ctx __attribute__((btf_decl_tag("arg:ctx"), btf_decl_tag("arg:nonnull")))) { return ctx != 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { return g(skb); }`,
    want: { pc: -1, re: /^Caller passes invalid args into func#1 \('g'\)$/ },
  },
  {
    name: 'arg-ctx-not-a-pointer',
    source: `__noinline int g(long x __attribute__((btf_decl_tag("arg:ctx")))) { return x & 1; }
      SEC("tc") int prog(struct __sk_buff *skb) { return g(skb->len); }`,
    want: { pc: -1, re: /^Caller passes invalid args into func#1 \('g'\)$/ },
  },
  {
    name: 'arg-unknown-tag',
    source: `__noinline int g(void *p __attribute__((btf_decl_tag("arg:bogus")))) { return p != 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { return g(skb); }`,
    want: { pc: -1, re: /^Caller passes invalid args into func#1 \('g'\)$/ },
  },
  // A map of maps' lookup result may be NULL: it must be checked before it names a map.
  {
    name: 'inner-map-unchecked',
    source: `struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } in1 SEC(".maps");
      struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 1); __type(key, __u32); __array(values, struct inner); } outer SEC(".maps") = { .values = { &in1 } };
      SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; void *m = bpf_map_lookup_elem(&outer, &k);
        asm volatile("" : "+r"(m)); return bpf_map_lookup_elem(m, &k) != 0; }`,
    want: { pc: -1, re: /^R1 type=map_ptr_or_null expected=map_ptr$/ },
  },
  // check_mem_reg: a global function's pointer argument must be writable as well as readable.
  {
    name: 'global-arg-readonly-value',
    source: `const volatile int ro = 3;
      __noinline int g(int *p) { if (!p) return 0; *p = 1; return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { return g((int *)&ro); }`,
    want: { pc: -1, re: /^Caller passes invalid args into func#1 \('g'\)$/ },
  },
  // Fields the kernel manages inside a map value: a spin lock is not loaded or stored (spin-lock.ts); the
  // rest is plain memory.
  {
    name: 'spin-lock-field-touched',
    source: `struct val { struct bpf_spin_lock l; __u32 n; };
      struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct val); } sl SEC(".maps");
      SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; struct val *v = bpf_map_lookup_elem(&sl, &k);
        if (!v) return 0; return *(volatile __u32 *)&v->l; }`,
    want: { pc: -1, re: /^bpf_spin_lock cannot be accessed directly by load\/store$/ },
  },
  // The lock found through the object's BTF, taken and given back around an update of the value.
  {
    name: 'spin-lock-taken-and-given-back',
    source: `${SPIN}
      struct val { __u32 n; struct bpf_spin_lock l; };
      struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val); } sl SEC(".maps");
      SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; struct val *v = bpf_map_lookup_elem(&sl, &k);
        if (!v) return 0; lock(&v->l); v->n++; unlock(&v->l); return 0; }`,
    want: { ok: true },
  },
  {
    name: 'spin-lock-not-given-back',
    source: `${SPIN}
      struct val { __u32 n; struct bpf_spin_lock l; };
      struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, struct val); } sl SEC(".maps");
      SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; struct val *v = bpf_map_lookup_elem(&sl, &k);
        if (!v) return 0; lock(&v->l); v->n++; if (v->n & 1) unlock(&v->l); return 0; }`,
    want: { pc: -1, re: /^BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region$/ },
  },
  {
    name: 'spin-lock-field-untouched',
    source: `struct val { struct bpf_spin_lock l; __u32 n; };
      struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct val); } sl SEC(".maps");
      SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; struct val *v = bpf_map_lookup_elem(&sl, &k);
        if (!v) return 0; return v->n & 1; }`,
    want: { ok: true },
  },
  // check_max_stack_depth: a subprogram that tail-calls may sit under less than 256 bytes of stack, each
  // frame rounded up to 16 (248 counts as 256).
  ...[240, 248].map((bytes): { name: string; source: string; want: Want } => ({
    name: `tail-call-under-${bytes}-bytes`,
    source: `struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } jt SEC(".maps");
      static __noinline int tailer(struct __sk_buff *skb) { bpf_tail_call(skb, &jt, 0); return skb->len & 1; }
      SEC("tc") int prog(struct __sk_buff *skb) { asm volatile("r0 = 0; *(u64 *)(r10 - ${bytes}) = r0" ::: "r0");
        return tailer(skb); }`,
    want:
      bytes < 248
        ? { ok: true }
        : {
            pc: -1,
            re: /^tail_calls are not allowed when call stack of previous frames is \d+ bytes\. Too large$/,
          },
  })),
  // A frozen read-only map (.rodata) is read as constants: the kernel skips what a `const volatile` knob
  // switches off, and so must bpfkit (and walk it when the knob is on).
  ...[0, 1].map((knob): { name: string; source: string; want: Want } => ({
    name: `rodata-knob-${knob}`,
    source: `const volatile int knob = ${knob};
      struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
      SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&h, &k);
        if (knob) return *v; return 0; }`,
    want: knob ? { pc: -1, re: /^R0 invalid mem access 'map_value_or_null'$/ } : { ok: true },
  })),
  // xdp_md->egress_ifindex is there only for programs a devmap runs (expected attach type BPF_XDP_DEVMAP).
  ...['xdp/devmap', 'xdp'].map((sec): { name: string; source: string; want: Want } => ({
    name: `egress-ifindex-${sec.replace('/', '-')}`,
    source: `SEC("${sec}") int prog(struct xdp_md *ctx) { return ctx->egress_ifindex ? 2 : 1; }`,
    want: sec === 'xdp' ? { pc: 0, re: /^invalid bpf_context access off=20 size=4$/ } : { ok: true },
  })),
  // A callback's return value out of [0, 1]: bounds at the type's limits are left out of the message.
  {
    name: 'callback-return-unbounded-above',
    source: `static long cb(__u32 i, void *d) { long t = bpf_ktime_get_ns(); if (t < 1001) return 0; return t; }
      SEC("tc") int prog(struct __sk_buff *skb) { __u64 c = 0; bpf_loop(4, cb, &c, 0); return 0; }`,
    want: { pc: -1, re: /^At callback return the register R0 has smin=1001 should have been in \[0, 1\]$/ },
  },
  // Callbacks are walked as the kernel walks them: each call comes back to the helper's call, which calls
  // again until bpf_loop's count (R1's maximum, exact when known) or until the states converge.
  ...[1, 2].map((n): { name: string; source: string; want: Want } => ({
    name: `callback-bpf-loop-${n}-calls`,
    source: `${CB_CTX}
      static long inc(__u32 n, struct ictx *c) { c->i++; return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { struct ictx c = { 0, 1 }; bpf_loop(${n}, inc, &c, 0); return choice[c.i]; }`,
    want: n === 1 ? { ok: true } : { pc: -1, re: /^R1 min value is outside of the allowed memory range$/ },
  })),
  // A counter the callback changes is widened; a field it never touches keeps its value.
  {
    name: 'callback-widening-keeps-untouched',
    source: `${CB_CTX}
      static long inc(__u32 n, struct ictx *c) { c->i++; return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { struct ictx c = { 0, 1 }; bpf_loop(100, inc, &c, 0); return choice[c.j]; }`,
    want: { ok: true },
  },
  // The second call of a callback may meet the state the first met at the same place: no infinite loop.
  {
    name: 'callback-same-state-next-call',
    source: `${CB_CTX}
      static long add(__u32 n, struct ictx *c) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&arr, &k); if (v) c->i += *v; return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { struct ictx c = { 0, 1 }; bpf_loop(skb->len, add, &c, 0); return c.i & 1; }`,
    want: { ok: true },
  },
  // bpf_loop in a callback: c.i ends 0, 1 or 11 (.data holds choice[2] then the array: 2 + 11 is past 12).
  ...[12, 11].map((size): { name: string; source: string; want: Want } => ({
    name: `callback-nested-bpf-loop-${size}`,
    source: `${CB_CTX}
      __u8 tail[${size - 2}] = { 1 };
      static long l2(__u32 n, struct ictx *c) { c->i += 10; return 0; }
      static long l1(__u32 n, struct ictx *c) { c->i += 1; bpf_loop(1, l2, c, 0); return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { struct ictx c = { 0, 1 }; bpf_loop(1, l1, &c, 0); return choice[c.i]; }`,
    want: size === 12 ? { ok: true } : { pc: -1, re: /^R1 min value is outside of the allowed memory range$/ },
  })),
  // bpf_for_each_map_elem calls its callback any number of times: a state machine's every state is reached.
  {
    name: 'callback-for-each-state-machine',
    source: `${CB_CTX}
      static long (*for_each)(void *map, void *cb, void *ctx, __u64 flags) = (void *)164;
      static long sm(void *m, __u32 *k, __u64 *v, struct ictx *c) { if (c->i == 0) c->i = 1; else if (c->i == 1) c->i = 2; return 0; }
      SEC("tc") int prog(struct __sk_buff *skb) { struct ictx c = { 0, 1 }; for_each(&arr, sm, &c, 0); return choice[c.i]; }`,
    want: { pc: -1, re: /^R1 min value is outside of the allowed memory range$/ },
  },
  // An exception callback (a decl tag on the program) runs only after a throw: a direct call of it is
  // refused once the walk is done (Linux 6.18 prints the line without its newline: no `$`).
  {
    name: 'exception-callback-tag',
    source: `__noinline int cb(__u64 cookie) { return cookie & 1; }
      SEC("tc") __attribute__((btf_decl_tag("exception_callback:cb"))) int prog(struct __sk_buff *skb) { return cb(skb->len); }`,
    want: { pc: -1, re: /^insn \d+ cannot call exception cb directly/ },
  },
  // An argument tag makes the kernel build the argument from the tag, not the type: arg:ctx is modelled
  // (above), and arg:nonnull on a memory argument (hook-helpers-cases.ts has more).
  {
    name: 'global-arg-tag',
    source: `__noinline int g(__u32 *c __attribute__((btf_decl_tag("arg:nonnull")))) { return *c & 1; }
      SEC("tc") int prog(struct __sk_buff *skb) { __u32 x = skb->len; return g(&x); }`,
    want: { ok: true },
  },
  {
    name: 'global-arg-ctx-read',
    source: `__noinline int g(void *c __attribute__((btf_decl_tag("arg:ctx")))) { return *(volatile __u32 *)c & 1; }
      SEC("tc") int prog(struct __sk_buff *skb) { return g(skb); }`,
    want: { ok: true },
  },
];

function check(name: string, v: VerifyResult, want: Want): void {
  const last = v.message?.split('\n').pop();
  if ('ok' in want) assert.equal(v.accepted, true, `${name}: bpfkit refused at ${v.pc}: ${v.message}`);
  else if ('unmodelled' in want) {
    assert.equal(v.unmodelled, true, `${name}: ${v.accepted ? 'accepted' : v.message}`);
    // One line that says what bpfkit does not model, nothing that reads as the kernel's verdict.
    assert.doesNotMatch(v.message!, /\n/, `${name}: one line`);
  } else {
    assert.equal(v.accepted, false, `${name}: bpfkit accepted`);
    assert.match(last!, want.re, name);
    if (want.pc >= 0) assert.equal(v.pc, want.pc, name);
  }
}

/** The kernel agrees with the expectation (not modelled: the kernel is not asked). */
function checkKernel(name: string, k: KernelVerdict, v: VerifyResult, want: Want): void {
  if ('unmodelled' in want) return;
  if ('ok' in want) {
    assert.equal(k.accepted, true, `${name}: kernel refused at ${k.pc}: ${k.message}`);
    return;
  }
  assert.equal(k.accepted, false, `${name}: kernel accepted`);
  assert.match(k.message!, want.re, `${name}: kernel's words`);
  // Refusals before the walk (no instruction in the kernel's log) name no insn.
  if (k.pc !== undefined) assert.equal(k.pc, v.pc, `${name}: kernel's insn`);
}

test('sweep cases: raw programs get the kernel verdict and words', () => {
  const probe = isRoot() ? kernelHelperProbe() : undefined;
  for (const c of RAW) {
    const insns = build(c.text);
    c.patch?.(insns);
    const maps = c.maps ?? [];
    const v = verifyInstructions(insns, { type: c.type, maps, helperAvailable: probe });
    check(c.name, v, c.want);
    if (isRoot()) checkKernel(c.name, kernelVerdictRaw(insns, c.type, maps), v, c.want);
  }
});

test('sweep cases: C programs (callbacks, global functions, maps of maps)', (t) => {
  if (!hasTool('clang')) {
    t.skip('clang not installed');
    return;
  }
  const { dir, objects } = compileCPrograms(C);
  try {
    for (const [name, file] of objects) {
      const c = C.find((x) => x.name === name)!;
      const spec = loadObjectFile(file);
      const prog = spec.programs.find((p) => p.name === 'prog')!;
      const v = verifyProgram(spec, prog);
      check(name, v, c.want);
      if (isRoot()) checkKernel(name, kernelVerdictObject(spec, 'prog'), v, c.want);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sweep cases: .kconfig values are not constants before the loader fills them in', (t) => {
  if (!hasTool('clang')) {
    t.skip('clang not installed');
    return;
  }
  // The object holds zeros for LINUX_KERNEL_VERSION; the loader writes the running kernel's number before
  // the kernel verifies. Read as the constant 0, the unchecked load below would look dead: it must not.
  const { dir, objects } = compileCPrograms([
    {
      name: 'kconfig-knob',
      source: `extern unsigned int LINUX_KERNEL_VERSION __attribute__((section(".kconfig"), weak));
        struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
        SEC("tc") int prog(struct __sk_buff *skb) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&h, &k);
          if (LINUX_KERNEL_VERSION) return *v; return 0; }`,
    },
  ]);
  try {
    const spec = loadObjectFile(objects[0]![1]);
    assert.ok(
      spec.maps.some((m) => m.section === '.kconfig'),
      'the object has a .kconfig map',
    );
    const v = verifyProgram(
      spec,
      spec.programs.find((p) => p.name === 'prog')!,
    );
    assert.equal(v.accepted, false);
    assert.match(v.message!, /^R0 invalid mem access 'map_value_or_null'$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sweep cases: .kconfig values are constants once the loader has filled them in', (t) => {
  if (!hasTool('clang')) {
    t.skip('clang not installed');
    return;
  }
  // A missing __weak knob reads 0 from the filled-in map, as the kernel's verifier reads it: the call of a
  // helper no kernel has is dead code (test_core_extern's CONFIG_MISSING). Set, the call is walked.
  const { dir, objects } = compileCPrograms([
    {
      name: 'kconfig-dead-helper',
      source: `extern _Bool CONFIG_BPFKIT_KNOB __attribute__((section(".kconfig"), weak));
        static long (*missing_helper)(void *ctx, int x) = (void *)999;
        SEC("tc") int prog(struct __sk_buff *skb) { if (CONFIG_BPFKIT_KNOB) return missing_helper(skb, 1); return 0; }`,
    },
  ]);
  try {
    const file = objects[0]![1];
    const env = (config: [string, string][]): KernelEnv => ({
      btf: () => undefined,
      kconfig: () => ({ values: new Map(config), source: 'test' }),
      kallsyms: () => undefined,
      release: '6.18.0',
      syscallPrefix: '__x64_sys_',
    });
    for (const set of [false, true]) {
      const spec = prepareSpec(
        loadObjectFile(file),
        { engine: 'kernel' },
        env(set ? [['CONFIG_BPFKIT_KNOB', 'y']] : []),
      );
      const v = verifyProgram(
        spec,
        spec.programs.find((p) => p.name === 'prog')!,
      );
      if (set) assert.match(v.message ?? 'accepted', /^invalid func unknown#999$/);
      else assert.equal(v.accepted, true, `knob unset: ${v.message}`);
    }
    // The running kernel has no such option: it reads 0 too.
    if (isRoot()) {
      const k = kernelVerdictObject(loadObjectFile(file), 'prog');
      assert.equal(k.accepted, true, `kernel: ${k.message}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
