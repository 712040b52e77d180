/**
 * 802.11 primitives (libpcap's gen_p80211_type, gen_p80211_fcdir, gen_wlanhostop and its 802.11
 * broadcast/multicast), for IEEE802_11 captures and for IEEE802_11_RADIO ones, where a radiotap header
 * of variable length comes first: there every load is relative to X, set from the header's
 * little-endian length field, which a prologue computes once into M[WLAN_HDR_REG] (as libpcap does).
 * The network primitives over LLC/SNAP read past a second prologue (wlanPayloadPrologue), see gencode.ts.
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_H,
  BPF_IND,
  BPF_JEQ,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_MEM,
  BPF_ST,
  BPF_JSET,
  BPF_IMM,
  BPF_TXA,
  BPF_ADD,
  BPF_LSH,
  BPF_MISC,
  BPF_OR,
  BPF_TAX,
  BPF_W,
  BPF_X,
} from '../cbpf/insn.js';
import { and, block, not, or, type Frag, type Stmt } from './blocks.js';
import { FilterSyntaxError } from './errors.js';
import type { LinkType } from './linktypes.js';

/** The frame-control byte's type and subtype fields (IEEE80211_FC0_TYPE_MASK, _SUBTYPE_MASK). */
export const WLAN_TYPE_MASK = 0x0c;
export const WLAN_SUBTYPE_MASK = 0xf0;

/** Frame types by name (the value in the frame-control byte). */
export const WLAN_TYPES: Record<string, number> = { mgt: 0x00, ctl: 0x04, data: 0x08 };

/** Subtypes of each type by name (the value in the frame-control byte, subtype bits only). */
export const WLAN_SUBTYPES: Record<string, Record<string, number>> = {
  mgt: {
    'assoc-req': 0x00,
    'assoc-resp': 0x10,
    'reassoc-req': 0x20,
    'reassoc-resp': 0x30,
    'probe-req': 0x40,
    'probe-resp': 0x50,
    beacon: 0x80,
    atim: 0x90,
    disassoc: 0xa0,
    auth: 0xb0,
    deauth: 0xc0,
  },
  ctl: {
    'ps-poll': 0xa0,
    rts: 0xb0,
    cts: 0xc0,
    ack: 0xd0,
    'cf-end': 0xe0,
    'cf-end-ack': 0xf0,
  },
  data: {
    data: 0x00,
    'data-cf-ack': 0x10,
    'data-cf-poll': 0x20,
    'data-cf-ack-poll': 0x30,
    null: 0x40,
    'cf-ack': 0x50,
    'cf-poll': 0x60,
    'cf-ack-poll': 0x70,
    'qos-data': 0x80,
    'qos-data-cf-ack': 0x90,
    'qos-data-cf-poll': 0xa0,
    'qos-data-cf-ack-poll': 0xb0,
    qos: 0xc0,
    'qos-cf-poll': 0xe0,
    'qos-cf-ack-poll': 0xf0,
  },
};

/** Frame directions by name (the two DS bits of the second frame-control byte). */
export const WLAN_DIRS: Record<string, number> = { nods: 0, tods: 1, fromds: 2, dstods: 3 };

/** The scratch slot holding the radiotap header's length (where the 802.11 header starts). */
export const WLAN_HDR_REG = 14;
/** The scratch slot holding where the 802.11 payload (its LLC header) starts, computed by wlanPayloadPrologue. */
export const WLAN_PL_REG = 15;

/** Whether a link type carries 802.11 headers. */
export function isWlan(link: LinkType): boolean {
  return link.kind === 'ieee80211' || link.kind === 'radiotap';
}

/**
 * The radiotap header's length, computed once where the program starts (libpcap's prologue): X and M[WLAN_HDR_REG]
 * hold it. Arithmetic uses only the slots below WLAN_HDR_REG.
 */
export function radiotapPrologue(): Stmt[] {
  return [
    { code: BPF_LD | BPF_B | BPF_ABS, k: 3 },
    { code: BPF_ALU | BPF_LSH | BPF_K, k: 8 },
    { code: BPF_MISC | BPF_TAX, k: 0 },
    { code: BPF_LD | BPF_B | BPF_ABS, k: 2 },
    { code: BPF_ALU | BPF_OR | BPF_X, k: 0 },
    { code: BPF_ST, k: WLAN_HDR_REG },
    { code: BPF_MISC | BPF_TAX, k: 0 },
  ];
}

