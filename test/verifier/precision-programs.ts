/**
 * Programs aimed at precision tracking: scalars from the context flow through copies, arithmetic, branches,
 * spills and fills (whole and narrow) and a static subprogram, across many branches (so states are
 * remembered and pruning happens), and end as an offset into a 64-byte map value — in range on some paths
 * and not on others. Pruning that forgets a value an access relied on would accept a program the kernel
 * refuses. Seeded, so every run generates the same programs.
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { build, type BoundaryProgram } from './boundary-programs.js';

const VALUE: VerifierMap = {
  name: 'prec',
  type: MapType.ARRAY,
  keySize: 4,
  valueSize: 64,
  maxEntries: 1,
  readOnly: false,
};

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGS = ['r6', 'r7', 'r8', 'r9'];

/** One program of `n` body instructions. */
function program(seed: number, n: number): BoundaryProgram {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const k = () => pick([0, 1, 3, 7, 8, 31, 32, 60, 63, 64, 100]);
  const slot = () => pick([8, 16, 24]);
  const body: string[][] = [];
  const withCall = rand() < 0.3;
  for (let i = 0; i < n; i++) {
    const a = pick(REGS);
    const b = pick(REGS);
    const x = rand();
    if (x < 0.3) {
      const op = pick(['>', '<', '==', '!=', '>=', '&', 's>']);
      const rhs = rand() < 0.3 ? b : String(k());
      // Forward only, to a later body instruction or the tail (each body entry is one instruction).
      const skip = 1 + Math.floor(rand() * Math.min(3, n - i));
      body.push([`if ${a} ${op} ${rhs} goto +${skip}`]);
    } else if (x < 0.4) body.push([`${a} = ${k()}`]);
    else if (x < 0.5) body.push([`${a} = ${b}`]);
    else if (x < 0.6) body.push([`${a} ${pick(['+=', '-=', '&=', '|='])} ${rand() < 0.5 ? b : k()}`]);
    else if (x < 0.65) body.push([`${a} >>= 1`]);
    else if (x < 0.75) body.push([`*(u64 *)(r10 - ${slot()}) = ${a}`]);
    else if (x < 0.82) body.push([`${a} = *(u64 *)(r10 - ${slot()})`]);
    else if (x < 0.86) body.push([`*(u32 *)(r10 - ${slot()}) = ${a}`]);
    else if (x < 0.9) body.push([`${a} = *(u32 *)(r10 - ${slot()})`]);
    else if (x < 0.93) body.push([`*(u64 *)(r10 - ${slot()}) = 0`]);
    else if (withCall) body.push([`r1 = ${a}`, 'call sub', `${a} = r0`]);
    else body.push([`${a} &= 63`]);
  }
  // Jumps count instructions: expand the body, fixing each jump's distance to its target entry.
  const starts: number[] = [];
  let at = 0;
  for (const e of body) {
    starts.push(at);
    at += e.length;
  }
  starts.push(at);
  const lines: string[] = [];
  body.forEach((e, i) => {
    const m = /^(if .* goto )\+(\d+)$/.exec(e[0]!);
    if (m) {
      const target = starts[Math.min(i + Number(m[2]), body.length)]!;
      lines.push(`${m[1]}+${target - starts[i]! - 1}`);
    } else lines.push(...e);
  });
  const use = pick(REGS);
  const guard = rand() < 0.4 ? [`if ${use} > 63 goto +3`] : [];
  const text = [
    'r6 = *(u32 *)(r1 + 0)',
    'r7 = *(u32 *)(r1 + 8)',
    'r8 = 0',
    'r9 = 5',
    ...lines,
    ...guard,
    'r2 = map_value 0+0',
    `r2 += ${use}`,
    'r0 = *(u8 *)(r2 + 0)',
    'r0 = 0',
    'exit',
  ];
  if (withCall) text.push('sub:', 'r0 = r1', 'r0 += 1', 'exit');
  // `call sub` as a local call: `call pc+N` counts slots, and the map_value lddw takes two.
  const slots: number[] = [];
  let slotAt = 0;
  for (const l of text) {
    slots.push(slotAt);
    if (l !== 'sub:') slotAt += l.includes('map_value') ? 2 : 1;
  }
  const sub = slots[text.indexOf('sub:')]!;
  const out = text.map((l, i) => (l === 'call sub' ? `call pc+${sub - slots[i]! - 1}` : l)).filter((l) => l !== 'sub:');
  return { name: `precision-${seed}`, type: ProgType.SOCKET_FILTER, insns: build(out.join('\n')), maps: [VALUE] };
}

/** `count` generated programs of 8 to 40 body instructions. */
export function precisionPrograms(count = 400): BoundaryProgram[] {
  const out: BoundaryProgram[] = [];
  for (let i = 0; i < count; i++) out.push(program(1000 + i, 8 + (i % 33)));
  return out;
}
