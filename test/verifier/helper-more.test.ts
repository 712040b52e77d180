/**
 * More helpers (bpf_get_stack, bpf_strncmp and its constant string): bpfkit's verdict on each program is
 * held to the one the running kernel (6.18) gave, and as root the kernel judges every program again: same
 * verdict, same instruction, same last line. A case bpfkit cannot judge must say so (not modelled).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgType } from '../../src/uapi/types.js';
import { verifyInstructions, type VerifierMap, type VerifyResult } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { Compare, covers } from '../../src/verifier/prune.js';
import { type HeldLock, NOT_INIT, ptrReg, type Reg, type State } from '../../src/verifier/state.js';
import { sockProgram } from './sock-ptr-cases.js';
import { assertKernelAgrees, lastLine, type Want } from './expect.js';

interface Case {
  name: string;
  type: number;
  text: string;
  maps?: VerifierMap[];
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });
const { KPROBE, TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT, SOCKET_FILTER, SCHED_CLS, XDP, CGROUP_SKB } = ProgType;

/** struct { int cnt; struct bpf_spin_lock l; int data[2]; }: a hash map and an array of them. */
const lockHash: VerifierMap = {
  name: 'locks',
  type: 1,
  keySize: 4,
  valueSize: 16,
  maxEntries: 4,
  readOnly: false,
  kernelFields: [{ off: 4, size: 4, what: 'struct bpf_spin_lock' }],
};
const lockArray: VerifierMap = { ...lockHash, name: 'lockarr', type: 2, maxEntries: 1 };
/** r6 = the value of key 0 in map 0 (insns 0-8), to `out` when NULL. */
const lookupLock = `r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\nif r0 == 0 goto out\nr6 = r0`;
/** r7 = the value of key 0 again (10 insns), to `out` when NULL. */
const lookupAgain = `r1 = 0\n*(u32 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nr1 = map 0\ncall 1\nif r0 == 0 goto out\nr7 = r0`;
/** Lock r6's lock, run `body`, unlock, return 0 (then `tail`). */
const locked = (body: string, tail = '') =>
  `${lookupLock}\nr1 = r6\nr1 += 4\ncall 93\n${body}\nr1 = r6\nr1 += 4\ncall 94\nout:\nr0 = 0\nexit${tail}`;

/** A frozen read-only array (as .rodata) holding `bytes`, padded to `size`. */
const rodata = (bytes: string, size = 8): VerifierMap => {
  const value = new Uint8Array(size);
  value.set(Buffer.from(bytes, 'latin1'));
  return { name: 'ro', type: 2, keySize: 4, valueSize: size, maxEntries: 1, readOnly: true, frozenValue: value };
};
const arr = (extra: Partial<VerifierMap> = {}): VerifierMap => ({
  name: 'arr',
  type: 2,
  keySize: 4,
  valueSize: 64,
  maxEntries: 1,
  readOnly: false,
  ...extra,
});
/** r0 = lookup of key 0 in map 0, exit unless found. */
const lookup0 = `r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\nif r0 == 0 goto out`;

/** get_stack(ctx, fp-64, size, 0), then a byte read at fp-64 + r0 - 1 when r0 > 0: in range only if r0 <= 64. */
const stack = (size: string, pre = '') =>
  `${pre}r2 = r10\nr2 += -64\nr3 = ${size}\nr4 = 0\ncall 67\nif r0 s< 1 goto out\nr2 = r10\nr2 += -64\nr2 += r0\nr0 = *(u8 *)(r2 - 1)\nout:\nr0 = 0\nexit`;

