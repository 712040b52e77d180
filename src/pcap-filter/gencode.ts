/**
 * The primitives of pcap-filter(7) as classic BPF fragments, with libpcap 1.10's gencode.c semantics:
 * the same checks in the same order (which matters: a load past the packet's end rejects the packet
 * wherever it happens, so two programs agree only if they load the same bytes on the same paths), the
 * same IPv4 fragment test before transport fields, IPv6 next-header with one fragment header and no
 * other extension-header walking, and `vlan`/`mpls`/`pppoes` moving every later offset, globally and
 * in parse order, as libpcap does.
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_H,
  BPF_IMM,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_MSH,
  BPF_IND,
  BPF_W,
  BPF_X,
  BPF_MISC,
  BPF_TAX,
  BPF_OR,
  BPF_MEM,
  BPF_LSH,
  BPF_ADD,
} from '../cbpf/insn.js';
import { and, block, never, always, not, or, type Frag, type Stmt } from './blocks.js';
import { FilterSyntaxError } from './errors.js';
import type { LinkKind, LinkType } from './linktypes.js';
import { foldAlu } from './fold.js';
import { protochainBlock } from './protochain.js';
import { isWlan, wlanBroadcast, wlanDataFrame, wlanHost, wlanMulticast, WLAN_HDR_REG, WLAN_PL_REG } from './wlan.js';

/** libpcap's protocol qualifiers (`ip`, `tcp`, `link`...) or `default`. */
export type Proto = string;
/** Direction qualifier: `default`, `src`, `dst`, `or` (src or dst), `and` (src and dst), or an 802.11 one. */
export type Dir = string;

export const ETHERTYPE = {
  ip: 0x0800,
  arp: 0x0806,
  rarp: 0x8035,
  ip6: 0x86dd,
  vlan: 0x8100,
  qinq: 0x88a8,
  qinqOld: 0x9100,
  mpls: 0x8847,
  pppoed: 0x8863,
  pppoes: 0x8864,
  decnet: 0x6003,
  lat: 0x6004,
  sca: 0x6007,
  moprc: 0x6002,
  mopdl: 0x6001,
  atalk: 0x809b,
  aarp: 0x80f3,
  ipx: 0x8137,
} as const;

/** LLC SAPs libpcap's gen_linktype treats specially (LLCSAP_IPX; the ISO/IP/NetBEUI ones test DSAP and SSAP). */
const LLCSAP_IPX = 0xe0;
/** Linux cooked v1's protocol values for 802.3 frames without LLC (Novell raw IPX) and with an 802.2 LLC header. */
const SLL_P_802_3 = 0x0001;
const SLL_P_802_2 = 0x0004;

const IPPROTO = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  igrp: 9,
  udp: 17,
  ah: 51,
  esp: 50,
  icmp6: 58,
  pim: 103,
  vrrp: 112,
  sctp: 132,
  frag: 44,
};
const ETHERMTU = 1500;
/** The OSI network protocols (ISO9542_ESIS, ISO10589_ISIS, ISO8473_CLNP). */
const ISO: Record<string, number> = { esis: 0x82, isis: 0x83, clnp: 0x81 };
/**
 * IS-IS PDU types of the `l1`, `l2`, `iih`, `lsp`, `snp`, `csnp`, `psnp` primitives, in gencode.c's order
 * (L1/L2 LAN IIH 15/16, point-to-point IIH 17, L1/L2 LSP 18/20, L1/L2 CSNP 24/25, L1/L2 PSNP 26/27).
 */
const ISIS_PDUS: Record<string, number[]> = {
  l1: [15, 17, 18, 24, 26],
  l2: [16, 17, 20, 25, 27],
  iih: [15, 16, 17],
  lsp: [18, 20],
  snp: [24, 25, 26, 27],
  csnp: [24, 25],
  psnp: [26, 27],
};
/** The scratch slot holding a variable network-layer offset (PFLOG); arithmetic uses the slots below it. */
export const VAR_NL_REG = 15;
/** The scratch slots `geneve` keeps its offsets in (network layer, protocol type, link header); arithmetic uses those below. */
export const GENEVE_REGS = [12, 13, 14] as const;
/** Linux's AF_INET6, which libpcap compiled here writes for IPv6 in PFLOG headers. */
const AF_INET6 = 10;

/** A value computed into A by straight-line code, guarded by the protocol checks its loads need. */
/**
 * An arithmetic value's statements as a tree of arrays, in order: each operator joins its operands'
 * trees in O(1) rather than copying them, and relation() flattens the whole once. Copying at every level
 * made `ip[ip[ip[...]]]` (1,000 deep) cost time and garbage quadratic in its depth.
 */
export type StmtTree = readonly (Stmt | StmtTree)[];

/** The statements of `tree` in order, in one array (iteratively: a tree may be thousands deep). */
export function flatten(tree: StmtTree): Stmt[] {
  const out: Stmt[] = [];
  const stack: { t: StmtTree; i: number }[] = [{ t: tree, i: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i === top.t.length) {
      stack.pop();
      continue;
    }
    const x = top.t[top.i++]!;
    if (Array.isArray(x)) stack.push({ t: x as StmtTree, i: 0 });
    else out.push(x as Stmt);
  }
  return out;
}

export interface Arith {
  stmts: StmtTree;
  conds: Frag | null;
  /** Value known at compile time (no loads). */
  konst?: number;
  /**
   * The constant libpcap's first statement for this value loads (`ld #k`): its leftmost number as written,
   * also inside an index (`ip[35]`, `(40 - len)`). libpcap's gen_arth checks the right operand's first
   * statement for division by zero and shifts above 31, so those refusals follow this, not the value.
   */
  lead?: number;
  /** Scratch slots M[0..regs-1] this computation uses. */
  regs: number;
}

const ld = (size: number, k: number): Stmt => ({ code: BPF_LD | size | BPF_ABS, k: k >>> 0 });

/** The code generator's state: link type and the offsets vlan/mpls/pppoes have moved. */
export class Gen {
  kind: LinkKind;
  offLinktype: number;
  offLinkpl: number;
  /** Where `ether[]` (the link header) starts: 0 until pppoes makes the PPP header the link header. */
  offLinkhdr = 0;
  mplsDepth = 0;
  vlanDepth = 0;
  readonly link: LinkType;
  readonly netmask: number;

  readonly savefile: boolean;
  /**
   * Scratch slots holding the variable part of an offset, or null where it is constant: the network
   * layer's (PFLOG's prologue puts it in M[VAR_NL_REG]; `geneve` computes one), the protocol field's and
   * the link header's (both moved by `geneve`). Loads relative to them are `ldx M[r]; ld [x + k]`.
   */
  nlReg: number | null = null;
  ltReg: number | null = null;
  hdrReg: number | null = null;
  /** After `geneve`: the inner frame's protocol is also checked in the Geneve header's protocol type. */
  inGeneve = false;
  /** Some load used PFLOG's variable offset, so the program needs the prologue computing it. */
  nlVarUsed = false;
  /** Some load used the 802.11 payload's offset, so the program needs wlanPayloadPrologue. */
  wlanPayloadUsed = false;
  /** Where the LLC header starts relative to the network layer (libpcap's -off_nl: 0, or -8 on 802.11). */
  llcDelta = 0;
  /** Set by protochain: its loop defeats the optimizer, which libpcap then skips for the whole expression. */
  noOptimize = false;
  /** libpcap's alloc_reg cursor, for the scratch slot protochain takes (the default form leaks one). */
  private protoReg = 0;

