/**
 * Hostile programs for the oracle: short random instruction streams drawn from every instruction class
 * (ALU on pointers and uninitialised registers, loads and stores through any register at odd offsets,
 * jumps forwards and backwards, map lookups, lddw), and raw garbage words decoded as instructions. The
 * kernel refuses nearly all of them, so they hunt for the worst defect: a program bpfkit accepts and the
 * kernel refuses. Deterministic (seeded), so every run checks the same programs.
 */
import { decodeProgram } from '../../src/isa/index.js';
import { assignPcs } from '../../src/isa/codec.js';
import { makeInsn, type Instruction } from '../../src/isa/instruction.js';
import * as op from '../../src/isa/opcodes.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import type { BoundaryProgram } from './boundary-programs.js';
import { ALU_OPS, JMP_OPS, SIZES } from '../kernel/helpers/random-program.js';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const OFFS = [-520, -512, -16, -9, -8, -4, -1, 0, 1, 2, 4, 8, 12, 16, 76, 80];
const IMMS = [0, 1, -1, 2, 3, 4, 7, 8, 14, 32, 63, 64, 255, -512, 0x7fffffff];

const MAPS: VerifierMap[] = [
  { name: 'arr', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false },
];

/** `count` random instruction streams and `count / 4` garbage ones. */
export function randomPrograms(count: number): BoundaryProgram[] {
  const r = rng(0xbadc0de);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const reg = () => (r() < 0.05 ? 10 : Math.floor(r() * 10));
  const out: BoundaryProgram[] = [];
  for (let n = 0; n < count; n++) {
    const len = 4 + Math.floor(r() * 12);
    const body: Instruction[] = [makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst: 0, imm: 0 })];
    for (let i = 0; i < len; i++) {
      const left = len - i; // instructions still to come before the final exit
      const x = r();
      if (x < 0.35) {
        const cls = r() < 0.7 ? op.BPF_ALU64 : op.BPF_ALU;
        const src = r() < 0.5 ? op.BPF_K : op.BPF_X;
        body.push(
          makeInsn({ code: cls | pick(ALU_OPS) | src, dst: reg(), src: src === op.BPF_X ? reg() : 0, imm: pick(IMMS) }),
        );
      } else if (x < 0.5) {
        body.push(makeInsn({ code: op.BPF_LDX | op.BPF_MEM | pick(SIZES), dst: reg(), src: reg(), off: pick(OFFS) }));
      } else if (x < 0.62) {
        body.push(makeInsn({ code: op.BPF_STX | op.BPF_MEM | pick(SIZES), dst: reg(), src: reg(), off: pick(OFFS) }));
      } else if (x < 0.67) {
        body.push(
          makeInsn({ code: op.BPF_ST | op.BPF_MEM | pick(SIZES), dst: reg(), off: pick(OFFS), imm: pick(IMMS) }),
        );
      } else if (x < 0.82) {
        const src = r() < 0.5 ? op.BPF_K : op.BPF_X;
        const cls = r() < 0.8 ? op.BPF_JMP : op.BPF_JMP32;
        const off = r() < 0.15 ? -1 - Math.floor(r() * Math.min(i + 1, 4)) : Math.floor(r() * Math.min(left, 3));
        body.push(
          makeInsn({
            code: cls | pick(JMP_OPS) | src,
            dst: reg(),
            src: src === op.BPF_X ? reg() : 0,
            off,
            imm: pick(IMMS),
          }),
        );
      } else if (x < 0.88) {
        // A map lookup with the key at fp-4.
        body.push(makeInsn({ code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst: 2, src: 10 }));
        body.push(makeInsn({ code: op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, dst: 2, imm: -4 }));
        if (r() < 0.7) body.push(makeInsn({ code: op.BPF_ST | op.BPF_MEM | op.BPF_W, dst: 10, off: -4, imm: 0 }));
        body.push(makeInsn({ code: op.OP_LDDW, dst: 1, src: op.BPF_PSEUDO_MAP_FD, imm: 0 }));
        body.push(makeInsn({ code: op.BPF_JMP | op.BPF_CALL, imm: 1 }));
      } else if (x < 0.93) {
        body.push(makeInsn({ code: op.OP_LDDW, dst: reg(), imm: pick(IMMS), imm2: r() < 0.5 ? 0 : -1 }));
      } else {
        body.push(makeInsn({ code: op.BPF_JMP | op.BPF_EXIT }));
      }
    }
    body.push(makeInsn({ code: op.BPF_JMP | op.BPF_EXIT }));
    const type = pick([ProgType.XDP, ProgType.SCHED_CLS, ProgType.SOCKET_FILTER]);
    out.push({ name: `random-${n}`, type, insns: assignPcs(body), maps: MAPS });
  }
  // Garbage: random words, each decoded as an instruction where it decodes at all.
  for (let n = 0; n < count / 4; n++) {
    const bytes = new Uint8Array(8 * (2 + Math.floor(r() * 6)));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
    // Keep the last word an exit, so the program is not refused for its end alone.
    bytes.set([0x95, 0, 0, 0, 0, 0, 0, 0], bytes.length - 8);
    let insns: Instruction[];
    try {
      insns = decodeProgram(bytes, { source: 'garbage' });
    } catch {
      continue;
    }
    out.push({ name: `garbage-${n}`, type: ProgType.XDP, insns, maps: [] });
  }
  return out;
}