/**
 * Where the 802.11 payload starts, into M[WLAN_PL_REG] (libpcap's gen_load_802_11_header_len): 24 bytes
 * past the 802.11 header, 26 for QoS data frames, and on radiotap rounded up to 4 when the flags field
 * says the driver padded the header (Atheros' DATAPAD; looked for only where the flags sit at a fixed
 * place, without extended presence words). Like libpcap it does not add the fourth address of frames
 * with both DS bits set. Its jumps are inside one block, so (as libpcap) such programs are not optimized.
 * On radiotap it runs after radiotapPrologue, which leaves the radiotap length in X.
 */
export function wlanPayloadPrologue(radiotap: boolean): Stmt[] {
  const jset = (k: number, jt: number, jf: number): Stmt => ({ code: BPF_JMP | BPF_JSET | BPF_K, k, jt, jf });
  const add = (k: number): Stmt => ({ code: BPF_ALU | BPF_ADD | BPF_K, k });
  const head: Stmt[] = [
    ...(radiotap ? [] : [{ code: BPF_LDX | BPF_IMM, k: 0 }]),
    { code: BPF_MISC | BPF_TXA, k: 0 },
    add(24),
    { code: BPF_ST, k: WLAN_PL_REG },
    { code: BPF_LD | BPF_IND | BPF_B, k: 0 },
  ];
  // Offsets count the statements to skip; `rest` is how many follow the QoS test.
  const addQos: Stmt[] = [{ code: BPF_LD | BPF_MEM, k: WLAN_PL_REG }, add(2), { code: BPF_ST, k: WLAN_PL_REG }];
  const pad: Stmt[] = radiotap
    ? [
        { code: BPF_LD | BPF_W | BPF_ABS, k: 4 }, // the first presence word (little-endian)
        jset(0x02000000, 0, 10), // the flags field is present...
        jset(0x00000080, 9, 0), // ...and no extension word follows
        jset(0x01000000, 0, 2), // TSFT (8 bytes) comes before the flags
        { code: BPF_LD | BPF_B | BPF_ABS, k: 16 },
        jset(0x20, 2, 6),
        { code: BPF_LD | BPF_B | BPF_ABS, k: 8 },
        jset(0x20, 0, 4),
        { code: BPF_LD | BPF_MEM, k: WLAN_PL_REG },
        add(3),
        { code: BPF_ALU | BPF_AND | BPF_K, k: 0xfffffffc },
        { code: BPF_ST, k: WLAN_PL_REG },
      ]
    : [];
  const rest = addQos.length + pad.length;
  return [
    ...head,
    jset(0x08, 0, 2 + rest), // a data frame: type bit 3 set...
    jset(0x04, 1 + rest, 0), // ...and bit 2 clear
    jset(0x80, 0, addQos.length), // QoS subtypes carry 2 more bytes
    ...addQos,
    ...pad,
  ];
}

/** Load `size` bytes at `off` into the 802.11 header (past the radiotap header, whose length is M[0]). */
function load(link: LinkType, off: number, size: number): Stmt[] {
  if (link.kind === 'ieee80211') return [{ code: BPF_LD | size | BPF_ABS, k: off }];
  return [
    { code: BPF_LDX | BPF_W | BPF_MEM, k: WLAN_HDR_REG },
    { code: BPF_LD | size | BPF_IND, k: off },
  ];
}

function field(link: LinkType, off: number, size: number, k: number, mask: number): Frag {
  const stmts = load(link, off, size);
  if (mask !== 0xffffffff) stmts.push({ code: BPF_ALU | BPF_AND | BPF_K, k: mask });
  return block(stmts, BPF_JMP | BPF_JEQ | BPF_K, k);
}

/** `type T`, `subtype S`, `type T subtype S`: the frame-control byte under `mask` equals `value`. */
export function wlanType(link: LinkType, value: number, mask: number): Frag {
  if (!isWlan(link)) throw new FilterSyntaxError('802.11 link-layer types supported only on 802.11', 0);
  return field(link, 0, BPF_B, value, mask);
}

/** `dir D`: the DS bits equal `value`. */
export function wlanDir(link: LinkType, value: number): Frag {
  if (!isWlan(link)) throw new FilterSyntaxError('frame direction supported only with 802.11 headers', 0);
  return field(link, 1, BPF_B, value >>> 0, 0x03);
}

const jsetHdr = (link: LinkType, off: number, k: number): Frag =>
  block(load(link, off, BPF_B), BPF_JMP | BPF_JSET | BPF_K, k);