  constructor(link: LinkType, netmask = 0, savefile = true) {
    this.savefile = savefile;
    this.link = link;
    this.kind = link.kind;
    this.offLinktype = link.offLinktype;
    this.offLinkpl = link.offLinkpl;
    if (link.kind === 'pflog') {
      this.nlReg = VAR_NL_REG;
      this.offLinkpl = 0;
    }
    if (isWlan(link)) {
      // libpcap's 802.11 offsets: the LLC header where the prologue says (M[WLAN_PL_REG]), the network
      // layer 8 bytes on (past LLC and SNAP), the SNAP protocol type 2 bytes before it.
      this.nlReg = WLAN_PL_REG;
      this.ltReg = WLAN_PL_REG;
      this.offLinkpl = 8;
      this.offLinktype = 6;
      this.llcDelta = -8;
      if (link.kind === 'radiotap') this.hdrReg = WLAN_HDR_REG;
    }
    // RFC 1483 ATM: the LLC header starts 8 bytes before the network layer, as on 802.11 but at a constant offset.
    if (link.kind === 'atm') this.llcDelta = -8;
    this.netmask = netmask >>> 0;
  }

  /** The network layer's offset varies per packet (PFLOG, after `geneve`): its loads are X-relative. */
  get nlVar(): boolean {
    return this.nlReg !== null;
  }

  /** Load `size` at `off` past the variable offset in M[reg] (absolute when reg is null). */
  relLoad(reg: number | null, off: number, size: number): Stmt[] {
    if (reg === null) return [ld(size, off)];
    this.useReg(reg);
    return [
      { code: BPF_LDX | BPF_MEM, k: reg },
      { code: BPF_LD | BPF_IND | size, k: off >>> 0 },
    ];
  }

  /** Note a load relative to the variable offset in M[reg]: its prologue is needed (and on 802.11 the optimizer is off). */
  private useReg(reg: number): void {
    if (this.link.kind === 'pflog' && reg === VAR_NL_REG) this.nlVarUsed = true;
    if (isWlan(this.link) && reg === WLAN_PL_REG) {
      this.wlanPayloadUsed = true;
      this.noOptimize = true;
    }
  }

  /** Compare the field `delta` bytes into the link-layer protocol field (libpcap's OR_LINKTYPE). */
  ltCmp(delta: number, size: number, k: number, op = BPF_JEQ, mask = 0xffffffff): Frag {
    const stmts = this.relLoad(this.ltReg, this.offLinktype + delta, size);
    if (mask >>> 0 !== 0xffffffff) stmts.push({ code: BPF_ALU | BPF_AND | BPF_K, k: mask >>> 0 });
    return block(stmts, BPF_JMP | op | BPF_K, k);
  }

  /** Compare the field at `off` of the link header (libpcap's OR_LINKHDR: past geneve, the inner frame's). */
  hdrCmp(off: number, size: number, k: number, op = BPF_JEQ, mask = 0xffffffff): Frag {
    const stmts = this.relLoad(this.hdrReg, off, size);
    if (mask >>> 0 !== 0xffffffff) stmts.push({ code: BPF_ALU | BPF_AND | BPF_K, k: mask >>> 0 });
    return block(stmts, BPF_JMP | op | BPF_K, k);
  }

  /** Compare the field at absolute `off` of `size` (masked) with `k` using jump `op`. */
  cmp(off: number, size: number, k: number, op = BPF_JEQ, mask = 0xffffffff): Frag {
    const stmts: Stmt[] = [ld(size, off)];
    if (mask >>> 0 !== 0xffffffff) stmts.push({ code: BPF_ALU | BPF_AND | BPF_K, k: mask >>> 0 });
    return block(stmts, BPF_JMP | op | BPF_K, k);
  }

