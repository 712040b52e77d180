/**
 * bpf_snprintf and bpf_trace_vprintk (src/verifier/bprintf.ts, helpers.ts). The format of bpf_snprintf is
 * checked at load time by the kernel's printf parser: bpfkit's copy of its rules is held to fixed cases,
 * and as root to the running kernel on a seeded set of formats (every conversion, flag, width, length,
 * `%p` extension, control and Latin-1 byte) with 0-4 arguments. Then the calls themselves: the buffer is
 * written (a read-only map refuses it), the data length must be a multiple of 8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgType } from '../../src/uapi/types.js';
import { type VerifierMap, verifyInstructions } from '../../src/verifier/index.js';
import { bprintfFormatOk } from '../../src/verifier/bprintf.js';
import { needs } from '../support/env.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { type Want, assertKernelAgrees, assertWant } from './expect.js';
import { sockProgram } from './sock-ptr-cases.js';

const fmtOk = (f: string, n: number) => bprintfFormatOk(Buffer.from(`${f}\0`, 'latin1'), n);

test('bpf_snprintf formats: the kernel parser rules', () => {
  assert.equal(fmtOk('x=%d\n', 1), true);
  assert.equal(fmtOk('x=%d\n', 0), false, 'one argument per conversion');
  assert.equal(fmtOk('100%%', 0), true);
  assert.equal(fmtOk('%-08llx %5u %+i % X', 4), true);
  assert.equal(fmtOk('%lllx', 1), false, 'two l at most');
  assert.equal(fmtOk('%hd', 1), false);
  assert.equal(fmtOk('%f', 1), false);
  assert.equal(fmtOk('%s.', 1), true);
  assert.equal(fmtOk('%sX', 1), false, '%s is followed by the end, white space or punctuation');
  assert.equal(fmtOk('%pks %pus %pK %px %ps %pS %pB %pI4 %pi6 %p', 11), true);
  assert.equal(fmtOk('%pI5', 1), false);
  assert.equal(fmtOk('%pz', 1), false);
  assert.equal(fmtOk('a\x01', 0), false, 'an ASCII control byte');
  assert.equal(fmtOk('caf\xe9\t\n', 0), true, 'bytes above 0x7f and white space pass');
  assert.equal(fmtOk('%\xe9', 1), false, 'a conversion is ASCII');
  assert.equal(fmtOk('%s\xa0', 1), true, 'Latin-1 no-break space is white space to the kernel');
  assert.equal(bprintfFormatOk(new Uint8Array([0x25, 0x64]), 1), false, 'no terminating zero');
});

/** A seeded set of formats: tokens from the parser's every branch, one to four of them. */
function formats(count: number, seed: number): { fmt: string; args: number }[] {
  const TOKENS = [
    '%d',
    '%i',
    '%u',
    '%x',
    '%X',
    '%ld',
    '%lld',
    '%llx',
    '%lllx',
    '%s',
    '%c',
    '%p',
    '%pK',
    '%px',
    '%ps',
    '%pS',
    '%pB',
    '%pks',
    '%pus',
    '%pI4',
    '%pi6',
    '%pI5',
    '%pz',
    '%%',
    '%',
    '%5d',
    '%-08x',
    '% d',
    '%+d',
    '%0s',
    '%.2d',
    '%hd',
    '%f',
    '%zu',
    'a',
    ' ',
    '\t',
    '\n',
    ',',
    '\x01',
    '\x7f',
    '\xe9',
    '\xa0',
    '%\xe9',
    '%p\xa1',
    '%s\xa0',
    '%sX',
    '%pksa',
    '%l',
  ];
  let s = seed >>> 0;
  const rnd = (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
  return Array.from({ length: count }, () => ({
    fmt: Array.from({ length: 1 + rnd(4) }, () => TOKENS[rnd(TOKENS.length)]!).join(''),
    args: rnd(5),
  }));
}

const rodata = (text: string): VerifierMap => {
  const value = new Uint8Array(64);
  value.set(Buffer.from(text, 'latin1'));
  return { name: 'ro', type: 2, keySize: 4, valueSize: 64, maxEntries: 1, readOnly: true, frozenValue: value };
};
const RW: VerifierMap = { name: 'rw', type: 2, keySize: 4, valueSize: 64, maxEntries: 1, readOnly: false };
/** Six zeroed stack words (the data at fp-48), then `call`; the call is insn 14 when `buf` is three instructions. */
const zeroed = Array.from({ length: 6 }, (_, i) => `*(u64 *)(r10 - ${8 * (i + 1)}) = 0`).join('\n');
const snprintf = (buf: string, len: number, fmt = 'r3 = map_value 0+0') =>
  `${zeroed}\n${buf}\n${fmt}\nr4 = r10\nr4 += -48\nr5 = ${len}\ncall 165\nr0 = 0\nexit`;
const STACK_BUF = 'r1 = r10\nr1 += -16\nr2 = 16';

const CASES: { name: string; type?: number; fmt: string; text: string; want: Want }[] = [
  { name: 'into the stack', fmt: 'x=%d\n', text: snprintf(STACK_BUF, 8), want: { ok: true } },
  { name: 'into NULL, size 0', fmt: 'x=%d\n', text: snprintf('r1 = 0\nr2 = 0', 8), want: { ok: true } },
  {
    name: 'into a read-only map',
    fmt: 'x=%d\n',
    text: snprintf('r1 = map_value 0+0\nr2 = 16', 8),
    want: { pc: 14, re: /^write into map forbidden, value_size=64 off=0 size=16$/ },
  },
  {
    name: 'too few arguments',
    fmt: '%d %d',
    text: snprintf(STACK_BUF, 8),
    want: { pc: 14, re: /^Invalid format string$/ },
  },
  // The kernel refuses a length that is no multiple of 8 without a word: its log ends at the call.
  {
    name: 'data length 4',
    fmt: '%d',
    text: snprintf(STACK_BUF, 4),
    want: { pc: 14, re: /^14: \(85\) call bpf_snprintf#165$/ },
  },
  {
    name: 'a format the program may write',
    fmt: '%d',
    text: snprintf(STACK_BUF, 8, 'r3 = map_value 1+0'),
    want: { pc: 14, re: /^R3 does not point to a readonly map'$/ },
  },
  { name: 'in a tracepoint', type: ProgType.TRACEPOINT, fmt: '%s', text: snprintf(STACK_BUF, 8), want: { ok: true } },
  {
    name: 'trace_vprintk, four arguments',
    fmt: '%d %d %d %d',
    text: `${zeroed}\nr1 = map_value 0+0\nr2 = 12\nr3 = r10\nr3 += -48\nr4 = 32\ncall 177\nr0 = 0\nexit`,
    want: { ok: true },
  },
  {
    name: 'trace_vprintk with no data',
    fmt: 'hi',
    text: `${zeroed}\nr1 = map_value 0+0\nr2 = 3\nr3 = 0\nr4 = 0\ncall 177\nr0 = 0\nexit`,
    want: { ok: true },
  },
];

test('bpf_snprintf and bpf_trace_vprintk calls: bpfkit says what each case expects', () => {
  for (const c of CASES) {
    const maps = [rodata(c.fmt), RW];
    assertWant(
      c.name,
      verifyInstructions(sockProgram(c.text), { type: c.type ?? ProgType.SOCKET_FILTER, maps }),
      c.want,
    );
  }
});

test('bpf_snprintf: the running kernel agrees on the calls and on 150 seeded formats (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of CASES) {
    const maps = [rodata(c.fmt), RW];
    const insns = sockProgram(c.text);
    const type = c.type ?? ProgType.SOCKET_FILTER;
    assertKernelAgrees(c.name, verifyInstructions(insns, { type, maps }), kernelVerdictRaw(insns, type, maps));
  }
  for (const { fmt, args } of formats(150, 0x5eed)) {
    const maps = [rodata(fmt), RW];
    const insns = sockProgram(snprintf(STACK_BUF, args * 8));
    const name = `${JSON.stringify(fmt)} with ${args} arguments`;
    assertKernelAgrees(
      name,
      verifyInstructions(insns, { type: ProgType.SOCKET_FILTER, maps }),
      kernelVerdictRaw(insns, ProgType.SOCKET_FILTER, maps),
    );
  }
});
