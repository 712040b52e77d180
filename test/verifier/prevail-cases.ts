/**
 * Small programs in the style of PREVAIL's test cases (its YAML test-data: assign, stack, packet,
 * subtract, jump, loop, call, uninit, divmod, shift, map values), written here in LLVM assembler syntax
 * and judged by the kernel, not by a stated expectation: PREVAIL's own pre/post conditions assume
 * contexts the kernel does not give, so only the program shapes are taken. Some are meant to be
 * accepted, some refused, several sit on the line between.
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { build, type BoundaryProgram } from './boundary-programs.js';

const arr = (valueSize: number): VerifierMap => ({
  name: 'arr',
  type: MapType.ARRAY,
  keySize: 4,
  valueSize,
  maxEntries: 8,
  readOnly: false,
});

/** Map value pointer in r0 (after a null check that exits), key 0 on the stack. */
const LOOKUP = `
  r2 = r10
  r2 += -4
  *(u32 *)(r2 + 0) = 0
  r1 = map 0
  call 1
  if r0 != 0 goto +2
  r0 = 0
  exit`;

/** XDP packet pointers: r2 = data, r3 = data_end. */
const PKT = `
  r2 = *(u32 *)(r1 + 0)
  r3 = *(u32 *)(r1 + 4)`;