  /** Link-layer protocol test (libpcap's gen_linktype). */
  linktype(proto: number): Frag {
    if (this.mplsDepth > 0) return this.mplsLinktype(proto);
    switch (this.kind) {
      case 'ether':
        return this.etherLinktype(proto);
      case 'sll':
        if (proto === LLCSAP_IPX) {
          const llc = or(this.nl(0, BPF_B, LLCSAP_IPX), this.snap(0, ETHERTYPE.ipx));
          const ll = or(this.ltCmp(0, BPF_H, SLL_P_802_3), and(this.ltCmp(0, BPF_H, SLL_P_802_2), llc));
          return or(this.ltCmp(0, BPF_H, ETHERTYPE.ipx), ll);
        }
        if (proto === ETHERTYPE.atalk || proto === ETHERTYPE.aarp) {
          const snap = this.snap(proto === ETHERTYPE.atalk ? 0x080007 : 0, proto);
          return or(this.ltCmp(0, BPF_H, proto), and(this.ltCmp(0, BPF_H, SLL_P_802_2), snap));
        }
        // An LLC SAP under Linux cooked v1: protocol 802.2 (4), then the DSAP (and SSAP for OSI/NetBEUI).
        if (proto <= ETHERMTU) {
          const both = proto === 0xfe || proto === 0x06 || proto === 0xf0;
          const sap = both
            ? this.cmp(this.offLinkpl, BPF_H, (proto << 8) | proto)
            : this.cmp(this.offLinkpl, BPF_B, proto);
          return and(this.ltCmp(0, BPF_H, 4), sap);
        }
        return this.ltCmp(0, BPF_H, proto);
      case 'sll2':
        return this.ltCmp(0, BPF_H, proto);
      case 'ppp': {
        // libpcap's ethertype_to_ppptype: IP, IPv6, DECnet, OSI (ISO NS SAP) and bridge PDUs (STP SAP).
        const PPP: Record<number, number> = {
          [ETHERTYPE.ip]: 0x21,
          [ETHERTYPE.ip6]: 0x57,
          [ETHERTYPE.decnet]: 0x27,
          0xfe: 0x23,
          0x42: 0x31,
          [ETHERTYPE.atalk]: 0x29,
          [LLCSAP_IPX]: 0x2b,
        };
        const ppp = PPP[proto] ?? proto;
        return this.ltCmp(0, BPF_H, ppp);
      }
      case 'raw':
        if (proto === ETHERTYPE.ip) return this.cmp(0, BPF_B, 0x40, BPF_JEQ, 0xf0);
        if (proto === ETHERTYPE.ip6) return this.cmp(0, BPF_B, 0x60, BPF_JEQ, 0xf0);
        return never();
      case 'ipv4':
        return proto === ETHERTYPE.ip ? always() : never();
      case 'ipv6':
        return proto === ETHERTYPE.ip6 ? always() : never();
      case 'null':
      case 'loop': {
        if (proto === ETHERTYPE.ip6 && this.savefile) {
          // A file may come from any OS: libpcap accepts the BSDs' AF_INET6 values (FreeBSD 28, OpenBSD/NetBSD 24, macOS 30).
          const fam = (af: number): Frag => this.cmp(0, BPF_W, this.kind === 'null' ? ((af & 0xff) << 24) >>> 0 : af);
          return or(or(fam(30), fam(24)), fam(28));
        }
        const af = proto === ETHERTYPE.ip ? 2 : proto === ETHERTYPE.ip6 ? 10 : -1;
        if (af < 0) return never();
        // DLT_NULL holds the family in the capturing host's order (little-endian here); DLT_LOOP in network order.
        const k = this.kind === 'null' ? ((af & 0xff) << 24) >>> 0 : af;
        return this.cmp(0, BPF_W, k);
      }
      case 'pflog':
        // The header's address family (libpcap compiled on Linux compares with Linux's AF_INET6).
        if (proto === ETHERTYPE.ip) return this.cmp(1, BPF_B, 2);
        if (proto === ETHERTYPE.ip6) return this.cmp(1, BPF_B, AF_INET6);
        return never();
      case 'ieee80211':
      case 'radiotap':
        return and(wlanDataFrame(this.link), this.llcLinktype(proto));
      case 'atm':
        return this.llcLinktype(proto);
      case 'juniper':
        // libpcap only checks the Juniper header's magic ("MGC", the low byte is flags), whatever the protocol.
        return this.hdrCmp(0, BPF_W, 0x4d474300, BPF_JEQ, 0xffffff00);
      case 'chdlc':
        // An Ethernet type; OSI (the ISO NS SAP) as its SAP doubled, as Cisco HDLC carries it.
        return this.ltCmp(0, BPF_H, proto === 0xfe ? 0xfefe : proto);
      case 'slip':
        // No protocol field: the IP version nibble, as on raw IP, read by libpcap 1.10 at offset 0 (in the
        // pseudo-header, not the IP header 16 bytes on): reproduced, since verdicts must be libpcap's.
        if (proto === ETHERTYPE.ip) return this.hdrCmp(0, BPF_B, 0x40, BPF_JEQ, 0xf0);
        if (proto === ETHERTYPE.ip6) return this.hdrCmp(0, BPF_B, 0x60, BPF_JEQ, 0xf0);
        return never();
      case 'frelay':
        // Q.933's control byte 0x03 and the NLPID (IP 0xcc, IPv6 0x8e; OSI's CLNP, ES-IS, IS-IS in that order).
        if (proto === ETHERTYPE.ip) return this.hdrCmp(2, BPF_H, 0x03cc);
        if (proto === ETHERTYPE.ip6) return this.hdrCmp(2, BPF_H, 0x038e);
        if (proto === 0xfe) {
          const isis = or(this.hdrCmp(2, BPF_H, 0x0300 | ISO.esis!), this.hdrCmp(2, BPF_H, 0x0300 | ISO.isis!));
          return or(this.hdrCmp(2, BPF_H, 0x0300 | ISO.clnp!), isis);
        }
        return never();
      case 'ipnet':
        // The ipnet header's address family (IPH_AF_INET 2, IPH_AF_INET6 26).
        if (proto === ETHERTYPE.ip) return this.ltCmp(0, BPF_B, 2);
        if (proto === ETHERTYPE.ip6) return this.ltCmp(0, BPF_B, 26);
        return never();
      case 'arcnet': {
        // ARCNET protocol IDs, the RFC 1201 one tested before the RFC 1051 ("old") one where both exist.
        const ids: Record<number, number[]> = {
          [ETHERTYPE.ip]: [0xd4, 0xf0],
          [ETHERTYPE.ip6]: [0xc4],
          [ETHERTYPE.arp]: [0xd5, 0xf1],
          [ETHERTYPE.rarp]: [0xd6],
          [ETHERTYPE.atalk]: [0xdd],
        };
        const want = ids[proto];
        if (!want) return never();
        const [first, old] = want;
        const f = this.ltCmp(0, BPF_B, first!);
        return old === undefined ? f : or(f, this.ltCmp(0, BPF_B, old));
      }
    }
  }

  /** libpcap's gen_ether_linktype: Ethernet II types, and 802.3 frames' LLC SAPs and SNAP headers. */
  private etherLinktype(proto: number): Frag {
    if (proto === LLCSAP_IPX) {
      // Novell's four framings: Ethernet II type, or on 802.3 frames SNAP with the IPX type, the IPX SAP,
      // or raw 802.3 (the payload starts with 0xffff).
      const llc = or(or(this.snap(0, ETHERTYPE.ipx), this.nl(0, BPF_B, LLCSAP_IPX)), this.nl(0, BPF_H, 0xffff));
      const on8023 = and(not(this.ltCmp(0, BPF_H, ETHERMTU, BPF_JGT)), llc);
      return or(this.ltCmp(0, BPF_H, ETHERTYPE.ipx), on8023);
    }
    if (proto === ETHERTYPE.atalk || proto === ETHERTYPE.aarp) {
      // EtherTalk: the Ethernet type, or on 802.3 frames SNAP (Apple's OUI for AppleTalk, 0 for AARP).
      const snap = this.snap(proto === ETHERTYPE.atalk ? 0x080007 : 0, proto);
      const on8023 = and(not(this.ltCmp(0, BPF_H, ETHERMTU, BPF_JGT)), snap);
      return or(this.ltCmp(0, BPF_H, proto), on8023);
    }
    if (proto === 0xfe || proto === 0x06 || proto === 0xf0) {
      return and(not(this.ltCmp(0, BPF_H, ETHERMTU, BPF_JGT)), this.nl(0, BPF_H, (proto << 8) | proto));
    }
    if (proto <= ETHERMTU) {
      return and(not(this.ltCmp(0, BPF_H, ETHERMTU, BPF_JGT)), this.ltCmp(2, BPF_B, proto));
    }
    return this.ltCmp(0, BPF_H, proto);
  }

  /**
   * libpcap's gen_llc_linktype, for 802.11 data frames: an LLC SAP (both SAPs for ISO, IP and NetBEUI),
   * AppleTalk's SNAP header, or the protocol type of a SNAP header (not otherwise checked, as libpcap).
   */
  private llcLinktype(proto: number): Frag {
    const llc = this.llcDelta;
    if (proto === 0xfe || proto === 0x06 || proto === 0xf0) return this.nl(llc, BPF_H, (proto << 8) | proto);
    if (proto === ETHERTYPE.atalk) return this.snap(0x080007, ETHERTYPE.atalk);
    if (proto <= ETHERMTU) return this.nl(llc, BPF_B, proto);
    return this.ltCmp(0, BPF_H, proto);
  }

  /** An 802.2 LLC/SNAP header with `orgcode` and `ptype` at the network layer's start (libpcap's gen_snap). */
  private snap(orgcode: number, ptype: number): Frag {
    const hdr = [
      0xaa,
      0xaa,
      0x03,
      (orgcode >> 16) & 0xff,
      (orgcode >> 8) & 0xff,
      orgcode & 0xff,
      ptype >> 8,
      ptype & 0xff,
    ];
    return this.bcmp(this.llcDelta, new Uint8Array(hdr), 'nl');
  }

  private mplsLinktype(proto: number): Frag {
    const bos = this.cmp(this.offLinkpl - 4 + 2, BPF_B, 0x01, BPF_JEQ, 0x01);
    if (proto === ETHERTYPE.ip) return and(bos, this.nl(0, BPF_B, 0x40, BPF_JEQ, 0xf0));
    if (proto === ETHERTYPE.ip6) return and(bos, this.nl(0, BPF_B, 0x60, BPF_JEQ, 0xf0));
    throw new FilterSyntaxError('unsupported protocol over mpls', 0);
  }