/** Six bytes at `off` of the 802.11 header equal `mac`: the last four first, as libpcap's gen_bcmp. */
function bcmp(link: LinkType, off: number, mac: Uint8Array): Frag {
  const word = ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0;
  return and(
    field(link, off + 2, BPF_W, word, 0xffffffff),
    field(link, off, BPF_H, (mac[0]! << 8) | mac[1]!, 0xffffffff),
  );
}

/** A data frame (type bit 3 set, bit 2 clear): libpcap's gen_check_802_11_data_frame. */
export function wlanDataFrame(link: LinkType): Frag {
  return and(not(jsetHdr(link, 0, 0x04)), jsetHdr(link, 0, 0x08));
}

/**
 * The destination address test of libpcap's gen_wlanhostop (and of its 802.11 multicast): management
 * frames have it at 4, data frames at 4 or (To DS) at 16, control frames have none.
 */
function destination(link: LinkType, at: (off: number) => Frag): Frag {
  let f = or(and(not(jsetHdr(link, 1, 0x01)), at(4)), and(jsetHdr(link, 1, 0x01), at(16)));
  f = and(jsetHdr(link, 0, 0x08), f);
  f = or(and(not(jsetHdr(link, 0, 0x08)), at(4)), f);
  return and(not(jsetHdr(link, 0, 0x04)), f);
}

/** The source address: at 10 in management frames, in data frames at 10, 16 (From DS) or 24 (both DS bits). */
function source(link: LinkType, mac: Uint8Array): Frag {
  let f = or(and(not(jsetHdr(link, 1, 0x01)), bcmp(link, 16, mac)), and(jsetHdr(link, 1, 0x01), bcmp(link, 24, mac)));
  f = and(jsetHdr(link, 1, 0x02), f);
  f = or(and(not(jsetHdr(link, 1, 0x02)), bcmp(link, 10, mac)), f);
  f = and(jsetHdr(link, 0, 0x08), f);
  f = or(and(not(jsetHdr(link, 0, 0x08)), bcmp(link, 10, mac)), f);
  return and(not(jsetHdr(link, 0, 0x04)), f);
}

/** Not a CTS or ACK control frame (the frames without a second address). */
function hasAddr2(link: LinkType): Frag {
  const notCtl = not(field(link, 0, BPF_B, WLAN_TYPES.ctl!, WLAN_TYPE_MASK));
  const notCts = not(field(link, 0, BPF_B, WLAN_SUBTYPES.ctl!.cts!, WLAN_SUBTYPE_MASK));
  const notAck = not(field(link, 0, BPF_B, WLAN_SUBTYPES.ctl!.ack!, WLAN_SUBTYPE_MASK));
  return or(notCtl, and(notCts, notAck));
}

/**
 * `wlan|ether [src|dst|ra|ta|addr1..4] MAC` on 802.11 (libpcap's gen_wlanhostop), following the To/From
 * DS bits and the frame type as libpcap does.
 */
export function wlanHost(link: LinkType, mac: Uint8Array, dir: string): Frag {
  switch (dir) {
    case 'src':
      return source(link, mac);
    case 'dst':
      return destination(link, (off) => bcmp(link, off, mac));
    case 'and':
      return and(wlanHost(link, mac, 'src'), wlanHost(link, mac, 'dst'));
    case 'default':
    case 'or':
      return or(wlanHost(link, mac, 'src'), wlanHost(link, mac, 'dst'));
    case 'addr1':
      return bcmp(link, 4, mac);
    case 'addr2':
      return and(hasAddr2(link), bcmp(link, 10, mac));
    case 'addr3':
      return and(not(field(link, 0, BPF_B, WLAN_TYPES.ctl!, WLAN_TYPE_MASK)), bcmp(link, 16, mac));
    case 'addr4':
      return and(field(link, 1, BPF_B, WLAN_DIRS.dstods!, 0x03), bcmp(link, 24, mac));
    case 'ra':
      return and(jsetHdr(link, 0, 0x08), bcmp(link, 4, mac));
    case 'ta':
      return and(and(jsetHdr(link, 0, 0x08), hasAddr2(link)), bcmp(link, 10, mac));
    default:
      throw new FilterSyntaxError(`unknown direction '${dir}'`, 0);
  }
}

/** `broadcast` on 802.11: the destination address is all ones. */
export function wlanBroadcast(link: LinkType): Frag {
  return wlanHost(link, new Uint8Array([255, 255, 255, 255, 255, 255]), 'dst');
}

/** `multicast` on 802.11: the destination address has its group bit set. */
export function wlanMulticast(link: LinkType): Frag {
  return destination(link, (off) => block(load(link, off, BPF_B), BPF_JMP | BPF_JSET | BPF_K, 1));
}
