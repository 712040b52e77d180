/**
 * `[ip|ip6] protochain N` as libpcap 1.10's gen_protochain builds it: one block whose statements walk the
 * header chain in a loop (a backward `ja`), with jumps inside the block. IPv6 steps over hop-by-hop,
 * destination-options, routing and fragment headers (8-byte units), both families over AH. The AH step
 * keeps libpcap's quirk: the new X is AH's length alone, not added to where AH starts. A loop defeats the
 * value numbering of the optimizer, so libpcap (and bpfkit) leave a program with protochain unoptimized.
 * The kernel refuses backward jumps; libpcap then filters in userspace, which bpfkit does the same way
 * (`prepareClassic(..., { loops: true })`).
 */
import {
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_B,
  BPF_IMM,
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MEM,
  BPF_MISC,
  BPF_MSH,
  BPF_MUL,
  BPF_ST,
  BPF_TAX,
  BPF_TXA,
  BPF_X,
} from '../cbpf/insn.js';
import { block, type Frag, type Stmt } from './blocks.js';

const IPPROTO_NONE = 59;
const IPPROTO_AH = 51;
/** The IPv6 extension headers counted in 8-byte units: hop-by-hop, destination options, routing, fragment. */
const V6_EXTENSIONS = [0, 60, 43, 44];

/**
 * The statements and final test of `protochain v` over one family. `nl` is the network layer's offset,
 * `reg` the scratch slot holding the next-header value across the header-length arithmetic.
 */
export function protochainBlock(v: number, family: 'ip' | 'ip6', nl: number, reg: number): Frag {
  // Statements are placed in an array and jumps patched by index: a jump's offset is target - self - 1.
  const s: Array<Stmt & { jt?: number; jf?: number }> = [];
  const at = (st: Stmt & { jt?: number; jf?: number }): number => s.push(st) - 1;
  const jeq = (k: number): number => at({ code: BPF_JMP | BPF_JEQ | BPF_K, k, jt: 0, jf: 0 });
  if (family === 'ip') {
    at({ code: BPF_LD | BPF_ABS | BPF_B, k: nl + 9 });
    at({ code: BPF_LDX | BPF_MSH | BPF_B, k: nl });
  } else {
    at({ code: BPF_LD | BPF_ABS | BPF_B, k: nl + 6 });
    at({ code: BPF_LDX | BPF_IMM, k: 40 });
  }
  const again = jeq(v);
  const none = jeq(IPPROTO_NONE);
  const toEnd: Array<[number, 'jt' | 'jf']> = [
    [again, 'jt'],
    [none, 'jt'],
  ];
  const link = (from: number, side: 'jt' | 'jf', to: number): void => {
    s[from]![side] = to - from - 1;
  };
  link(again, 'jf', none);
  let lastV6Test = -1;
  if (family === 'ip6') {
    const tests = V6_EXTENSIONS.map((k) => jeq(k));
    link(none, 'jf', tests[0]!);
    for (let i = 0; i + 1 < tests.length; i++) link(tests[i]!, 'jf', tests[i + 1]!);
    const advance = s.length;
    for (const t of tests) link(t, 'jt', advance);
    lastV6Test = tests[tests.length - 1]!;
    // A = next header; X += (header length + 1) * 8.
    at({ code: BPF_LD | BPF_IND | BPF_B, k: nl });
    at({ code: BPF_ST, k: reg });
    at({ code: BPF_LD | BPF_IND | BPF_B, k: nl + 1 });
    at({ code: BPF_ALU | BPF_ADD | BPF_K, k: 1 });
    at({ code: BPF_ALU | BPF_MUL | BPF_K, k: 8 });
    at({ code: BPF_ALU | BPF_ADD | BPF_X, k: 0 });
    at({ code: BPF_MISC | BPF_TAX, k: 0 });
    at({ code: BPF_LD | BPF_MEM, k: reg });
    const back = at({ code: BPF_JMP | BPF_JA, k: 0 });
    s[back]!.k = (again - back - 1) >>> 0;
  } else {
    const nop = at({ code: BPF_ALU | BPF_ADD | BPF_K, k: 0 });
    link(none, 'jf', nop);
  }
  const ah = jeq(IPPROTO_AH);
  if (lastV6Test >= 0) link(lastV6Test, 'jf', ah);
  link(ah, 'jt', ah + 1);
  toEnd.push([ah, 'jf']);
  // A = next header; X = (AH length + 2) * 4 (libpcap's arithmetic, kept as it is).
  at({ code: BPF_MISC | BPF_TXA, k: 0 });
  at({ code: BPF_LD | BPF_IND | BPF_B, k: nl });
  at({ code: BPF_ST, k: reg });
  at({ code: BPF_MISC | BPF_TXA, k: 0 });
  at({ code: BPF_ALU | BPF_ADD | BPF_K, k: 1 });
  at({ code: BPF_MISC | BPF_TAX, k: 0 });
  at({ code: BPF_LD | BPF_IND | BPF_B, k: nl });
  at({ code: BPF_ALU | BPF_ADD | BPF_K, k: 2 });
  at({ code: BPF_ALU | BPF_MUL | BPF_K, k: 4 });
  at({ code: BPF_MISC | BPF_TAX, k: 0 });
  at({ code: BPF_LD | BPF_MEM, k: reg });
  const back = at({ code: BPF_JMP | BPF_JA, k: 0 });
  s[back]!.k = (again - back - 1) >>> 0;
  const end = at({ code: BPF_ALU | BPF_ADD | BPF_K, k: 0 });
  for (const [from, side] of toEnd) link(from, side, end);
  return block(s, BPF_JMP | BPF_JEQ | BPF_K, v);
}