  /** `ip proto N`, `ip6 proto N`, `proto N` (libpcap's gen_proto). */
  proto(v: number, proto: Proto, dir: Dir): Frag {
    if (dir !== 'default') throw new FilterSyntaxError("direction applied to 'proto'", 0);
    switch (proto) {
      case 'default':
        return or(this.proto(v, 'ip', dir), this.proto(v, 'ip6', dir));
      case 'link':
        return this.linktype(v);
      case 'ip':
        return and(this.linktype(ETHERTYPE.ip), this.nl(9, BPF_B, v));
      case 'ip6': {
        const direct = this.nl(6, BPF_B, v);
        const viaFrag = and(this.nl(6, BPF_B, IPPROTO.frag), this.nl(40, BPF_B, v));
        return and(this.linktype(ETHERTYPE.ip6), or(direct, viaFrag));
      }
      case 'iso':
        // Frame Relay names the OSI protocol in its NLPID, with no other check.
        if (this.kind === 'frelay') return this.hdrCmp(2, BPF_H, 0x0300 | v);
        // The OSI protocol byte follows the 3-byte LLC header on Ethernet (libpcap's off_nl_nosnap); Cisco
        // HDLC has one byte (the NLPID) before it, counted here but not in the IS-IS offsets below.
        return and(this.linktype(0xfe), this.nl(this.nlNosnap() + (this.kind === 'chdlc' ? 1 : 0), BPF_B, v));
      case 'isis':
        // The IS-IS PDU type, 4 bytes into the IS-IS header.
        return and(this.proto(ISO.isis!, 'iso', 'default'), this.nl(this.nlNosnap() + 4, BPF_B, v));
      case 'arp':
      case 'rarp':
        throw new FilterSyntaxError(`${proto} does not encapsulate another protocol`, 0);
      default:
        throw new FilterSyntaxError(`'${proto} proto' is bogus`, 0);
    }
  }

  /** `[ip|ip6] protochain N` (libpcap's gen_protochain). */
  protochain(v: number, proto: Proto): Frag {
    if (this.varLinkpl()) throw new FilterSyntaxError("'protochain' not supported with variable length headers", 0);
    this.noOptimize = true;
    if (proto === 'default') {
      // libpcap takes a slot here and never gives it back: each default protochain moves to the next.
      if (++this.protoReg >= 16) throw new FilterSyntaxError('too many registers needed to evaluate expression', 0);
      return or(this.protochain(v, 'ip'), this.protochain(v, 'ip6'));
    }
    if (proto !== 'ip' && proto !== 'ip6') throw new FilterSyntaxError("bad protocol applied for 'protochain'", 0);
    const head = this.linktype(proto === 'ip' ? ETHERTYPE.ip : ETHERTYPE.ip6);
    return and(head, protochainBlock(v, proto, this.offLinkpl, this.protoReg));
  }

  /** Scratch slots arithmetic may use: all 16, less the one a variable offset takes. */
  private maxRegs(): number {
    if (isWlan(this.link)) return WLAN_HDR_REG;
    return this.inGeneve ? GENEVE_REGS[0] : this.nlVar ? VAR_NL_REG : 16;
  }

  /** Where an LLC payload without SNAP starts in the network layer (libpcap's off_nl_nosnap): past DSAP, SSAP, control on Ethernet. */
  private nlNosnap(): number {
    // Solaris ipnet leaves it unset (libpcap's OFFSET_NOT_SET, -1), which its never-matching OSI tests still load.
    if (this.kind === 'ipnet') return -1;
    if (this.kind === 'juniper') return this.link.nosnap!;
    return this.kind === 'ether' ? 3 : isWlan(this.link) || this.kind === 'atm' ? this.llcDelta + 3 : 0;
  }

  /** Whether the network layer sits at an offset only known per packet (libpcap's off_linkpl.is_variable). */
  varLinkpl(): boolean {
    return this.nlVar || this.kind === 'ieee80211' || this.kind === 'radiotap';
  }

  /** A protocol name standing alone: `tcp`, `ip6`, `arp`... (libpcap's gen_proto_abbrev). */
  protoAbbrev(name: Proto): Frag {
    switch (name) {
      case 'ip':
      case 'ip6':
      case 'arp':
      case 'rarp':
      case 'decnet':
      case 'lat':
      case 'sca':
      case 'moprc':
      case 'mopdl':
        return this.linktype(ETHERTYPE[name]);
      case 'tcp':
      case 'udp':
      case 'sctp':
      case 'pim':
      case 'ah':
      case 'esp':
        return this.proto(IPPROTO[name], 'default', 'default');
      case 'icmp':
      case 'igmp':
      case 'igrp':
      case 'vrrp':
        return this.proto(IPPROTO[name], 'ip', 'default');
      case 'carp':
        return this.proto(IPPROTO.vrrp, 'ip', 'default');
      case 'icmp6':
        return this.proto(IPPROTO.icmp6, 'ip6', 'default');
      case 'iso':
        return this.linktype(0xfe);
      case 'atalk':
        return this.linktype(ETHERTYPE.atalk);
      case 'aarp':
        return this.linktype(ETHERTYPE.aarp);
      case 'ipx':
        return this.linktype(LLCSAP_IPX);
      case 'esis':
      case 'isis':
      case 'clnp':
        return this.proto(ISO[name]!, 'iso', 'default');
      case 'l1':
      case 'l2':
      case 'iih':
      case 'lsp':
      case 'snp':
      case 'csnp':
      case 'psnp': {
        // Each PDU-type family, or'ed in libpcap's order (each new type goes in front).
        const types = ISIS_PDUS[name]!;
        let f = or(this.proto(types[0]!, 'isis', 'default'), this.proto(types[1]!, 'isis', 'default'));
        for (const t of types.slice(2)) f = or(this.proto(t, 'isis', 'default'), f);
        return f;
      }
      case 'stp':
        return this.linktype(0x42);
      case 'netbeui':
        return this.linktype(0xf0);
      case 'link':
        throw new FilterSyntaxError('link layer applied in wrong context', 0);
      case 'radio':
        throw new FilterSyntaxError("'radio' is not a valid protocol type", 0);
      default:
        throw unsupported(`'${name}'`);
    }
  }

  /** IPv4 host or network (libpcap's gen_host). */
  host(addr: number, mask: number, proto: Proto, dir: Dir, what: string): Frag {
    switch (proto) {
      case 'default': {
        const ip = this.host(addr, mask, 'ip', dir, what);
        if (this.mplsDepth > 0) return ip;
        return or(or(ip, this.host(addr, mask, 'arp', dir, what)), this.host(addr, mask, 'rarp', dir, what));
      }
      case 'ip':
        return this.hostop(addr, mask, dir, ETHERTYPE.ip, 12, 16);
      case 'arp':
        return this.hostop(addr, mask, dir, ETHERTYPE.arp, 14, 24);
      case 'rarp':
        return this.hostop(addr, mask, dir, ETHERTYPE.rarp, 14, 24);
      case 'decnet':
        return this.dnhost(addr, dir);
      case 'link':
        throw new FilterSyntaxError(`link-layer modifier applied to ${what}`, 0);
      case 'ip6':
        throw new FilterSyntaxError("'ip6' modifier applied to ip host", 0); // libpcap's words, for nets too
      default:
        throw new FilterSyntaxError(`'${proto}' modifier applied to ${what}`, 0);
    }
  }

