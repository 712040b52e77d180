/**
 * Stack grammar programs for the oracle: each starts valid (a map value checked for NULL, a packet range
 * proven or a stack buffer, a bounded scalar, the stack zeroed or not) and goes on with random work on
 * the stack — stores and loads of every size at aligned and misaligned offsets, spills of pointers and
 * scalars then partly overwritten, narrow and signed fills, atomics, variable-offset accesses, helpers
 * that read or write stack memory, map keys of every shape — then uses what it loaded as a pointer or an
 * offset. A third of them put that work in a subprogram given a pointer into its caller's stack. The fuzz
 * built on this grammar found the wrong "ok"s of a spilled 0 taken for zero bytes and of a stack pointer
 * spilled into the caller's frame. Deterministic (seeded).
 */
import { ProgType } from '../../src/uapi/types.js';
import { type BoundaryProgram, rng } from './boundary-programs.js';
import { GRAMMAR_MAPS } from './grammar-programs.js';
import { sockProgram } from './sock-ptr-cases.js';

/** The program types, the context offsets of their packet pointers (none: a stack buffer) and verdicts. */
const TYPES = [
  { type: ProgType.SCHED_CLS, data: 76, end: 80, ret: [0, 1, 2, 7] },
  { type: ProgType.XDP, data: 0, end: 4, ret: [1, 2, 3] },
  { type: ProgType.SOCKET_FILTER, data: undefined, end: undefined, ret: [0, 64] },
  { type: ProgType.KPROBE, data: undefined, end: undefined, ret: [0, 1] },
] as const;

const BYTES = { u8: 1, u16: 2, u32: 4, u64: 8 } as const;

