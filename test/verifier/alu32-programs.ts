/**
 * Programs heavy in 32-bit arithmetic and 32-bit compares, for the 32-bit bounds (scalar.ts,
 * bounds-sync.ts): random values (a u32 from bpf_get_prandom_u32, a u64 from bpf_ktime_get_ns,
 * constants, sign-extended bytes) go through random ALU32/ALU64 operations and JMP32/JMP compares
 * against constants and against each other. Probes sit on one side of some compares: a write to r10,
 * which the kernel refuses only where it walks, so bpfkit proving a side dead that the kernel walks is a
 * wrong "ok"; and map value accesses at a register's offset, which need bounds as tight as the kernel's.
 * Seeded, so every run generates the same programs.
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { build, rng, type BoundaryProgram } from './boundary-programs.js';

const VALUE_SIZE = 48;

/** Look up key 0 of map 0 into r9 (NULL: jump to the end), then three values into r6, r7, r8. */
function prologue(pick: <T>(xs: readonly T[]) => T): string[] {
  const value = (reg: string): string[] =>
    pick([
      ['call 7', `${reg} = r0`],
      ['call 5', `${reg} = r0`],
      ['call 7', `${reg} = r0`, `${reg} = (s8)${reg}`],
      ['call 7', `${reg} = r0`, `${reg} <<= 32`, `${reg} s>>= 32`],
      ['call 5', `${reg} = r0`, `${reg} |= 0x80000000`],
      [`${reg} = ${pick([0, 1, 3, 0x7fffffff, -1, -5, 255])}`],
      [`${reg} = ${pick(['0x100000003', '0xffffffff00000000', '0x7fffffff80000000', '0x1ffffffff'])} ll`],
    ]);
  return [...value('r6'), ...value('r7'), ...value('r8')];
}

/** `count` programs (socket filters over one array value of 48 bytes). */
export function alu32Programs(count = 600, seed = 0xa1b32): BoundaryProgram[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const regs = ['r6', 'r7', 'r8'] as const;
  const w = (r: string) => r.replace('r', 'w');
  const imm = () =>
    pick([0, 1, 2, 3, 4, 5, 7, 8, 16, 31, 32, 47, 48, 127, 128, 255, -1, -2, -4, -128, 0x7fffffff, -0x80000000]);
  const cmpOps = ['==', '!=', '>', '>=', '<', '<=', 's>', 's>=', 's<', 's<=', '&'];
  const aluOps = ['+=', '-=', '*=', '&=', '|=', '^=', '<<=', '>>=', 's>>='];
  const out: BoundaryProgram[] = [];
  for (let n = 0; n < count; n++) {
    const body: string[] = [];
    // Compares against constants so far: the probe's compare often repeats one nearby, where the walk's
    // bounds may decide it.
    const seen: { a: string; k: number }[] = [];
    const steps = 3 + Math.floor(rand() * 8);
    for (let i = 0; i < steps; i++) {
      const x = pick(regs);
      const y = pick(regs);
      const k = rand();
      if (k < 0.4) {
        // ALU: 32-bit more often than 64-bit, immediate or register operand.
        const op = pick(aluOps);
        const is32 = rand() < 0.7;
        const shift = op.includes('<<') || op.includes('>>');
        const src = shift ? `${Math.floor(rand() * (is32 ? 32 : 64))}` : rand() < 0.5 ? `${imm()}` : is32 ? w(y) : y;
        body.push(`${is32 ? w(x) : x} ${op} ${src}`);
      } else if (k < 0.5) {
        body.push(
          pick([`${w(x)} = ${w(y)}`, `${x} = ${y}`, `${x} = (s32)${y}`, `${x} = (s16)${y}`, `${w(x)} = ${imm()}`]),
        );
      } else {
        // A compare that only refines (one side changes the register a little).
        const is32 = rand() < 0.7;
        const a = is32 ? w(x) : x;
        const k2 = imm();
        const b = rand() < 0.6 ? `${k2}` : is32 ? w(y) : y;
        if (b === `${k2}`) seen.push({ a, k: k2 });
        const cond = `if ${a} ${pick(cmpOps)} ${b}`;
        body.push(`${cond} goto +1`, rand() < 0.5 ? `${x} += 1` : `${w(x)} ^= ${imm()}`);
      }
    }
    // One probe at the end: a write to r10 on one side of a compare, or a map value access at a register's
    // offset on the fall-through side of a compare.
    let x: string = pick(regs);
    const is32 = rand() < 0.7;
    let cond = `if ${is32 ? w(x) : x} ${pick(cmpOps)} ${rand() < 0.6 ? `${imm()}` : is32 ? w(pick(regs)) : pick(regs)}`;
    if (seen.length && rand() < 0.6) {
      const p = pick(seen);
      x = p.a.replace('w', 'r');
      cond = `if ${p.a} ${pick(cmpOps)} ${(p.k + pick([-1, 0, 0, 1])) | 0}`;
    }
    const probe = rand();
    if (probe < 0.3) body.push(`${cond} goto +1`, 'r10 = 0');
    else if (probe < 0.6) body.push(`${cond} goto +2`, 'goto +1', 'r10 = 0');
    else body.push(`${cond} goto +3`, 'r1 = r9', `r1 += ${x}`, 'r0 = *(u8 *)(r1 + 0)');
    const head = [
      'r1 = 0',
      '*(u64 *)(r10 - 8) = r1',
      'r2 = r10',
      'r2 += -8',
      'r1 = map 0',
      'call 1',
      'if r0 != 0 goto +2',
      'r0 = 0',
      'exit',
      'r9 = r0',
    ];
    const text = [...head, ...prologue(pick), ...body, 'r0 = 0', 'exit'];
    const map: VerifierMap = {
      name: 'm',
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: VALUE_SIZE,
      maxEntries: 1,
      readOnly: false,
    };
    out.push({ name: `alu32-${n}`, type: ProgType.SOCKET_FILTER, insns: build(text.join('\n')), maps: [map] });
  }
  return out;
}