const CASES: Case[] = [
  // bpf_get_stack: the length back is at most the size argument (do_refine_retval_range).
  { name: 'kprobe: get_stack, result within the buffer', type: KPROBE, text: stack('64'), want: OK },
  { name: 'tracepoint: get_stack', type: TRACEPOINT, text: stack('64'), want: OK },
  { name: 'perf_event: get_stack', type: PERF_EVENT, text: stack('64'), want: OK },
  { name: 'raw_tp: get_stack', type: RAW_TRACEPOINT, text: stack('64'), want: OK },
  {
    name: 'kprobe: get_stack, size 48: the read may reach past what the helper wrote, still on the stack',
    type: KPROBE,
    text: stack('48'),
    want: OK,
  },
  {
    name: 'kprobe: get_stack, buffer past the frame',
    type: KPROBE,
    text: stack('72'),
    want: at(4, 'invalid write to stack R2 off=-64 size=72'),
  },
  { name: 'kprobe: get_stack, size zero', type: KPROBE, text: stack('0'), want: OK },
  {
    name: 'kprobe: get_stack, unbounded size',
    type: KPROBE,
    text: `r6 = r1\ncall 7\nr3 = r0\nr3 &= 0x7fffffff\nr1 = r6\nr2 = r10\nr2 += -64\nr4 = 0\ncall 67\nr0 = 0\nexit`,
    want: at(8, "R3 unbounded memory access, use 'var &= const' or 'if (var < const)'"),
  },
  {
    name: 'kprobe: get_stack, the context moved',
    type: KPROBE,
    text: stack('64', 'r1 += 8\n'),
    want: at(5, 'dereference of modified ctx ptr R1 off=8 disallowed'),
  },
  {
    name: 'kprobe: get_stack into a map value',
    type: KPROBE,
    maps: [arr()],
    text: `r6 = r1\n${lookup0}\nr1 = r6\nr2 = r0\nr3 = 64\nr4 = 0\ncall 67\nout:\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'kprobe: get_stack into a read-only map value',
    type: KPROBE,
    maps: [arr({ readOnly: true })],
    text: `r6 = r1\n${lookup0}\nr1 = r6\nr2 = r0\nr3 = 64\nr4 = 0\ncall 67\nout:\nr0 = 0\nexit`,
    want: at(13, 'write into map forbidden, value_size=64 off=0 size=64'),
  },
  {
    name: 'raw_tp: get_stack into a read-only map value',
    type: RAW_TRACEPOINT,
    maps: [arr({ readOnly: true })],
    text: `r6 = r1\n${lookup0}\nr1 = r6\nr2 = r0\nr3 = 64\nr4 = 0\ncall 67\nout:\nr0 = 0\nexit`,
    want: at(13, 'write into map forbidden, value_size=64 off=0 size=64'),
  },
  {
    name: 'socket filter: no get_stack',
    type: SOCKET_FILTER,
    text: stack('64'),
    want: at(4, 'program of this type cannot use helper bpf_get_stack#67'),
  },
  {
    name: 'xdp: no get_stack',
    type: XDP,
    text: stack('64'),
    want: at(4, 'program of this type cannot use helper bpf_get_stack#67'),
  },

  // bpf_strncmp(s1, size, s2): s2 a NUL-terminated string in a frozen read-only map.
  ...[TRACEPOINT, SOCKET_FILTER, SCHED_CLS, XDP].map((type): Case => ({
    name: `type ${type}: strncmp against a frozen string`,
    type,
    maps: [rodata('abc')],
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+0\ncall 182\nexit`,
    want: OK,
  })),
  {
    name: 'strncmp: the string from an offset inside it',
    type: TRACEPOINT,
    maps: [rodata('abcdef\0')],
    text: `r1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+3\ncall 182\nexit`,
    want: OK,
  },
  {
    name: 'strncmp: the offset added as a known constant',
    type: TRACEPOINT,
    maps: [rodata('abcdef\0')],
    text: `r1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+0\nr3 += 2\ncall 182\nexit`,
    want: OK,
  },
  {
    name: 'strncmp: not zero-terminated',
    type: TRACEPOINT,
    maps: [rodata('abcdefgh')],
    text: `r1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+0\ncall 182\nexit`,
    want: at(5, 'string is not zero-terminated'),
  },
  {
    name: 'strncmp: zero-terminated before the offset only',
    type: TRACEPOINT,
    maps: [rodata('ab\0defgh')],
    text: `r1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+4\ncall 182\nexit`,
    want: at(5, 'string is not zero-terminated'),
  },
  {
    name: 'strncmp: a writable map',
    type: TRACEPOINT,
    maps: [arr()],
    text: `r1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+0\ncall 182\nexit`,
    want: at(5, "R3 does not point to a readonly map'"),
  },
  {
    name: 'strncmp: read-only for the program but not known frozen',
    type: TRACEPOINT,
    maps: [arr({ readOnly: true })],
    text: `r1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+0\ncall 182\nexit`,
    want: { unmodelled: true },
  },
  {
    name: 'strncmp: a variable offset',
    type: TRACEPOINT,
    maps: [rodata('abcdef\0')],
    text: `call 7\nr0 &= 3\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+0\nr3 += r0\ncall 182\nexit`,
    want: at(8, "R3 is not a constant address'"),
  },
  {
    name: 'strncmp: the string on the stack',
    type: TRACEPOINT,
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = r1\ncall 182\nexit`,
    want: at(6, 'R3 type=fp expected=map_value'),
  },
  {
    name: 'strncmp: a map lookup not null-checked (key 1: out of range, so it may be NULL)',
    type: TRACEPOINT,
    maps: [rodata('abc')],
    text: `r1 = 1\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map 0\ncall 1\nr3 = r0\nr1 = r10\nr1 += -8\nr2 = 8\ncall 182\nexit`,
    want: at(11, 'R3 type=map_value_or_null expected=map_value'),
  },
  {
    name: 'strncmp: a null-checked lookup of the frozen map',
    type: TRACEPOINT,
    maps: [rodata('abc')],
    text: `${lookup0}\nr3 = r0\nr1 = r10\nr1 += -8\nr2 = 8\ncall 182\nout:\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'strncmp: size zero',
    type: TRACEPOINT,
    maps: [rodata('abc')],
    text: `r1 = r10\nr1 += -8\nr2 = 0\nr3 = map_value 0+0\ncall 182\nexit`,
    want: at(5, 'R2 invalid zero-sized read: u64=[0,0]'),
  },
  {
    name: 'strncmp: s1 past the frame',
    type: TRACEPOINT,
    maps: [rodata('abc')],
    text: `r1 = r10\nr1 += -8\nr2 = 16\nr3 = map_value 0+0\ncall 182\nexit`,
    want: at(5, 'invalid read from stack R1 off=-8 size=16'),
  },

  // bpf_spin_lock / bpf_spin_unlock: the struct bpf_spin_lock of a map value, found through the map's BTF.
  { name: 'tc: lock and unlock', type: SCHED_CLS, maps: [lockHash], text: locked(''), want: OK },
  {
    name: 'cgroup_skb: lock and unlock',
    type: CGROUP_SKB,
    maps: [lockHash],
    text: locked(''),
    want: OK,
  },
  {
    name: 'tc: lock, then exit',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr1 = r6\nr1 += 4\ncall 93\nout:\nr0 = 0\nexit`,
    want: at(13, 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region'),
  },
  {
    name: 'tc: unlock without a lock',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr1 = r6\nr1 += 4\ncall 94\nout:\nr0 = 0\nexit`,
    want: at(11, 'bpf_spin_unlock without taking a lock'),
  },
  {
    name: 'tc: a helper call under the lock',
    type: SCHED_CLS,
    maps: [lockHash],
    text: locked('call 5'),
    want: at(12, 'function calls are not allowed while holding a lock'),
  },
  {
    name: 'tc: lock twice',
    type: SCHED_CLS,
    maps: [lockHash],
    text: locked('r1 = r6\nr1 += 4\ncall 93'),
    want: at(14, 'function calls are not allowed while holding a lock'),
  },
  {
    name: 'tc: tail call under the lock',
    type: SCHED_CLS,
    maps: [lockHash],
    text: locked('r2 = map 0\nr3 = 0\ncall 12'),
    want: at(15, 'function calls are not allowed while holding a lock'),
  },
  {
    name: 'tc: the lock at the wrong offset',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr1 = r6\ncall 93\nout:\nr0 = 0\nexit`,
    want: at(10, "off 0 doesn't point to 'struct bpf_spin_lock' that is at 4"),
  },
  {
    name: 'tc: the lock at a variable offset',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\ncall 7\nr0 &= 4\nr1 = r6\nr1 += r0\ncall 93\nout:\nr0 = 0\nexit`,
    want: at(13, "R1 doesn't have constant offset. bpf_spin_lock has to be at the constant offset"),
  },
  {
    name: 'tc: a load of the lock',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr0 = *(u32 *)(r6 + 4)\nout:\nr0 = 0\nexit`,
    want: at(9, 'bpf_spin_lock cannot be accessed directly by load/store'),
  },
  {
    name: 'tc: a store beside the lock',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr1 = 1\n*(u32 *)(r6 + 8) = r1\nout:\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'tc: the lock on the stack',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `r1 = r10\nr1 += -8\ncall 93\nr0 = 0\nexit`,
    want: at(2, 'R1 type=fp expected=map_value, ptr_'),
  },
  {
    name: 'tc: unlock through a copy of the pointer',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr7 = r6\nr1 = r6\nr1 += 4\ncall 93\nr1 = r7\nr1 += 4\ncall 94\nout:\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'tc: unlock through another lookup of the same key',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr1 = r6\nr1 += 4\ncall 93\n${lookupAgain}\nr1 = r7\nr1 += 4\ncall 94\nout:\nr0 = 0\nexit`,
    want: at(18, 'function calls are not allowed while holding a lock'),
  },
  {
    name: 'tc: lock one lookup, unlock another',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\n${lookupAgain}\nr1 = r6\nr1 += 4\ncall 93\nr1 = r7\nr1 += 4\ncall 94\nout:\nr0 = 0\nexit`,
    want: at(23, 'bpf_spin_unlock of different lock'),
  },
  {
    name: 'tc: two lookups of an array with a constant key (never NULL), lock one, unlock the other',
    type: SCHED_CLS,
    maps: [lockArray],
    text: `${lookupLock}\n${lookupAgain}\nr1 = r6\nr1 += 4\ncall 93\nr1 = r7\nr1 += 4\ncall 94\nout:\nr0 = 0\nexit`,
    want: at(23, 'bpf_spin_unlock of different lock'),
  },
  {
    name: 'tc: the lock of a global (map_value lddw): lock and unlock through two lddws',
    type: SCHED_CLS,
    maps: [lockArray],
    text: `r1 = map_value 0+4\ncall 93\nr1 = map_value 0+4\ncall 94\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'tc: the lock of a global, not given back',
    type: SCHED_CLS,
    maps: [lockArray],
    text: `r1 = map_value 0+4\ncall 93\nr0 = 0\nexit`,
    want: at(4, 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region'),
  },
  {
    name: 'tc: locked on one branch only, unlocked on it',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\ncall 7\nif r0 > 5 goto skip\nr1 = r6\nr1 += 4\ncall 93\nr1 = r6\nr1 += 4\ncall 94\nskip:\nout:\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'tc: unlocked on one branch only',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr1 = r6\nr1 += 4\ncall 93\nr0 = *(u32 *)(r6 + 0)\nif r0 > 5 goto skip\nr1 = r6\nr1 += 4\ncall 94\nskip:\nout:\nr0 = 0\nexit`,
    want: at(18, 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region'),
  },
  {
    name: 'tc: unlocked on one branch only (the locked side walked last)',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr1 = r6\nr1 += 4\ncall 93\nr0 = *(u32 *)(r6 + 0)\nif r0 > 5 goto do_unlock\ngoto skip\ndo_unlock:\nr1 = r6\nr1 += 4\ncall 94\nskip:\nout:\nr0 = 0\nexit`,
    want: at(19, 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region'),
  },
  {
    name: 'tc: a static subprogram takes the lock, the caller gives it back',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `${lookupLock}\nr1 = r6\ncall sub\nr1 = r6\nr1 += 4\ncall 94\nout:\nr0 = 0\nexit\nsub:\nr1 += 4\ncall 93\nr0 = 0\nexit`,
    want: OK,
  },
  {
    name: 'tc: a static subprogram called under the lock',
    type: SCHED_CLS,
    maps: [lockHash],
    text: locked('r1 = 0\ncall sub', '\nsub:\nr0 = 0\nexit'),
    want: OK,
  },
  {
    name: 'tc: LD_ABS under the lock',
    type: SCHED_CLS,
    maps: [lockHash],
    text: `r7 = r1\n${lookupLock}\nr1 = r6\nr1 += 4\ncall 93\nr6 = r7\nr0 = *(u8 *)skb[0]\nr1 = r6\nout:\nr0 = 0\nexit`,
    want: at(14, 'BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region'),
  },
  {
    name: 'kprobe: a map with a lock',
    type: KPROBE,
    maps: [lockHash],
    text: locked(''),
    want: at(4, 'tracing progs cannot use bpf_spin_lock yet'),
  },
  {
    name: 'socket filter: a map with a lock',
    type: SOCKET_FILTER,
    maps: [lockHash],
    text: locked(''),
    want: at(4, 'socket filter progs cannot use bpf_spin_lock yet'),
  },
  {
    name: 'tc: a map without BTF',
    type: SCHED_CLS,
    maps: [{ ...lockHash, kernelFields: undefined }],
    text: locked(''),
    want: { unmodelled: true },
  },
];

const verdict = (c: Case): VerifyResult =>
  verifyInstructions(sockProgram(c.text), { type: c.type, maps: c.maps ?? [], license: 'GPL' });

test('more helpers: bpfkit says what each case expects', () => {
  const wrong: string[] = [];
  for (const c of CASES) {
    const v = verdict(c);
    const got = v.accepted ? 'ok' : v.unmodelled ? `not modelled: ${v.message}` : `${v.pc}: ${lastLine(v.message)}`;
    const w = c.want;
    const good =
      'ok' in w
        ? v.accepted
        : 'unmodelled' in w
          ? v.unmodelled === true
          : !v.unmodelled && !v.accepted && v.pc === w.pc && w.re.test(lastLine(v.message)!);
    if (!good) wrong.push(`${c.name}: ${got}`);
  }
  assert.deepEqual(wrong, []);
});

test('more helpers: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of CASES) {
    const k = kernelVerdictRaw(sockProgram(c.text), c.type, c.maps ?? []);
    const v = verdict(c);
    if ('unmodelled' in c.want) {
      assert.equal(k.accepted, false, `${c.name}: the kernel accepts what bpfkit cannot judge`);
      continue;
    }
    assertKernelAgrees(c.name, v, k);
  }
});