  private hostop(addr: number, mask: number, dir: Dir, ethertype: number, src: number, dst: number): Frag {
    switch (dir) {
      case 'src':
      case 'dst':
        return and(
          this.linktype(ethertype),
          this.nl(dir === 'src' ? src : dst, BPF_W, (addr & mask) >>> 0, BPF_JEQ, mask),
        );
      case 'and':
        return and(
          this.hostop(addr, mask, 'src', ethertype, src, dst),
          this.hostop(addr, mask, 'dst', ethertype, src, dst),
        );
      case 'default':
      case 'or':
        return or(
          this.hostop(addr, mask, 'src', ethertype, src, dst),
          this.hostop(addr, mask, 'dst', ethertype, src, dst),
        );
      default:
        throw dirOnlyFor80211(dir);
    }
  }

  /**
   * `decnet src|dst|host AREA.NODE` (libpcap's gen_dnhostop): the address, byte-swapped as libpcap stores it,
   * at the place each of the four DECnet routing-header forms puts it (short or long header, with or
   * without a pad byte), tried short-without-pad first.
   */
  private dnhost(addr: number, dir: Dir): Frag {
    if (dir === 'and') return and(this.dnhost(addr, 'src'), this.dnhost(addr, 'dst'));
    if (dir === 'default' || dir === 'or') return or(this.dnhost(addr, 'src'), this.dnhost(addr, 'dst'));
    if (dir !== 'src' && dir !== 'dst') throw dirOnlyFor80211(dir);
    const [short, long] = dir === 'dst' ? [1, 7] : [3, 15];
    const k = ((addr & 0xff) << 8) | ((addr >> 8) & 0xff);
    const form = (flags: Frag, off: number): Frag => and(flags, this.nl(off, BPF_H, k));
    // The flags byte (after the 2-byte length, and a pad byte 0x81 when the first flag bit says so).
    let f = form(this.nl(2, BPF_H, 0x8106, BPF_JEQ, 0xff07), 3 + long);
    f = or(form(this.nl(2, BPF_B, 0x06, BPF_JEQ, 0x07), 2 + long), f);
    f = or(form(this.nl(2, BPF_H, 0x8102, BPF_JEQ, 0xff07), 3 + short), f);
    f = or(form(this.nl(2, BPF_B, 0x02, BPF_JEQ, 0x07), 2 + short), f);
    return and(this.linktype(ETHERTYPE.decnet), f);
  }

  /** IPv6 host or network (libpcap's gen_host6). */
  host6(addr: Uint8Array, mask: Uint8Array, proto: Proto, dir: Dir, what: string): Frag {
    if (proto !== 'default' && proto !== 'ip6') {
      if (proto === 'link') throw new FilterSyntaxError(`link-layer modifier applied to ip6 ${what}`, 0);
      throw new FilterSyntaxError(`'${proto}' modifier applied to ip6 ${what}`, 0);
    }
    return this.hostop6(addr, mask, dir);
  }

  private hostop6(addr: Uint8Array, mask: Uint8Array, dir: Dir): Frag {
    if (dir === 'and') return and(this.hostop6(addr, mask, 'src'), this.hostop6(addr, mask, 'dst'));
    if (dir === 'default' || dir === 'or') return or(this.hostop6(addr, mask, 'src'), this.hostop6(addr, mask, 'dst'));
    if (dir !== 'src' && dir !== 'dst') throw dirOnlyFor80211(dir);
    const base = dir === 'src' ? 8 : 24;
    const word = (b: Uint8Array, i: number): number =>
      ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    let f = this.linktype(ETHERTYPE.ip6);
    for (let i = 0; i < 16; i += 4) {
      const m = word(mask, i);
      f = and(f, this.nl(base + i, BPF_W, (word(addr, i) & m) >>> 0, BPF_JEQ, m));
    }
    return f;
  }

  /** Compare `bytes` at absolute `off`, last word first, as libpcap's gen_bcmp. */
  bcmp(off: number, bytes: Uint8Array, rel: 'hdr' | 'nl' = 'hdr'): Frag {
    const cmp = (o: number, size: number, k: number): Frag =>
      rel === 'nl' ? this.nl(o, size, k) : this.hdrCmp(o, size, k);
    let size = bytes.length;
    let f: Frag | null = null;
    const push = (g: Frag): void => {
      f = f ? and(f, g) : g;
    };
    while (size >= 4) {
      const i = size - 4;
      push(
        cmp(off + i, BPF_W, ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0),
      );
      size -= 4;
    }
    while (size >= 2) {
      const i = size - 2;
      push(cmp(off + i, BPF_H, (bytes[i]! << 8) | bytes[i + 1]!));
      size -= 2;
    }
    if (size > 0) push(cmp(off, BPF_B, bytes[0]!));
    return f!;
  }

  /** `ether host/src/dst MAC` (libpcap's gen_ehostop). */
  ehost(mac: Uint8Array, dir: Dir): Frag {
    if (isWlan(this.link)) return wlanHost(this.link, mac, dir);
    if (this.kind !== 'ether') {
      throw new FilterSyntaxError(
        'ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel',
        0,
      );
    }
    return this.encapLlCheck(this.ehostop(mac, dir));
  }

  /**
   * Past `geneve`, MAC addresses exist only when an Ethernet frame is encapsulated: libpcap's
   * gen_encap_ll_check (the link header does not start where the network layer does) goes first.
   */
  private encapLlCheck(f: Frag): Frag {
    if (!this.inGeneve) return f;
    const stmts: Stmt[] = [
      { code: BPF_LD | BPF_MEM, k: this.hdrReg! },
      { code: BPF_LDX | BPF_MEM, k: this.nlReg! },
    ];
    return and(not(block(stmts, BPF_JMP | BPF_JEQ | BPF_X, 0)), f);
  }

  private ehostop(mac: Uint8Array, dir: Dir): Frag {
    switch (dir) {
      case 'src':
        return this.bcmp(6, mac);
      case 'dst':
        return this.bcmp(0, mac);
      case 'and':
        return and(this.bcmp(6, mac), this.bcmp(0, mac));
      case 'default':
      case 'or':
        return or(this.bcmp(6, mac), this.bcmp(0, mac));
      default:
        throw dirOnlyFor80211(dir);
    }
  }

  /**
   * Statements loading `size` at `off` into the network-layer header. Where that header's offset varies
   * per packet (PFLOG), it is in M[VAR_NL_REG], computed by the prologue, and the load is X-relative.
   */
  nlLoad(off: number, size: number): Stmt[] {
    return this.relLoad(this.nlReg, this.offLinkpl + off, size);
  }

  /** Compare the network-layer field at `off` (masked) with `k` using jump `op`. */
  nl(off: number, size: number, k: number, op = BPF_JEQ, mask = 0xffffffff): Frag {
    const stmts = this.nlLoad(off, size);
    if (mask >>> 0 !== 0xffffffff) stmts.push({ code: BPF_ALU | BPF_AND | BPF_K, k: mask >>> 0 });
    return block(stmts, BPF_JMP | op | BPF_K, k);
  }

