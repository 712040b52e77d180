/**
 * `geneve [VNI]` as libpcap 1.10's gen_geneve compiles it: UDP to port 6081 over IPv4 or IPv6, Geneve
 * version 0, the VNI when given; then every later primitive reads the encapsulated frame. Its start
 * depends on the packet (the IPv4 header's length, the Geneve options' length), so the code computes
 * three offsets into scratch slots: the Geneve protocol type (or the inner Ethernet type), the end of the
 * Geneve header (the inner link header) and the inner network layer (14 bytes further when the protocol
 * type is 0x6558, Transparent Ethernet Bridging). The computation ends in a jump inside a block, so,
 * as in libpcap, an expression with `geneve` is not optimized.
 */
import {
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_H,
  BPF_IMM,
  BPF_IND,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MEM,
  BPF_MISC,
  BPF_MUL,
  BPF_ST,
  BPF_STX,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
} from '../cbpf/insn.js';
import { always, and, block, or, type Frag, type Stmt } from './blocks.js';
import { FilterSyntaxError } from './errors.js';
import { GENEVE_REGS, unsupported, type Gen } from './gencode.js';

const GENEVE_PORT = 6081;
const IPPROTO_UDP = 17;
/** Transparent Ethernet Bridging: an Ethernet frame follows the Geneve header. */
const ETHERTYPE_TEB = 0x6558;
const UDP_HEADER = 8;
const IPV6_HEADER = 40;

/** A field of the Geneve header over IPv4 (`off` bytes past the UDP header's start), compared under `mask`. */
function field4(gen: Gen, off: number, size: number, k: number, mask: number): Frag {
  const stmts: Stmt[] = [
    ...gen.loadxIphdrlen(),
    { code: BPF_LD | BPF_IND | size, k: gen.offLinkpl + off },
    { code: BPF_ALU | BPF_AND | BPF_K, k: mask },
  ];
  return block(stmts, BPF_JMP | BPF_JEQ | BPF_K, k);
}

/** Version 0 (the top two bits of the first byte) and, when given, the VNI (the top 24 bits of the second word). */
function check(gen: Gen, ipv6: boolean, vni: number | undefined): Frag {
  const fieldAt = (off: number, size: number, k: number, mask: number): Frag =>
    ipv6 ? gen.nl(IPV6_HEADER + off, size, k, BPF_JEQ, mask) : field4(gen, off, size, k, mask);
  let f = and(
    gen.portFamily(GENEVE_PORT, GENEVE_PORT, false, IPPROTO_UDP, ipv6, 'dst'),
    fieldAt(UDP_HEADER, BPF_B, 0, 0xc0),
  );
  if (vni !== undefined) {
    if (vni > 0xffffff) throw new FilterSyntaxError(`Geneve VNI ${vni} greater than maximum 16777215`, 0);
    f = and(f, fieldAt(UDP_HEADER + 4, BPF_W, (vni << 8) >>> 0, 0xffffff00));
  }
  // A = the IP header's length, left for the offset computation by a test that always holds (A == X).
  const len: Stmt[] = ipv6
    ? [
        { code: BPF_LD | BPF_IMM, k: IPV6_HEADER },
        { code: BPF_MISC | BPF_TAX, k: 0 },
      ]
    : [...gen.loadxIphdrlen(), { code: BPF_MISC | BPF_TXA, k: 0 }];
  return and(f, block(len, BPF_JMP | BPF_JEQ | BPF_X, 0));
}

/** From A = the IP header's length: the three offsets into their slots (libpcap's gen_geneve_offsets). */
function offsets(gen: Gen): Stmt[] {
  const [nlReg, ltReg, hdrReg] = GENEVE_REGS;
  const alu = (op: number, k: number): Stmt => ({ code: BPF_ALU | op | BPF_K, k });
  return [
    alu(BPF_ADD, gen.offLinkpl + UDP_HEADER), // the Geneve header
    { code: BPF_MISC | BPF_TAX, k: 0 },
    alu(BPF_ADD, 2), // its protocol type
    { code: BPF_ST, k: ltReg },
    { code: BPF_LD | BPF_IND | BPF_B, k: 0 }, // options length, in 4-byte words
    alu(BPF_AND, 0x3f),
    alu(BPF_MUL, 4),
    alu(BPF_ADD, 8),
    { code: BPF_ALU | BPF_ADD | BPF_X, k: 0 },
    { code: BPF_ST, k: hdrReg }, // the end of the Geneve header
    { code: BPF_LD | BPF_IND | BPF_H, k: 2 },
    { code: BPF_LDX | BPF_MEM, k: hdrReg },
    { code: BPF_JMP | BPF_JEQ | BPF_K, k: ETHERTYPE_TEB, jt: 0, jf: 5 },
    { code: BPF_MISC | BPF_TXA, k: 0 }, // an Ethernet frame: its type, and its payload 14 bytes in
    alu(BPF_ADD, 12),
    { code: BPF_ST, k: ltReg },
    alu(BPF_ADD, 2),
    { code: BPF_MISC | BPF_TAX, k: 0 },
    { code: BPF_STX, k: nlReg },
  ];
}

/** `geneve [VNI]`: the test, and from here on the offsets of the encapsulated frame. */
export function geneve(gen: Gen, vni: number | undefined): Frag {
  if (gen.inGeneve) throw unsupported("'geneve' inside 'geneve'");
  if (gen.mplsDepth > 0) throw unsupported("'geneve' after 'mpls'");
  if (gen.nlVar || gen.varLinkpl()) throw unsupported(`'geneve' on ${gen.link.name} captures`);
  const found = or(check(gen, false, vni), check(gen, true, vni));
  const moved = always();
  moved.head.stmts.unshift(...offsets(gen));
  const f = and(found, moved);
  gen.nlReg = GENEVE_REGS[0];
  gen.ltReg = GENEVE_REGS[1];
  gen.hdrReg = GENEVE_REGS[2];
  gen.offLinkpl = 0;
  gen.offLinktype = 0;
  gen.kind = 'ether';
  gen.inGeneve = true;
  gen.noOptimize = true;
  return f;
}