const CASES: [string, number, string, VerifierMap[]?][] = [
  // assign / uninit
  ['assign-const', ProgType.XDP, 'r0 = 1\nexit'],
  ['uninit-r0', ProgType.XDP, 'exit'],
  ['uninit-r2-read', ProgType.XDP, 'r0 = r2\nexit'],
  ['uninit-r6-add', ProgType.XDP, 'r0 = 0\nr0 += r6\nexit'],
  ['assign-r10', ProgType.XDP, 'r10 = 0\nr0 = 0\nexit'],
  ['ctx-copy-exit', ProgType.XDP, 'r0 = r1\nexit'],
  ['fp-leak-exit', ProgType.XDP, 'r0 = r10\nexit'],
  // stack
  ['stack-write-read', ProgType.XDP, 'r1 = 5\n*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)\nexit'],
  ['stack-read-uninit', ProgType.XDP, 'r0 = *(u64 *)(r10 - 16)\nexit'],
  ['stack-misaligned-write', ProgType.XDP, 'r1 = 5\n*(u64 *)(r10 - 7) = r1\nr0 = 0\nexit'],
  ['stack-below-512', ProgType.XDP, 'r1 = 5\n*(u64 *)(r10 - 520) = r1\nr0 = 0\nexit'],
  ['stack-at-512', ProgType.XDP, 'r1 = 5\n*(u64 *)(r10 - 512) = r1\nr0 = 0\nexit'],
  ['stack-spill-ptr-narrow-read', ProgType.XDP, '*(u64 *)(r10 - 8) = r1\nr0 = *(u32 *)(r10 - 8)\nexit'],
  ['stack-spill-ptr-fill', ProgType.XDP, '*(u64 *)(r10 - 8) = r1\nr1 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r1 + 0)\nexit'],
  ['stack-fp-arith', ProgType.XDP, 'r2 = r10\nr2 += -16\nr1 = 1\n*(u64 *)(r2 + 8) = r1\nr0 = *(u64 *)(r2 + 8)\nexit'],
  ['stack-fp-positive', ProgType.XDP, 'r2 = r10\nr2 += 8\nr1 = 1\n*(u64 *)(r2 - 8) = r1\nr0 = 0\nexit'],
  // subtract
  ['sub-pkt-pkt', ProgType.XDP, `${PKT}\nr3 -= r2\nr0 = r3\nexit`],
  ['sub-fp-fp', ProgType.XDP, 'r1 = r10\nr2 = r10\nr2 += -8\nr1 -= r2\nr0 = r1\nexit'],
  ['sub-ctx-scalar', ProgType.XDP, 'r1 -= 4\nr0 = *(u32 *)(r1 + 4)\nexit'],
  ['sub-scalar-ptr', ProgType.XDP, 'r0 = 5\nr0 -= r1\nexit'],
  // packet
  ['pkt-no-check', ProgType.XDP, `${PKT}\nr0 = *(u8 *)(r2 + 0)\nexit`],
  [
    'pkt-check-ok',
    ProgType.XDP,
    `${PKT}\nr4 = r2\nr4 += 4\nif r4 > r3 goto +2\nr0 = *(u32 *)(r2 + 0)\nexit\nr0 = 0\nexit`,
  ],
  [
    'pkt-check-short',
    ProgType.XDP,
    `${PKT}\nr4 = r2\nr4 += 3\nif r4 > r3 goto +2\nr0 = *(u32 *)(r2 + 0)\nexit\nr0 = 0\nexit`,
  ],
  [
    'pkt-write-xdp',
    ProgType.XDP,
    `${PKT}\nr4 = r2\nr4 += 1\nif r4 > r3 goto +2\n*(u8 *)(r2 + 0) = 1\nr0 = 0\nexit\nr0 = 0\nexit`,
  ],
  ['pkt-write-socket', ProgType.SOCKET_FILTER, 'r2 = *(u32 *)(r1 + 76)\nr0 = 0\nexit'],
  ['pkt-end-deref', ProgType.XDP, `${PKT}\nr0 = *(u8 *)(r3 + 0)\nexit`],
  [
    'pkt-var-off',
    ProgType.XDP,
    `${PKT}\nr5 = *(u8 *)(r1 + 8)\nr5 &= 15\nr2 += r5\nr4 = r2\nr4 += 1\nif r4 > r3 goto +2\nr0 = *(u8 *)(r2 + 0)\nexit\nr0 = 0\nexit`,
  ],
  ['pkt-leak', ProgType.XDP, `${PKT}\nr0 = r2\nexit`],
  // jump
  [
    'jump-unsigned-bound',
    ProgType.XDP,
    `${LOOKUP}\nr1 = *(u32 *)(r1 + 12)\nif r1 > 3 goto +3\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nexit\nr0 = 0\nexit`,
    [arr(4)],
  ],
  [
    'jump-unsigned-bound-off1',
    ProgType.XDP,
    `${LOOKUP}\nr1 = *(u32 *)(r1 + 12)\nif r1 > 4 goto +3\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nexit\nr0 = 0\nexit`,
    [arr(4)],
  ],
  [
    'jump-signed-no-lower',
    ProgType.XDP,
    `${LOOKUP}\nr1 = *(u64 *)(r0 + 0)\nif r1 s> 3 goto +3\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nexit\nr0 = 0\nexit`,
    [arr(8)],
  ],
  [
    'jump-signed-both',
    ProgType.XDP,
    `${LOOKUP}\nr1 = *(u64 *)(r0 + 0)\nif r1 s> 3 goto +4\nif r1 s< 0 goto +3\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nexit\nr0 = 0\nexit`,
    [arr(8)],
  ],
  [
    'jump-32bit-bound',
    ProgType.XDP,
    `${LOOKUP}\nr1 = *(u64 *)(r0 + 0)\nif w1 > 3 goto +3\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nexit\nr0 = 0\nexit`,
    [arr(8)],
  ],
  ['jump-jset', ProgType.XDP, 'r0 = *(u32 *)(r1 + 12)\nif r0 & 1 goto +1\nr0 = 0\nexit'],
  // loop
  ['loop-count-10', ProgType.XDP, 'r0 = 0\nr1 = 10\nr0 += 1\nr1 -= 1\nif r1 != 0 goto -3\nexit'],
  ['loop-count-up', ProgType.XDP, 'r0 = 0\nr1 = 0\nr1 += 1\nr0 += r1\nif r1 < 100 goto -3\nexit'],
  ['loop-forever', ProgType.XDP, 'r0 = 0\ngoto -1\nexit'],
  ['loop-ctx-bound', ProgType.XDP, 'r2 = *(u32 *)(r1 + 12)\nr0 = 0\nr0 += 1\nif r0 < r2 goto -2\nexit'],
  // call
  [
    'call-lookup-no-null-check',
    ProgType.XDP,
    'r2 = r10\nr2 += -4\n*(u32 *)(r2 + 0) = 0\nr1 = map 0\ncall 1\nr0 = *(u32 *)(r0 + 0)\nexit',
    [arr(4)],
  ],
  ['call-lookup-key-uninit', ProgType.XDP, 'r2 = r10\nr2 += -4\nr1 = map 0\ncall 1\nr0 = 0\nexit', [arr(4)]],
  ['call-lookup-key-scalar', ProgType.XDP, 'r2 = 0\nr1 = map 0\ncall 1\nr0 = 0\nexit', [arr(4)]],
  ['call-lookup-ok', ProgType.XDP, `${LOOKUP}\nr0 = *(u32 *)(r0 + 0)\nexit`, [arr(4)]],
  ['call-clobbers-r1', ProgType.XDP, `${LOOKUP}\nr0 = r1\nexit`, [arr(4)]],
  ['call-keeps-r6', ProgType.XDP, `r6 = 3\n${LOOKUP}\nr0 = r6\nexit`, [arr(4)]],
  [
    'call-update-value-short',
    ProgType.XDP,
    'r2 = r10\nr2 += -4\n*(u32 *)(r2 + 0) = 0\nr3 = r10\nr3 += -12\n*(u32 *)(r3 + 0) = 0\nr1 = map 0\nr4 = 0\ncall 2\nr0 = 0\nexit',
    [arr(16)],
  ],
  ['call-unknown-helper', ProgType.XDP, 'call 100000\nr0 = 0\nexit'],
  // map values
  ['map-value-write-last-byte', ProgType.XDP, `${LOOKUP}\n*(u8 *)(r0 + 7) = 1\nr0 = 0\nexit`, [arr(8)]],
  ['map-value-write-past', ProgType.XDP, `${LOOKUP}\n*(u8 *)(r0 + 8) = 1\nr0 = 0\nexit`, [arr(8)]],
  ['map-value-neg', ProgType.XDP, `${LOOKUP}\nr0 = *(u8 *)(r0 - 1)\nexit`, [arr(8)]],
  [
    'map-value-var-masked',
    ProgType.XDP,
    `${LOOKUP}\nr1 = *(u32 *)(r0 + 0)\nr1 &= 7\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nexit`,
    [arr(8)],
  ],
  [
    'map-value-var-masked-wide',
    ProgType.XDP,
    `${LOOKUP}\nr1 = *(u32 *)(r0 + 0)\nr1 &= 15\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nexit`,
    [arr(8)],
  ],
  ['map-value-leak-to-map', ProgType.XDP, `${LOOKUP}\n*(u64 *)(r0 + 0) = r0\nr0 = 0\nexit`, [arr(8)]],
  // divmod and shifts
  ['div-by-reg-zero', ProgType.XDP, 'r0 = 5\nr1 = 0\nr0 /= r1\nexit'],
  ['div-by-imm-zero', ProgType.XDP, 'r0 = 5\nr0 /= 0\nexit'],
  ['mod-by-reg', ProgType.XDP, 'r0 = *(u32 *)(r1 + 12)\nr1 = 7\nr0 %= r1\nexit'],
  ['shift-64', ProgType.XDP, 'r0 = 1\nr0 <<= 64\nexit'],
  ['shift-63', ProgType.XDP, 'r0 = 1\nr0 <<= 63\nexit'],
  ['shift-32-on-w', ProgType.XDP, 'w0 = 1\nw0 <<= 32\nexit'],
  ['shift-ptr', ProgType.XDP, 'r1 <<= 1\nr0 = 0\nexit'],
  ['mul-ptr', ProgType.XDP, 'r1 *= 2\nr0 = 0\nexit'],
  ['and-ptr', ProgType.XDP, 'r10 &= -8\nr0 = 0\nexit'],
  // ctx
  ['ctx-write-data', ProgType.XDP, 'r2 = 0\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit'],
  ['ctx-read-past', ProgType.XDP, 'r0 = *(u32 *)(r1 + 64)\nexit'],
  ['ctx-skb-mark-write', ProgType.SCHED_CLS, 'r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit'],
  ['ctx-skb-len-write', ProgType.SCHED_CLS, 'r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit'],
  ['ctx-skb-cb-narrow', ProgType.SOCKET_FILTER, 'r0 = *(u8 *)(r1 + 49)\nexit'],
  ['ctx-skb-data-socket', ProgType.SOCKET_FILTER, 'r0 = *(u32 *)(r1 + 76)\nr0 = 0\nexit'],
];

/** PREVAIL-style programs, with the map each names as map 0. */
export function prevailCases(): BoundaryProgram[] {
  return CASES.map(([name, type, text, maps]) => ({
    name: `prevail:${name}`,
    type,
    insns: build(text),
    maps: maps ?? [],
  }));
}