  /**
   * X = where the transport header starts, less the constant part of the network layer's offset (which
   * each load adds to its k): `ldxb 4*([nl]&0xf)`, or over a variable offset libpcap's longer form.
   */
  loadxIphdrlen(): Stmt[] {
    if (!this.nlVar) return [{ code: BPF_LDX | BPF_MSH | BPF_B, k: this.offLinkpl }];
    return [
      ...this.nlLoad(0, BPF_B),
      { code: BPF_ALU | BPF_AND | BPF_K, k: 0xf },
      { code: BPF_ALU | BPF_LSH | BPF_K, k: 2 },
      { code: BPF_ALU | BPF_ADD | BPF_X, k: 0 },
      { code: BPF_MISC | BPF_TAX, k: 0 },
    ];
  }

  /** Non-fragment (or first fragment) test: libpcap's gen_ipfrag. */
  ipfrag(): Frag {
    return not(block(this.nlLoad(6, BPF_H), BPF_JMP | BPF_JSET | BPF_K, 0x1fff));
  }

  /** A 16-bit field of the TCP/UDP/SCTP header over IPv4, compared with `op k`. */
  private tran4(off: number, k: number, op: number): Frag {
    return block(
      [...this.loadxIphdrlen(), { code: BPF_LD | BPF_IND | BPF_H, k: this.offLinkpl + off }],
      BPF_JMP | op | BPF_K,
      k,
    );
  }

  private tran6(off: number, k: number, op: number): Frag {
    return this.nl(40 + off, BPF_H, k, op);
  }

  private portRange(lo: number, hi: number, ipv6: boolean, off: number): Frag {
    if (lo > hi) [lo, hi] = [hi, lo];
    const t = ipv6 ? this.tran6.bind(this) : this.tran4.bind(this);
    return and(t(off, lo, BPF_JGE), not(t(off, hi, BPF_JGT)));
  }

  private portDir(lo: number, hi: number, range: boolean, ipv6: boolean, dir: Dir): Frag {
    const atom = (off: number): Frag =>
      range ? this.portRange(lo, hi, ipv6, off) : ipv6 ? this.tran6(off, lo, BPF_JEQ) : this.tran4(off, lo, BPF_JEQ);
    switch (dir) {
      case 'src':
        return atom(0);
      case 'dst':
        return atom(2);
      case 'and':
        return and(atom(0), atom(2));
      case 'default':
      case 'or':
        return or(atom(0), atom(2));
      default:
        throw dirOnlyFor80211(dir);
    }
  }

  private portop(lo: number, hi: number, range: boolean, ipProto: number, ipv6: boolean, dir: Dir): Frag {
    if (ipv6) return and(this.nl(6, BPF_B, ipProto), this.portDir(lo, hi, range, true, dir));
    const pre = and(this.nl(9, BPF_B, ipProto), this.ipfrag());
    return and(pre, this.portDir(lo, hi, range, false, dir));
  }

  portFamily(lo: number, hi: number, range: boolean, ipProto: number, ipv6: boolean, dir: Dir): Frag {
    const head = this.linktype(ipv6 ? ETHERTYPE.ip6 : ETHERTYPE.ip);
    let body: Frag;
    if (ipProto >= 0) body = this.portop(lo, hi, range, ipProto, ipv6, dir);
    else {
      const tcpUdp = or(
        this.portop(lo, hi, range, IPPROTO.tcp, ipv6, dir),
        this.portop(lo, hi, range, IPPROTO.udp, ipv6, dir),
      );
      body = or(this.portop(lo, hi, range, IPPROTO.sctp, ipv6, dir), tcpUdp);
    }
    return and(head, body);
  }

  /** `[tcp|udp|sctp] [src|dst] port N` / `portrange A-B`; ipProto < 0 for any of the three. */
  port(lo: number, hi: number, range: boolean, ipProto: number, dir: Dir): Frag {
    // libpcap generates the IPv4 test first, then ors the IPv6 test in front of it.
    const v4 = this.portFamily(lo, hi, range, ipProto, false, dir);
    const v6 = this.portFamily(lo, hi, range, ipProto, true, dir);
    return or(v6, v4);
  }

  /** `[ether|ip] broadcast`. */
  broadcast(proto: Proto): Frag {
    if (proto === 'default' || proto === 'link') {
      if (isWlan(this.link)) return wlanBroadcast(this.link);
      if (this.kind === 'arcnet') return this.arcnetBroadcast();
      if (this.kind !== 'ether') throw new FilterSyntaxError('not a broadcast link', 0);
      return this.encapLlCheck(this.bcmp(0, new Uint8Array([255, 255, 255, 255, 255, 255])));
    }
    if (proto === 'ip') {
      const hostmask = ~this.netmask >>> 0;
      const zero = this.nl(16, BPF_W, 0, BPF_JEQ, hostmask);
      const ones = this.nl(16, BPF_W, hostmask, BPF_JEQ, hostmask);
      return and(this.linktype(ETHERTYPE.ip), or(zero, ones));
    }
    throw new FilterSyntaxError('only link-layer/IP broadcast filters supported', 0);
  }

  /** ARCNET's broadcast (and, for libpcap, multicast) test: destination station 0, the header's second byte. */
  private arcnetBroadcast(): Frag {
    return this.hdrCmp(1, BPF_B, 0);
  }

  /** `[ether|ip|ip6] multicast`. */
  multicast(proto: Proto): Frag {
    if (proto === 'default' || proto === 'link') {
      if (isWlan(this.link)) return wlanMulticast(this.link);
      if (this.kind === 'arcnet') return this.arcnetBroadcast();
      if (this.kind !== 'ether') {
        throw new FilterSyntaxError(
          'link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel',
          0,
        );
      }
      return this.encapLlCheck(block(this.relLoad(this.hdrReg, 0, BPF_B), BPF_JMP | BPF_JSET | BPF_K, 1));
    }
    if (proto === 'ip') return and(this.linktype(ETHERTYPE.ip), this.nl(16, BPF_B, 224, BPF_JGE));
    if (proto === 'ip6') return and(this.linktype(ETHERTYPE.ip6), this.nl(24, BPF_B, 255));
    throw new FilterSyntaxError(
      'only IP multicast filters supported on ethernet/FDDI/token ring/ARCNET/ATM LANE/Fibre Channel',
      0,
    );
  }

  /** `less N` / `greater N`. */
  length(n: number, greater: boolean): Frag {
    const b = block([{ code: BPF_LD | BPF_W | BPF_LEN, k: 0 }], BPF_JMP | (greater ? BPF_JGE : BPF_JGT) | BPF_K, n);
    return greater ? b : not(b);
  }

  /** `byte N op M` with libpcap's semantics (including `&`/`|` testing A as it stands, without a load). */
  byteop(op: string, idx: number, val: number): Frag {
    switch (op) {
      case '=':
        return this.hdrCmp(idx, BPF_B, val);
      case '<':
        return not(this.hdrCmp(idx, BPF_B, val, BPF_JGE));
      case '>':
        return this.hdrCmp(idx, BPF_B, val, BPF_JGT);
      case '&':
      case '|':
        return not(
          block([{ code: BPF_ALU | (op === '&' ? BPF_AND : BPF_OR) | BPF_K, k: val }], BPF_JMP | BPF_JEQ | BPF_K, 0),
        );
      default:
        throw new FilterSyntaxError(`illegal operator '${op}' for byte`, 0);
    }
  }

