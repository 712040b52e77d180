/**
 * Loops bounded by `may_goto` (the kernel's BPF_JMP | BPF_JCOND): a counter, or two nested ones, index a
 * small map value, with or without a bound check of their own, stepping by 1 to 3, starting from a
 * constant or from a random 0..3, and an accumulator the walk should widen. Some stay in the value, some
 * step past its end after a few iterations: a model of may_goto that stops walking too early would accept
 * those. Seeded, so every run generates the same programs.
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { build, rng, type BoundaryProgram } from './boundary-programs.js';

/** Look up key 0 of map 0 into r9; the loop follows, then `r0 = 0; exit` (which a NULL value jumps to). */
const PROLOGUE = [
  'r1 = 0',
  '*(u64 *)(r10 - 8) = r1',
  'r2 = r10',
  'r2 += -8',
  'r1 = map 0',
  'call 1',
  'r9 = r0',
  'r8 = 0',
];

/** One loop over counter `reg`: `may_goto` out, an optional bound check, `inner` lines, the step, back. */
function loop(reg: string, init: string[], bound: string | undefined, inner: string[], step: number): string[] {
  const body = [...(bound ? [bound] : []), ...inner, `${reg} += ${step}`];
  const lines = [...init, `may_goto +${body.length + 1}`, ...body, `goto -${body.length + 2}`];
  // The bound check leaves the loop: past the rest of the body and the jump back.
  if (bound) lines[init.length + 1] = `${bound} goto +${body.length}`;
  return lines;
}

/** `count` may_goto loop programs (socket filters over one array value). */
export function mayGotoPrograms(count = 200, seed = 0x6d61): BoundaryProgram[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: BoundaryProgram[] = [];
  for (let n = 0; n < count; n++) {
    const valueSize = pick([8, 12, 16, 32]);
    const size = pick(['u8', 'u16', 'u32']);
    const nested = rand() < 0.3;
    const bound = (reg: string) =>
      rand() < 0.8 ? `if ${reg} ${pick(['>', '>=', '=='])} ${pick([1, 2, 3, 4, 5, 7, 8, 15, 16])}` : undefined;
    const init = (reg: string) => pick([[`${reg} = 0`], [`${reg} = 1`], ['call 7', `${reg} = r0`, `${reg} &= 3`]]);
    const store = (index: string[]) => [
      ...index,
      'r1 = r9',
      'r1 += r2',
      `*(${size} *)(r1 + 0) = r8`,
      pick(['r8 += r2', 'r8 = r2', 'r8 += 1']),
    ];
    let lines: string[];
    if (!nested) {
      lines = loop('r6', init('r6'), bound('r6'), store(['r2 = r6']), pick([1, 1, 2, 3]));
    } else {
      const inner = loop('r7', ['r7 = 0'], bound('r7'), store(['r2 = r6', 'r2 <<= 2', 'r2 += r7']), 1);
      lines = loop('r6', ['r6 = 0'], bound('r6'), inner, 1);
    }
    const text = [...PROLOGUE, `if r9 == 0 goto +${lines.length}`, ...lines, 'r0 = 0', 'exit'];
    const map: VerifierMap = { name: 'm', type: MapType.ARRAY, keySize: 4, valueSize, maxEntries: 1, readOnly: false };
    out.push({ name: `may-goto-${n}`, type: ProgType.SOCKET_FILTER, insns: build(text.join('\n')), maps: [map] });
  }
  return out;
}
