/**
 * Callback grammar programs for the oracle: `bpf_loop` (a constant count, one the caller set, or a pointer) and `bpf_for_each_map_elem` call a callback given a pointer into the caller's stack; the
 * callback reads, writes and counts through it, spills, returns 0, 1 or more; the caller then uses what
 * it finds there as an offset, a pointer or a bound. They load with BTF func_info, one static function
 * per subprogram, as clang's objects do. The fuzz built on this grammar found the wrong "ok" of a pointer
 * given as bpf_loop's count. Deterministic (seeded).
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { type BoundaryProgram, rng } from './boundary-programs.js';
import { sockProgram } from './sock-ptr-cases.js';

const MAPS: VerifierMap[] = [
  { name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 24, maxEntries: 4, readOnly: false },
  { name: 'h', type: MapType.HASH, keySize: 4, valueSize: 16, maxEntries: 4, readOnly: false },
];

/** `count` callback grammar programs from `seed`. */
export function callbackGrammarPrograms(count: number, seed = 0xcb11): BoundaryProgram[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const K = () => pick([0, 1, 2, 3, 7, 8, 16, 23, 24, -1]);
  const bump = () => `r0 = *(u64 *)(r2 + ${pick([0, 8])})\nr0 += 1\n*(u64 *)(r2 + ${pick([0, 8])}) = r0`;
  // In the callback r2 is the caller's fp-32 (bpf_loop's ctx; for_each's is moved there from r4).
  const inCallback: (() => string)[] = [
    () => `r0 = *(u64 *)(r${pick([2, 3])} + ${pick([0, 8, 16])})`,
    () => `*(u64 *)(r2 + ${pick([0, 8, 16])}) = ${pick(['r1', 'r0', 'r10', '0', '1', 'r2'])}`,
    () => `*(u32 *)(r2 + ${pick([0, 4, 8, 12])}) = ${pick(['r1', 'r0', '0', '7'])}`,
    bump,
    () => `r4 = *(u64 *)(r2 + 0)\nr4 &= ${pick([7, 15, 31])}\nr5 = *(u64 *)(r2 + 8)\nr5 += r4\nr0 = *(u8 *)(r5 + 0)`,
    () => `if r1 ${pick(['>', '<', '==', '!='])} ${K()} goto +1`,
    () => `r1 = ${K()}`,
    () => `if r1 ${pick(['>', '=='])} 1 goto +2\nr0 = ${pick(['r1', 'r2', 'r10', '0', '1'])}\nexit`,
    () => `*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)`,
  ];
  const inCaller: (() => string)[] = [
    () =>
      `r1 = *(u64 *)(r10 - ${pick([32, 24, 16])})\nr1 &= ${pick([7, 15, 31])}\nr2 = r9\nr2 += r1\nr0 = *(u8 *)(r2 + 0)`,
    () => `r1 = *(u64 *)(r10 - ${pick([32, 24, 16])})\nr0 = *(u8 *)(r1 + 0)`,
    () =>
      `r1 = *(u64 *)(r10 - ${pick([32, 24])})\nif r1 > ${pick([8, 16, 23, 24])} goto +3\nr2 = r9\nr2 += r1\nr0 = *(u8 *)(r2 + 0)`,
    () => `*(u64 *)(r10 - ${pick([32, 24, 16])}) = ${pick(['r9', '0', 'r8', '5'])}`,
    // (a count the caller sets: small, so that no walk runs into the kernel's 1M-instruction limit)
    () => `r8 = ${pick([0, 1, 2, 3, 7, 8])}`,
  ];
  const out: BoundaryProgram[] = [];
  for (let n = 0; n < count; n++) {
    const type = pick([ProgType.SCHED_CLS, ProgType.SOCKET_FILTER, ProgType.KPROBE]);
    const lines = [
      'r6 = r1',
      '*(u32 *)(r10 - 4) = 0',
      'r1 = 0',
      '*(u64 *)(r10 - 16) = r1',
      '*(u64 *)(r10 - 24) = r1',
      '*(u64 *)(r10 - 32) = r1',
      'r1 = map 0',
      'r2 = r10',
      'r2 += -4',
      'call 1',
      'r9 = r0',
      'if r9 == 0 goto out',
      'r8 = 0',
    ];
    for (let i = 0, len = Math.floor(r() * 3); i < len; i++) lines.push(pick(inCaller)());
    const forEach = r() < 0.3;
    lines.push(
      forEach ? `r1 = map ${pick([0, 1])}` : `r1 = ${pick(['3', '1', '100', 'r8', 'r9'])}`,
      'r2 = func cb',
      'r3 = r10',
      'r3 += -32',
      'r4 = 0',
      `call ${forEach ? 164 : 181}`,
    );
    for (let i = 0, len = 1 + Math.floor(r() * 3); i < len; i++) lines.push(pick(inCaller)());
    lines.push('r0 = 0', 'exit', 'out:', 'r0 = 0', 'exit', 'cb:', ...(forEach ? ['r2 = r4'] : []), 'r0 = 0');
    // (for_each's callback is walked until its states converge, whatever the map's size: a counter it
    // bumps never converges, and both verifiers would walk a million instructions)
    const ops = forEach ? inCallback.filter((op) => op !== bump) : inCallback;
    for (let i = 0, len = 1 + Math.floor(r() * 4); i < len; i++) lines.push(pick(ops)());
    lines.push(`r0 = ${pick([0, 0, 1, 2])}`, 'exit');
    out.push({ name: `callback-grammar-${n}`, type, insns: sockProgram(lines.join('\n')), maps: MAPS, funcInfo: true });
  }
  return out;
}