  /** `inbound` / `outbound` where the link header says (Linux cooked captures). */
  direction(outbound: boolean): Frag {
    let f: Frag;
    // pf's log header says which way the packet went: its dir byte (offset 60) is PF_IN 1 or PF_OUT 2.
    if (this.link.kind === 'pflog') return this.cmp(60, BPF_B, outbound ? 2 : 1);
    // Solaris ipnet's direction field (IPNET_OUTBOUND 1, IPNET_INBOUND 2).
    if (this.link.kind === 'ipnet') return this.cmp(2, BPF_H, outbound ? 1 : 2);
    // Juniper's header: bit 0 of its flags byte (after the magic) set for a packet coming in.
    if (this.link.kind === 'juniper') return this.cmp(3, BPF_B, outbound ? 0 : 1, BPF_JEQ, 1);
    // BSD SLIP's pseudo-header starts with the direction: SLIPDIR_IN 0, anything else outbound.
    if (this.link.kind === 'slip') {
      const inb = this.cmp(0, BPF_B, 0);
      return outbound ? not(inb) : inb;
    }
    if (this.link.kind === 'sll') f = this.cmp(0, BPF_H, 4);
    else if (this.link.kind === 'sll2') f = this.cmp(10, BPF_B, 4);
    else throw unsupported(`'${outbound ? 'outbound' : 'inbound'}' on ${this.link.name} captures`);
    return outbound ? f : not(f);
  }

  /** `ifindex N` (LINUX_SLL2 only, as libpcap for capture files). */
  ifindex(n: number): Frag {
    if (this.link.kind !== 'sll2') throw unsupported(`'ifindex' on ${this.link.name} captures`);
    return this.cmp(4, BPF_W, n);
  }

  /** `vlan [id]`: test the tag, then move every later offset 4 bytes on. */
  vlan(id: number | undefined): Frag {
    if (this.mplsDepth > 0) throw new FilterSyntaxError('no VLAN match after MPLS', 0);
    const wlan = isWlan(this.link) && this.kind === this.link.kind;
    if ((this.kind !== 'ether' || this.link.kind !== 'ether') && !wlan && !this.inGeneve)
      throw new FilterSyntaxError(`no VLAN support for ${this.link.description}`, 0);
    let f = or(or(this.linktype(ETHERTYPE.vlan), this.linktype(ETHERTYPE.qinq)), this.linktype(ETHERTYPE.qinqOld));
    if (id !== undefined) {
      if (id > 0x0fff) throw new FilterSyntaxError(`VLAN tag ${id} greater than maximum 4095`, 0);
      f = and(f, this.nl(0, BPF_H, id, BPF_JEQ, 0x0fff));
    }
    this.offLinkpl += 4;
    this.offLinktype += 4;
    this.vlanDepth++;
    return f;
  }

  /** `mpls [label]`: test the label stack entry, then move the network layer 4 bytes on. */
  mpls(label: number | undefined): Frag {
    if (this.inGeneve) throw unsupported("'mpls' after 'geneve'");
    let f: Frag;
    if (this.mplsDepth > 0) f = this.cmp(this.offLinkpl - 4 + 2, BPF_B, 0, BPF_JEQ, 0x01);
    else if (this.kind === 'ether' || this.kind === 'chdlc') f = this.linktype(ETHERTYPE.mpls);
    else if (this.kind === 'ppp') f = this.ltCmp(0, BPF_H, 0x0281);
    else throw new FilterSyntaxError(`no MPLS support for ${this.link.description}`, 0);
    if (label !== undefined) {
      if (label > 0xfffff) throw new FilterSyntaxError(`MPLS label ${label} greater than maximum 1048575`, 0);
      f = and(f, this.nl(0, BPF_W, (label << 12) >>> 0, BPF_JEQ, 0xfffff000));
    }
    this.offLinkpl += 4;
    this.mplsDepth++;
    return f;
  }

  /** `pppoed`. */
  pppoed(): Frag {
    return this.linktype(ETHERTYPE.pppoed);
  }

  /** `pppoes [session]`: after it, the rest of the expression reads the PPP payload. */
  pppoes(session: number | undefined): Frag {
    // libpcap 1.10's program for it on radiotap reads a scratch slot it never writes (it loses the radiotap
    // length when PPP takes over the link type): there is no behaviour to be equal to.
    if (this.link.kind === 'radiotap') throw unsupported("'pppoes' on IEEE802_11_RADIO captures");
    if (this.inGeneve) throw unsupported("'pppoes' after 'geneve'");
    let f = this.linktype(ETHERTYPE.pppoes);
    if (session !== undefined) {
      if (session > 0xffff)
        throw new FilterSyntaxError(`PPPoE session number ${session} greater than maximum 65535`, 0);
      f = and(f, this.nl(0, BPF_W, session, BPF_JEQ, 0xffff));
    }
    // libpcap's PUSH_LINKHDR: the PPP header after the 6-byte PPPoE header is the link header now.
    this.offLinkhdr = this.offLinkpl + 6;
    this.offLinktype = this.offLinkhdr;
    this.ltReg = this.nlReg;
    this.offLinkpl += 8;
    this.kind = 'ppp';
    return f;
  }

  // ---- arithmetic (relational expressions) ----

  /** A number. */
  num(v: number, lead: number | undefined = v >>> 0): Arith {
    return { stmts: [{ code: BPF_LD | BPF_IMM, k: v >>> 0 }], conds: null, konst: v >>> 0, lead, regs: 0 };
  }

  /** `len`. */
  len(): Arith {
    return { stmts: [{ code: BPF_LD | BPF_W | BPF_LEN, k: 0 }], conds: null, regs: 0 };
  }

  /** `proto[index : size]` (libpcap's gen_load): its statements start with the index's. */
  load(proto: Proto, index: Arith, size: number): Arith {
    return { ...this.loadAt(proto, index, size), lead: index.lead };
  }

  private loadAt(proto: Proto, index: Arith, size: number): Arith {
    const sz = size === 1 ? BPF_B : size === 2 ? BPF_H : size === 4 ? BPF_W : -1;
    if (sz < 0) throw new FilterSyntaxError('data size must be 1, 2, or 4', 0);
    const andConds = (a: Frag | null, b: Frag): Frag => (a ? and(a, b) : b);
    switch (proto) {
      case 'link': {
        const stmts = this.indexed(index, sz, this.offLinkhdr, false, true);
        return { stmts, conds: index.conds, regs: index.regs };
      }
      case 'ip':
      case 'arp':
      case 'rarp':
      case 'ip6':
      case 'atalk':
      case 'decnet':
      case 'lat':
      case 'sca':
      case 'moprc':
      case 'mopdl': {
        const stmts = this.indexed(index, sz, 0, false);
        return { stmts, conds: andConds(index.conds, this.protoAbbrev(proto)), regs: index.regs };
      }
      case 'tcp':
      case 'udp':
      case 'sctp':
      case 'icmp':
      case 'igmp':
      case 'igrp':
      case 'pim':
      case 'vrrp':
      case 'carp': {
        const stmts = this.indexed(index, sz, 0, true);
        let conds = and(this.protoAbbrev(proto), this.ipfrag());
        if (index.conds) conds = and(index.conds, conds);
        conds = and(this.protoAbbrev('ip'), conds);
        return { stmts, conds, regs: Math.max(index.regs, 1) };
      }
      case 'icmp6': {
        const stmts = this.indexed(index, sz, 40, false);
        const conds = and(this.linktype(ETHERTYPE.ip6), this.nl(6, BPF_B, IPPROTO.icmp6));
        return { stmts, conds: index.conds ? and(index.conds, conds) : conds, regs: index.regs };
      }
      case 'radio':
        throw new FilterSyntaxError("'radio' is not a valid protocol type", 0);
      default:
        throw new FilterSyntaxError('unsupported index operation', 0);
    }
  }