/** `count` stack grammar programs from `seed`. */
export function stackGrammarPrograms(count: number, seed = 0x57ac): BoundaryProgram[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const SZ = () => pick(['u8', 'u16', 'u32', 'u64'] as const);
  const SC = () => pick(['r0', 'r1', 'r2', 'r3', 'r5']);
  const K = () => pick([0, 1, 7, 8, 255, -1, 0x7fffffff, -0x80000000]);
  const at = (ptr: string, o: number) => (o < 0 ? `${ptr} - ${-o}` : `${ptr} + ${o}`);
  // A size and an offset in [base, base + 32): a multiple of the size nine times in ten.
  const place = (ptr: string, base: number): [string, string] => {
    const sz = SZ();
    const n = BYTES[sz];
    let o = base + Math.floor(r() * (32 / n)) * n;
    if (r() < 0.1) o += pick([1, 2, 4]);
    return [sz, at(ptr, o)];
  };
  /** Work on 32 bytes of stack at ptr + base, storing the registers in `vals`. */
  const stackWork = (ptr: string, base: number, vals: readonly string[]): (() => string)[] => [
    () => {
      const [sz, a] = place(ptr, base);
      return `*(${sz} *)(${a}) = ${pick(vals)}`;
    },
    () => {
      const [sz, a] = place(ptr, base);
      return `*(${sz} *)(${a}) = ${K()}`;
    },
    () => `*(u64 *)(${at(ptr, base + 8 * Math.floor(r() * 4))}) = ${pick(vals)}`,
    () => {
      const [sz, a] = place(ptr, base);
      return `${pick(['r0', 'r2', 'r3'])} = *(${sz} *)(${a})`;
    },
    () => {
      const [, a] = place(ptr, base);
      return `${SC()} = *(s${pick(['8', '16', '32'])} *)(${a})`;
    },
    () => `r2 = *(u64 *)(${at(ptr, base + 8 * Math.floor(r() * 4))})\nr0 = *(u8 *)(r2 + 0)`,
    () => {
      const [sz, a] = place(ptr, base);
      return `r2 = *(${sz} *)(${a})\nr0 = r9\nr0 += r2\nr0 = *(u8 *)(r0 + 0)`;
    },
    () => `lock *(${pick(['u32', 'u64'])} *)(${at(ptr, base + 8 * Math.floor(r() * 4))}) += ${SC()}`,
  ];
  const flatWork: (() => string)[] = [
    ...stackWork('r10', -64, ['r0', 'r1', 'r5', 'r6', 'r7', 'r9', 'r10']),
    ...stackWork('r10', -32, ['r0', 'r1', 'r5', 'r6', 'r7', 'r9', 'r10']),
    () => {
      const v = SC();
      return `${v} = atomic_fetch_${pick(['add', 'or', 'xor', 'and'])}((u64 *)(r10 ${pick(['- 8', '- 16', '- 24'])}), ${v})`;
    },
    () => {
      const v = SC();
      return `${v} = xchg_64(r10 ${pick(['- 8', '- 16', '- 24'])}, ${v})`;
    },
    // variable offsets
    () => `r4 = r10\nr4 += -${pick([32, 40, 48, 64])}\nr4 += r5`,
    () => `*(${SZ()} *)(r4 ${pick(['+ 0', '+ 4', '- 8', '+ 8'])}) = ${pick(['r1', 'r2', 'r0', '0', 'r6'])}`,
    () => `${SC()} = *(${SZ()} *)(r4 ${pick(['+ 0', '+ 4', '- 8', '+ 8'])})`,
    // helpers reading or writing the stack, keys of every shape
    () => `r1 = map ${pick([0, 1])}\nr2 = r10\nr2 += ${pick([-4, -8, -16, -24, -33, -64])}\ncall 1\nr9 = r0`,
    () =>
      `r1 = map 0\nr2 = r10\nr2 += ${pick([-4, -8, -16])}\nr3 = r10\nr3 += ${pick([-40, -32, -48])}\nr4 = 0\ncall 2`,
    () =>
      `r1 = r6\nr2 = ${pick([0, 14])}\nr3 = r10\nr3 += ${pick([-8, -16, -32, -64])}\nr4 = ${pick([4, 8, 16, 32, 33])}\ncall 26`,
    () => `r1 = r10\nr1 += ${pick([-8, -16, -32])}\nr2 = ${pick([8, 16, 32])}\nr3 = ${pick(['r6', 'r7', '0'])}\ncall 4`,
    // uses
    () => `r0 = *(${SZ()} *)(${pick(['r0', 'r1', 'r2', 'r9', 'r7'])} + ${pick([0, 4, 8])})`,
    () => `if ${pick(['r0', 'r1', 'r2', 'r9'])} == 0 goto +${pick([1, 2, 3])}`,
    () => `if ${SC()} ${pick(['>', '<', '==', 's>', '!='])} ${K()} goto +${pick([1, 2, 3])}`,
    () => `${SC()} &= ${pick([7, 15, 31, 0xff])}`,
    () => `${pick(['r1', 'r2', 'r3'])} = ${pick(['r6', 'r7', 'r9', 'r10'])}`,
  ];
  const calleeWork = stackWork('r1', 0, ['r0', 'r2', 'r3', 'r1', 'r10']);
  const out: BoundaryProgram[] = [];
  for (let n = 0; n < count; n++) {
    const t = pick(TYPES);
    const zeroed = r() < 0.5;
    const setup = [
      'r6 = r1',
      '*(u32 *)(r10 - 4) = 0',
      ...(zeroed
        ? ['r1 = 0', ...[8, 16, 24, 32, 40, 48, 56, 64].map((o) => `*(u64 *)(r10 - ${o}) = ${o % 16 ? 'r1' : '0'}`)]
        : []),
      'r1 = map 1',
      'r2 = r10',
      'r2 += -4',
      'call 1',
      'r9 = r0',
      'if r9 == 0 goto out',
      'call 7',
      'r5 = r0',
      `r5 &= ${pick([7, 15, 16, 24])}`,
      ...(t.data === undefined
        ? ['r7 = r10', 'r7 += -32']
        : [
            `r7 = *(u32 *)(r6 + ${t.data})`,
            `r8 = *(u32 *)(r6 + ${t.end})`,
            'r2 = r7',
            'r2 += 24',
            'if r2 > r8 goto out',
          ]),
      'r4 = r10',
      'r4 += -32',
      'r0 = 0',
      'r1 = 0',
      'r2 = 1',
      'r3 = 2',
    ];
    const body: string[] = [];
    for (let i = 0, len = 2 + Math.floor(r() * 9); i < len; i++) body.push(pick(flatWork)());
    const lines = [...setup, ...body];
    if (r() < 1 / 3) {
      const sub: string[] = [];
      for (let i = 0, len = 1 + Math.floor(r() * 5); i < len; i++) sub.push(pick(calleeWork)());
      lines.push('r1 = r10', 'r1 += -32', `r2 = ${pick(['r5', 'r9', '0'])}`, 'r3 = 0', 'call fn');
      lines.push(pick(flatWork)(), `r0 = ${pick(t.ret)}`, 'exit', 'out:', `r0 = ${pick(t.ret)}`, 'exit');
      lines.push('fn:', 'r0 = 0', 'r9 = 0', ...sub, 'r0 = 0', 'exit');
    } else lines.push(`r0 = ${pick(t.ret)}`, 'exit', 'out:', `r0 = ${pick(t.ret)}`, 'exit');
    let insns;
    try {
      insns = sockProgram(lines.join('\n'));
    } catch {
      continue; // a snippet the assembler refuses where it lands (a jump past the end)
    }
    out.push({ name: `stack-grammar-${n}`, type: t.type, insns, maps: GRAMMAR_MAPS });
  }
  return out;
}
