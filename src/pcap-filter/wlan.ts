/**
 * 802.11 primitives (libpcap's gen_p80211_type, gen_p80211_fcdir and `wlan addr1`), for IEEE802_11
 * captures and for IEEE802_11_RADIO ones, where a radiotap header of variable length comes first: there
 * every load is relative to X, set from the header's little-endian length field, which a prologue at
 * the start of the program computes once into M[0] (as libpcap does); the optimizer drops the repeated
 * `ldx M[0]`s.
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
  BPF_LSH,
  BPF_MISC,
  BPF_OR,
  BPF_TAX,
  BPF_W,
  BPF_X,
} from '../cbpf/insn.js';
import { and, block, type Frag, type Stmt } from './blocks.js';
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

/** Whether a link type carries 802.11 headers. */
export function isWlan(link: LinkType): boolean {
  return link.kind === 'ieee80211' || link.kind === 'radiotap';
}

/**
 * The radiotap header's length, computed once where the program starts (libpcap's prologue): X and M[0]
 * hold it. On radiotap links only the wlan primitives compile, and they use no other scratch slot.
 */
export function radiotapPrologue(): Stmt[] {
  return [
    { code: BPF_LD | BPF_B | BPF_ABS, k: 3 },
    { code: BPF_ALU | BPF_LSH | BPF_K, k: 8 },
    { code: BPF_MISC | BPF_TAX, k: 0 },
    { code: BPF_LD | BPF_B | BPF_ABS, k: 2 },
    { code: BPF_ALU | BPF_OR | BPF_X, k: 0 },
    { code: BPF_ST, k: 0 },
    { code: BPF_MISC | BPF_TAX, k: 0 },
  ];
}

/** Load `size` bytes at `off` into the 802.11 header (past the radiotap header, whose length is M[0]). */
function load(link: LinkType, off: number, size: number): Stmt[] {
  if (link.kind === 'ieee80211') return [{ code: BPF_LD | size | BPF_ABS, k: off }];
  return [
    { code: BPF_LDX | BPF_W | BPF_MEM, k: 0 },
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

/** `wlan addr1 MAC`: the first address field (bytes 4..9), last word first as libpcap compares. */
export function wlanAddr1(link: LinkType, mac: Uint8Array): Frag {
  const word = ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0;
  return and(field(link, 6, BPF_W, word, 0xffffffff), field(link, 4, BPF_H, (mac[0]! << 8) | mac[1]!, 0xffffffff));
}
