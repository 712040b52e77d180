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
import { sockProgram, type Want } from './sock-ptr-cases.js';

interface Case {
  name: string;
  type: number;
  text: string;
  maps?: VerifierMap[];
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });
const { KPROBE, TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT, SOCKET_FILTER, SCHED_CLS, XDP } = ProgType;

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
  ...[TRACEPOINT, SOCKET_FILTER, SCHED_CLS, XDP].map(
    (type): Case => ({
      name: `type ${type}: strncmp against a frozen string`,
      type,
      maps: [rodata('abc')],
      text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = map_value 0+0\ncall 182\nexit`,
      want: OK,
    }),
  ),
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
];

const verdict = (c: Case): VerifyResult =>
  verifyInstructions(sockProgram(c.text), { type: c.type, maps: c.maps ?? [], license: 'GPL' });

const lastLine = (m: string | undefined) => (m ?? '').trim().split('\n').pop();

test('more helpers: bpfkit says what each case expects', () => {
  for (const c of CASES) {
    const v = verdict(c);
    if ('ok' in c.want) {
      assert.equal(v.accepted, true, `${c.name}: bpfkit refused at ${v.pc}: ${v.message}`);
      continue;
    }
    assert.equal(v.accepted, false, `${c.name}: bpfkit accepted`);
    if ('unmodelled' in c.want) {
      assert.equal(v.unmodelled, true, `${c.name}: ${v.message}`);
      continue;
    }
    assert.notEqual(v.unmodelled, true, `${c.name}: ${v.message}`);
    assert.match(lastLine(v.message)!, c.want.re, c.name);
    assert.equal(v.pc, c.want.pc, `${c.name}: insn`);
  }
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
    assert.equal(
      v.accepted,
      k.accepted,
      `${c.name}: kernel ${k.accepted ? 'accepts' : `refuses at ${k.pc}: ${k.message}`}`,
    );
    if (k.accepted) continue;
    assert.equal(lastLine(v.message), lastLine(k.message), `${c.name}: words`);
    if (k.pc !== undefined) assert.equal(v.pc, k.pc, `${c.name}: insn`);
  }
});