  /**
   * Load `size` at base + index (+ the IPv4 header length when `overIp`); `base` is in the network layer
   * (plus its offset, constant or variable) unless `absolute`.
   */
  private indexed(index: Arith, size: number, base: number, overIp: boolean, absolute = false): StmtTree {
    // `link[]` is relative to the link header (past radiotap's), the rest to the network layer.
    const reg = absolute ? this.hdrReg : this.nlReg;
    const k0 = absolute ? base : this.offLinkpl + base;
    if (!overIp) {
      if (index.konst !== undefined)
        return absolute ? this.relLoad(reg, k0 + index.konst, size) : this.nlLoad(base + index.konst, size);
      const toX: Stmt[] =
        reg !== null
          ? [
              { code: BPF_LDX | BPF_MEM, k: reg },
              { code: BPF_ALU | BPF_ADD | BPF_X, k: 0 },
            ]
          : [];
      if (reg !== null) this.useReg(reg);
      return [index.stmts, ...toX, { code: BPF_MISC | BPF_TAX, k: 0 }, { code: BPF_LD | BPF_IND | size, k: k0 }];
    }
    if (index.konst !== undefined) {
      return [...this.loadxIphdrlen(), { code: BPF_LD | BPF_IND | size, k: (k0 + index.konst) >>> 0 }];
    }
    const slot = index.regs;
    if (slot >= this.maxRegs()) throw new FilterSyntaxError('too many registers needed to evaluate expression', 0);
    return [
      index.stmts,
      { code: 0x02, k: slot }, // st M[slot]
      ...this.loadxIphdrlen(),
      { code: BPF_LD | 0x60, k: slot }, // ld M[slot]
      { code: BPF_ALU | BPF_X, k: 0 }, // add x
      { code: BPF_MISC | BPF_TAX, k: 0 },
      { code: BPF_LD | BPF_IND | size, k: k0 },
    ];
  }

  /** `a op b` for + - * / % & | ^ << >>. */
  arith(op: number, a: Arith, b: Arith): Arith {
    const ALU_DIV = 0x30,
      ALU_MOD = 0x90,
      ALU_LSH = 0x60,
      ALU_RSH = 0x70;
    if (b.lead === 0 && op === ALU_DIV) throw new FilterSyntaxError('division by zero', 0);
    if (b.lead === 0 && op === ALU_MOD) throw new FilterSyntaxError('modulus by zero', 0);
    if (b.lead !== undefined && (op === ALU_LSH || op === ALU_RSH) && b.lead > 31) {
      throw new FilterSyntaxError('shift by more than 31 bits', 0);
    }
    // libpcap's gen_arth keeps only the left operand's protocol checks: in `ip6[1] - icmp[2]` the icmp
    // bytes are read (at the IPv4 header's length) on any IPv6 packet, and no IPv4 test is made.
    const conds = a.conds;
    const lead = a.lead;
    // A shift by 32 or more is left to run (libpcap folds only in its optimizer; unoptimized, its filter
    // shifts at run time, and what that gives depends on the machine), as an X shift, the form libpcap emits.
    // So is a division by a constant that folds to 0 (`len / (10 % 2)`): at run time it rejects the packet.
    const wideShift =
      b.konst !== undefined &&
      (((op === ALU_LSH || op === ALU_RSH) && b.konst > 31) || ((op === ALU_DIV || op === ALU_MOD) && b.konst === 0));
    if (a.konst !== undefined && b.konst !== undefined && !wideShift) {
      const v = foldAlu(op, a.konst, b.konst);
      if (v !== undefined) return { ...this.num(v, lead), conds };
    }
    if (b.konst !== undefined && !wideShift) {
      return { stmts: [a.stmts, { code: BPF_ALU | op | BPF_K, k: b.konst }], conds, lead, regs: a.regs };
    }
    const slot = b.regs;
    if (slot >= this.maxRegs()) throw new FilterSyntaxError('too many registers needed to evaluate expression', 0);
    const stmts = [
      a.stmts,
      { code: 0x02, k: slot },
      b.stmts,
      { code: BPF_MISC | BPF_TAX, k: 0 },
      { code: BPF_LD | 0x60, k: slot },
      { code: BPF_ALU | op | BPF_X, k: 0 },
    ];
    return { stmts, conds, lead, regs: Math.max(a.regs, b.regs + 1) };
  }

  /** `-a`. */
  neg(a: Arith): Arith {
    if (a.konst !== undefined) return { ...this.num(-a.konst >>> 0, a.lead), conds: a.conds };
    return { stmts: [a.stmts, { code: BPF_ALU | 0x80, k: 0 }], conds: a.conds, lead: a.lead, regs: a.regs };
  }

  /** `a relop b`: the protocol checks of both sides, then the comparison. */
  relation(rel: string, a: Arith, b: Arith): Frag {
    const ops: Record<string, [number, boolean]> = {
      '>': [BPF_JGT, false],
      '>=': [BPF_JGE, false],
      '=': [BPF_JEQ, false],
      '<': [BPF_JGE, true],
      '<=': [BPF_JGT, true],
      '!=': [BPF_JEQ, true],
    };
    const [op, reversed] = ops[rel]!;
    let cmpBlock: Frag;
    if (b.konst !== undefined) cmpBlock = block(flatten(a.stmts), BPF_JMP | op | BPF_K, b.konst);
    else if (a.konst !== undefined) {
      cmpBlock = block(
        flatten([b.stmts, { code: BPF_MISC | BPF_TAX, k: 0 }, { code: BPF_LD | BPF_IMM, k: a.konst }]),
        BPF_JMP | op | BPF_X,
        0,
      );
    } else {
      const slot = b.regs;
      if (slot >= this.maxRegs()) throw new FilterSyntaxError('too many registers needed to evaluate expression', 0);
      const stmts = flatten([
        a.stmts,
        { code: 0x02, k: slot },
        b.stmts,
        { code: BPF_MISC | BPF_TAX, k: 0 },
        { code: BPF_LD | 0x60, k: slot },
      ]);
      cmpBlock = block(stmts, BPF_JMP | op | BPF_X, 0);
    }
    cmpBlock.head.relation = true;
    if (reversed) cmpBlock = not(cmpBlock);
    const conds = a.conds && b.conds ? and(a.conds, b.conds) : (a.conds ?? b.conds);
    return conds ? and(conds, cmpBlock) : cmpBlock;
  }
}

function dirOnlyFor80211(dir: Dir): FilterSyntaxError {
  return new FilterSyntaxError(`'${dir}' is only supported on 802.11 captures`, 0);
}

/** A pcap-filter feature bpfkit does not compile (yet): said in one line rather than compiled wrong. */
export function unsupported(what: string): FilterSyntaxError {
  return new FilterSyntaxError(`${what} is not supported by bpfkit's filter compiler`, 0);
}
