/**
 * Grammar programs for the oracle: each starts valid — a map value checked for NULL, a packet range
 * proven (tc, XDP, cgroup_skb) or a stack buffer (socket filters), a bounded random scalar, the stack
 * zeroed — and goes on with random snippets that work on those pointers and scalars: arithmetic of
 * every kind, loads and stores of every size at small offsets, atomics, spills and fills, compares of
 * scalars and of packet pointers with the end, helper calls, LD_ABS, early exits. Unlike the hostile
 * random streams, about a quarter of them load, so they reach the rules the kernel applies to programs
 * that mostly work: the grammar fuzz that found wrong verdicts in packet ends, moved pointers, atomic
 * fetches and wrapping bounds. Deterministic (seeded).
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { type BoundaryProgram, build, rng } from './boundary-programs.js';

/** A hash and an array of 24-byte values under 4-byte keys: the grammars' maps 0 and 1. */
export const GRAMMAR_MAPS: VerifierMap[] = [
  { name: 'h', type: MapType.HASH, keySize: 4, valueSize: 24, maxEntries: 4, readOnly: false },
  { name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 24, maxEntries: 4, readOnly: false },
];

/** The program types, the context offsets of their packet pointers (none: a stack buffer) and verdicts. */
const TYPES = [
  { type: ProgType.SCHED_CLS, data: 76, end: 80, ret: [0, 1, 2, 7] },
  { type: ProgType.XDP, data: 0, end: 4, ret: [1, 2, 3] },
  { type: ProgType.CGROUP_SKB, data: 76, end: 80, ret: [0, 1] },
  { type: ProgType.SOCKET_FILTER, data: undefined, end: undefined, ret: [0, 64] },
] as const;