test('more helpers: a remembered state covers another only if both hold the same lock, or neither', () => {
  const m = lockHash;
  const state = (lock?: HeldLock): State => {
    const regs = new Array<Reg>(11).fill(NOT_INIT);
    regs[6] = ptrReg('map_value', { map: m, id: 3 });
    regs[10] = ptrReg('fp', { frame: 0 });
    return {
      frames: [{ regs, stack: new Map(), callsite: -1, subprog: 0 }],
      refs: new Map(),
      ...(lock ? { lock } : {}),
    };
  };
  const live = 0x7ff;
  assert.equal(covers(state(), state(), live, Compare.Covers), true);
  assert.equal(covers(state(), state({ map: m, id: 3 }), live, Compare.Covers), false);
  assert.equal(covers(state({ map: m, id: 3 }), state(), live, Compare.Covers), false);
  assert.equal(covers(state({ map: m, id: 3 }), state({ map: m, id: 3 }), live, Compare.Covers), true);
  // The lock taken through another value than r6's (id 4, not r6's 3) is another lock.
  assert.equal(covers(state({ map: m, id: 3 }), state({ map: m, id: 4 }), live, Compare.Covers), false);
  assert.equal(covers(state({ map: m, id: 3 }), state({ map: lockArray, id: 3 }), live, Compare.Covers), false);
});