/** `count` grammar programs from `seed`. */
export function grammarPrograms(count: number, seed = 0x6a3a): BoundaryProgram[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const off = (o: number) => (o < 0 ? `- ${-o}` : `+ ${o}`);
  // r7 packet (or stack) pointer, r8 its end, r9 map value, r4 stack buffer, r6 context; scalars r0-r3, r5.
  const REG = () => pick(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r7', 'r9']);
  const PTR = () => pick(['r7', 'r9', 'r4', 'r10', 'r6']);
  const SC = () => pick(['r0', 'r1', 'r2', 'r3', 'r5']);
  const W = () => `w${pick([0, 1, 2, 3, 5])}`;
  const SZ = () => pick(['u8', 'u16', 'u32', 'u64']);
  const OFF = () => pick([-32, -24, -16, -8, -4, -1, 0, 0, 1, 2, 4, 6, 8, 12, 13, 16, 20, 23, 24]);
  const K = () => pick([0, 1, 2, 3, 4, 7, 8, 12, 14, 16, 20, 24, 63, 64, 255, -1, -4, -8, 0x7fffffff, -0x80000000]);
  const CMP = () => pick(['>', '>=', '<', '<=', '==', '!=', 's>', 's<', 's>=', 's<=']);
  const SNIPPETS: (() => string)[] = [
    () => `${PTR()} += ${SC()}`,
    () => `${PTR()} += ${K()}`,
    () => `${PTR()} -= ${SC()}`,
    () => `${SC()} &= ${K()}`,
    () => `${SC()} += ${K()}`,
    () => `${SC()} = ${K()}`,
    () => `${SC()} = ${REG()}`,
    () => `${SC()} *= ${pick([2, 3, 8, -1])}`,
    () => `${SC()} <<= ${pick([1, 3, 32, 60])}`,
    () => `${SC()} >>= ${pick([1, 3, 32])}`,
    () => `${SC()} s>>= ${pick([1, 3, 63])}`,
    () => `${W()} = ${W()}`,
    () => `${W()} += ${K()}`,
    () => `${W()} &= ${K()}`,
    () => {
      const v = SC();
      return `${v} = -${v}`;
    },
    () => `${SC()} |= ${SC()}`,
    () => `${SC()} ^= ${SC()}`,
    () => `${SC()} %= ${pick([3, 7, 16])}`,
    () => `${SC()} /= ${pick([1, 3, 16])}`,
    () => `${SC()} = (s8)${SC()}`,
    () => `${SC()} = (s32)${SC()}`,
    () => `${SC()} = *(${SZ()} *)(${PTR()} ${off(OFF())})`,
    () => `${SC()} = *(s${pick(['8', '16', '32'])} *)(${PTR()} ${off(OFF())})`,
    () => `*(${SZ()} *)(${PTR()} ${off(OFF())}) = ${REG()}`,
    () => `*(${SZ()} *)(${PTR()} ${off(OFF())}) = ${K()}`,
    () => `*(u64 *)(r10 - ${pick([8, 16, 24])}) = ${REG()}`,
    () => `${REG()} = *(u64 *)(r10 - ${pick([8, 16, 24])})`,
    () => `*(u32 *)(r10 - ${pick([4, 8, 12])}) = ${REG()}`,
    () => `${SC()} = *(u32 *)(r10 - ${pick([4, 8, 12])})`,
    () =>
      `if ${SC()} ${pick(['&', '>', '>=', '<', '<=', '==', '!=', 's>', 's<', 's>=', 's<='])} ${K()} goto +${pick([1, 2, 3, 4])}`,
    () => `if ${SC()} ${CMP()} ${SC()} goto +${pick([1, 2, 3])}`,
    () => `if ${W()} ${pick(['>', '<', '==', 's>', 's<'])} ${K()} goto +${pick([1, 2])}`,
    () => `r2 = r7\nr2 += ${pick([1, 8, 20, 40])}\nif r2 > r8 goto +${pick([1, 2, 3])}`,
    () => `if r9 == 0 goto +${pick([1, 2, 3])}`,
    () => `if r9 != 0 goto +${pick([1, 2])}`,
    () => `r1 = map ${pick([0, 1])}\nr2 = r10\nr2 += -4\ncall 1\nr9 = r0`,
    () => `r1 = map ${pick([0, 1])}\nr2 = r10\nr2 += -4\nr3 = ${PTR()}\nr4 = 0\ncall 2`,
    () => `r1 = ${PTR()}\nr2 = ${pick([4, 8, 16, 0])}\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28\nr5 = r0`,
    () => `call 7\nr5 = r0`,
    () =>
      `lock *(${pick(['u32', 'u64'])} *)(${pick(['r9', 'r4', 'r10', 'r7'])} ${off(pick([-8, 0, 4, 8, 16]))}) ${pick(['+=', '|=', '&=', '^='])} ${SC()}`,
    () => {
      const v = SC();
      return `${v} = atomic_fetch_add((u64 *)(${pick(['r9', 'r4'])} + ${pick([0, 8])}), ${v})`;
    },
    () => `r0 = *(${pick(['u8', 'u16', 'u32'])} *)skb[${pick([0, 12, 14, 23, 60])}]`,
    () => `r0 = *(${pick(['u8', 'u16', 'u32'])} *)skb[r${pick([1, 2, 3, 5])} + ${pick([0, 4])}]`,
    () => `if r7 ${pick(['>', '<', '>=', '<='])} r8 goto +${pick([1, 2, 3])}`,
    () => `if r8 ${pick(['>', '<', '>=', '<='])} r7 goto +${pick([1, 2, 3])}`,
    () => `r2 = r7\nr2 += ${SC()}\nif r2 ${pick(['>', '>='])} r8 goto +${pick([1, 2])}`,
    () => `${SC()} = r7\n${SC()} -= r8`,
    () => `${SC()} = r9\n${SC()} -= r4`,
    () => `if ${PTR()} ${pick(['==', '!=', '>'])} ${PTR()} goto +${pick([1, 2])}`,
    () => `r0 = ${PTR()}\nexit`,
    () => `r0 = ${pick([0, 1, 2])}\nexit`,
  ];
  const out: BoundaryProgram[] = [];
  for (let n = 0; n < count; n++) {
    const t = pick(TYPES);
    const setup = [
      'r6 = r1',
      '*(u32 *)(r10 - 4) = 0',
      '*(u64 *)(r10 - 16) = 0',
      '*(u64 *)(r10 - 24) = 0',
      '*(u64 *)(r10 - 32) = 0',
      'r1 = map 1',
      'r2 = r10',
      'r2 += -4',
      'call 1',
      'r9 = r0',
      'if r9 == 0 goto exit',
      'call 7',
      'r5 = r0',
      `r5 &= ${pick([7, 15, 63, 255])}`,
      ...(t.data === undefined
        ? ['r7 = r10', 'r7 += -32', 'r8 = r10']
        : [
            `r7 = *(u32 *)(r6 + ${t.data})`,
            `r8 = *(u32 *)(r6 + ${t.end})`,
            'r2 = r7',
            `r2 += ${pick([14, 24, 40])}`,
            'if r2 > r8 goto exit',
          ]),
      'r4 = r10',
      'r4 += -32',
      'r0 = 0',
      'r1 = 0',
      'r2 = 1',
      'r3 = 2',
    ];
    const body: string[] = [];
    const len = 2 + Math.floor(r() * 10);
    for (let i = 0; i < len; i++) body.push(pick(SNIPPETS)());
    const lines = [...setup, ...body, `r0 = ${pick(t.ret)}`, 'exit', 'exit:', `r0 = ${pick(t.ret)}`, 'exit']
      .join('\n')
      .split('\n');
    // Resolve `goto exit` (lddw takes two slots).
    const slots: [number, string][] = [];
    let at = 0;
    let exitAt = 0;
    for (const l of lines) {
      if (l === 'exit:') {
        exitAt = at;
        continue;
      }
      slots.push([at, l]);
      at += /= map \d+$/.test(l) ? 2 : 1;
    }
    const text = slots.map(([pc, l]) => l.replace(/goto exit$/, () => `goto +${exitAt - pc - 1}`)).join('\n');
    out.push({ name: `grammar-${n}`, type: t.type, insns: build(text), maps: GRAMMAR_MAPS });
  }
  return out;
}
