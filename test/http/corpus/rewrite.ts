/**
 * Rewrites of captured corpus files, producing what a loopback cannot: reordered and repeated segments,
 * overlapping retransmissions, VLAN and QinQ tags, IPv4 fragments and options, IPv6 extension headers and
 * fragments, missing handshakes and captures that start mid-connection. Every rewrite keeps the TCP byte
 * streams intact, so the server's log stays the ground truth (the mid-connection cut documents what it
 * removes). Deterministic: a seeded generator picks the packets.
 */
import type { Frame } from './pcap-out.js';
import { PacketView } from '../../../src/packet/decode/packet-view.js';
import { IPPROTO } from '../../../src/packet/decode/constants.js';
import { LINKTYPE } from '../../../src/packet/linktype.js';

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Parsed {
  /** offset of the IP header */
  ip: number;
  v: 4 | 6;
  /** offset of the TCP header */
  tcp: number;
  payload: number;
  payloadLen: number;
  flags: number;
}

const view = new PacketView();

/**
 * Ethernet (optionally tagged) + IPv4/IPv6 + TCP, as tcpdump on lo captures; undefined for anything else,
 * for fragments and for IPv6 with extension headers (the rewrites assume the TCP header follows the fixed
 * IPv6 header).
 */
export function parse(d: Uint8Array): Parsed | undefined {
  const v = view.decode(d, LINKTYPE.EN10MB);
  if (v.proto !== IPPROTO.TCP || v.isFragment || v.payloadOffset < 0 || v.ipv6ExtCount !== 0) return undefined;
  return {
    ip: v.l3Offset,
    v: v.ipVersion === 4 ? 4 : 6,
    tcp: v.l4Offset,
    payload: v.payloadOffset,
    payloadLen: v.payloadLength,
    flags: v.tcpFlags,
  };
}

function ipv4Checksum(d: Uint8Array, ip: number): void {
  const ihl = (d[ip]! & 15) * 4;
  d[ip + 10] = 0;
  d[ip + 11] = 0;
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += (d[ip + i]! << 8) | d[ip + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  d[ip + 10] = c >> 8;
  d[ip + 11] = c & 255;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function usec(f: Frame): number {
  return f.tsSec * 1e6 + f.tsUsec;
}

/** Keep timestamps non-decreasing in file order (moved packets take their new neighbour's time). */
function monotonic(frames: Frame[]): Frame[] {
  let last = 0;
  return frames.map((f) => {
    const t = Math.max(last, usec(f));
    last = t;
    return { tsSec: Math.floor(t / 1e6), tsUsec: t % 1e6, data: f.data };
  });
}

/** Move `fraction` of the data segments 1-3 positions later; repeat `dupFraction` of them a little later. */
export function reorderAndDuplicate(frames: Frame[], fraction: number, dupFraction: number, seed = 1): Frame[] {
  const r = rng(seed);
  const keyed: { key: number; f: Frame }[] = [];
  frames.forEach((f, i) => {
    const p = parse(f.data);
    const isData = p !== undefined && p.payloadLen > 0;
    let key = i;
    if (isData && r() < fraction) key = i + 1 + Math.floor(r() * 3) + 0.5;
    keyed.push({ key, f });
    if (isData && r() < dupFraction)
      keyed.push({ key: i + 1 + Math.floor(r() * 4) + 0.25, f: { ...f, data: f.data.slice() } });
  });
  keyed.sort((a, b) => a.key - b.key);
  return monotonic(keyed.map((k) => k.f));
}

/** Replace some data segments by two overlapping ones ([0, 2/3) and [1/3, 1) of the payload). */
export function overlapping(frames: Frame[], fraction: number, seed = 2): Frame[] {
  const r = rng(seed);
  const out: Frame[] = [];
  for (const f of frames) {
    const p = parse(f.data);
    if (!p || p.payloadLen < 30 || r() >= fraction) {
      out.push(f);
      continue;
    }
    const L = p.payloadLen;
    const a = Math.floor((2 * L) / 3);
    const b = Math.floor(L / 3);
    out.push({ ...f, data: withPayloadRange(f.data, p, 0, a, false) });
    out.push({ ...f, data: withPayloadRange(f.data, p, b, L, true) });
  }
  return out;
}

/** A copy of the segment carrying payload bytes [from, to), sequence number and lengths adjusted. */
function withPayloadRange(d: Uint8Array, p: Parsed, from: number, to: number, keepFin: boolean): Uint8Array {
  const head = d.slice(0, p.payload);
  const out = concat(head, d.subarray(p.payload + from, p.payload + to));
  const seq = ((out[p.tcp + 4]! << 24) | (out[p.tcp + 5]! << 16) | (out[p.tcp + 6]! << 8) | out[p.tcp + 7]!) >>> 0;
  const ns = (seq + from) >>> 0;
  out[p.tcp + 4] = ns >>> 24;
  out[p.tcp + 5] = (ns >>> 16) & 255;
  out[p.tcp + 6] = (ns >>> 8) & 255;
  out[p.tcp + 7] = ns & 255;
  if (!keepFin) out[p.tcp + 13] = out[p.tcp + 13]! & ~1;
  setIpLength(out, p, p.payload - p.ip + (to - from));
  return out;
}

function setIpLength(d: Uint8Array, p: Parsed, ipTotal: number): void {
  if (p.v === 4) {
    d[p.ip + 2] = ipTotal >> 8;
    d[p.ip + 3] = ipTotal & 255;
    ipv4Checksum(d, p.ip);
  } else {
    const plen = ipTotal - 40;
    d[p.ip + 4] = plen >> 8;
    d[p.ip + 5] = plen & 255;
  }
}

/** Insert one 802.1Q tag (or two, QinQ: 802.1ad outer + 802.1Q inner) after the MAC addresses. */
export function vlanTag(frames: Frame[], qinq: boolean): Frame[] {
  const tag = qinq
    ? Uint8Array.of(0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a)
    : Uint8Array.of(0x81, 0x00, 0x00, 0x2a);
  return frames.map((f) => ({ ...f, data: concat(f.data.subarray(0, 12), tag, f.data.subarray(12)) }));
}

/** Drop every SYN and SYN-ACK: the capture misses the handshakes. */
export function dropHandshakes(frames: Frame[]): Frame[] {
  return frames.filter((f) => {
    const p = parse(f.data);
    return !p || (p.flags & 2) === 0;
  });
}

/** IPv4 options (router alert, 4 bytes) on every IPv4 packet; IPv6: hop-by-hop + destination options. */
export function ipOptions(frames: Frame[]): Frame[] {
  return frames.map((f) => {
    const p = parse(f.data);
    if (!p) return f;
    const d = f.data;
    if (p.v === 4) {
      const ihl = (d[p.ip]! & 15) * 4;
      const out = concat(d.subarray(0, p.ip + ihl), Uint8Array.of(0x94, 0x04, 0x00, 0x00), d.subarray(p.ip + ihl));
      out[p.ip] = 0x40 | ((ihl + 4) / 4);
      const total = ((d[p.ip + 2]! << 8) | d[p.ip + 3]!) + 4;
      out[p.ip + 2] = total >> 8;
      out[p.ip + 3] = total & 255;
      ipv4Checksum(out, p.ip);
      return { ...f, data: out };
    }
    // Hop-by-hop (PadN) then destination options (PadN), then TCP.
    const hbh = Uint8Array.of(60, 0, 1, 4, 0, 0, 0, 0);
    const dst = Uint8Array.of(6, 0, 1, 4, 0, 0, 0, 0);
    const out = concat(d.subarray(0, p.ip + 40), hbh, dst, d.subarray(p.ip + 40));
    out[p.ip + 6] = 0;
    const plen = ((d[p.ip + 4]! << 8) | d[p.ip + 5]!) + 16;
    out[p.ip + 4] = plen >> 8;
    out[p.ip + 5] = plen & 255;
    return { ...f, data: out };
  });
}

/**
 * Fragment data packets: IPv4 into pieces of 24 bytes then halves (so the TCP header itself is split),
 * IPv6 with fragment headers. Every third datagram's fragments are written last-first.
 */
export function fragment(frames: Frame[]): Frame[] {
  const out: Frame[] = [];
  let id = 0x1000;
  let n = 0;
  for (const f of frames) {
    const p = parse(f.data);
    if (!p || p.payloadLen <= 40) {
      out.push(f);
      continue;
    }
    const d = f.data;
    const l2 = d.subarray(0, p.ip);
    const upperStart = p.v === 4 ? p.ip + (d[p.ip]! & 15) * 4 : p.ip + 40;
    const upper = d.subarray(upperStart, p.payload + p.payloadLen);
    const cuts = [0, 24, 24 + Math.floor((upper.length - 24) / 16) * 8, upper.length];
    const pieces: Frame[] = [];
    id++;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const from = cuts[i]!;
      const to = cuts[i + 1]!;
      if (to <= from) continue;
      const more = to < upper.length;
      if (p.v === 4) {
        const ihl = (d[p.ip]! & 15) * 4;
        const hdr = d.slice(p.ip, p.ip + ihl);
        const total = ihl + (to - from);
        hdr[2] = total >> 8;
        hdr[3] = total & 255;
        hdr[4] = id >> 8;
        hdr[5] = id & 255;
        const fo = (from / 8) | (more ? 0x2000 : 0);
        hdr[6] = fo >> 8;
        hdr[7] = fo & 255;
        ipv4Checksum(hdr, 0);
        pieces.push({ ...f, data: concat(l2, hdr, upper.subarray(from, to)) });
      } else {
        const hdr = d.slice(p.ip, p.ip + 40);
        hdr[6] = 44;
        const plen = 8 + (to - from);
        hdr[4] = plen >> 8;
        hdr[5] = plen & 255;
        const fo = from | (more ? 1 : 0);
        const fh = Uint8Array.of(6, 0, fo >> 8, fo & 255, 0, 0, id >> 8, id & 255);
        pieces.push({ ...f, data: concat(l2, hdr, fh, upper.subarray(from, to)) });
      }
    }
    if (n++ % 3 === 2) pieces.reverse();
    out.push(...pieces);
  }
  return out;
}

/**
 * Start mid-connection: for every connection that carries `skipMarker` in a client request, drop all of its
 * packets before the first client segment whose payload starts with `keepPrefix`. The requests carrying
 * `skipMarker` must be removed from the ground truth. Give it the frames with their handshakes: a
 * connection is its addresses and ports from one SYN to the next, because a loopback capture reuses a
 * 4-tuple (tcp_tw_reuse) and its ephemeral ports jump, so an earlier connection may hold the very ports of
 * a marked one; it must keep its packets.
 */
export function cutBefore(frames: Frame[], skipMarker: string, keepPrefix: string): Frame[] {
  const text = (f: Frame, p: Parsed) =>
    Buffer.from(f.data.subarray(p.payload, p.payload + p.payloadLen)).toString('latin1');
  const ids = connectionIds(frames);
  const marked = new Set<string>();
  frames.forEach((f, i) => {
    const p = parse(f.data);
    if (p && p.payloadLen > 0 && text(f, p).includes(skipMarker)) marked.add(ids[i]!);
  });
  const started = new Set<string>();
  return frames.filter((f, i) => {
    const p = parse(f.data);
    const id = ids[i];
    if (!p || id === undefined || !marked.has(id) || started.has(id)) return true;
    if (p.payloadLen > 0 && text(f, p).startsWith(keepPrefix)) {
      started.add(id);
      return true;
    }
    return false;
  });
}

/** Per frame, the connection it belongs to: both endpoints (either direction) and the count of SYNs so far. */
function connectionIds(frames: Frame[]): (string | undefined)[] {
  const syns = new Map<string, { count: number; seq: number }>();
  return frames.map((f) => {
    const p = parse(f.data);
    if (!p) return undefined;
    const d = f.data;
    const addrLen = p.v === 4 ? 4 : 16;
    const srcAt = p.v === 4 ? p.ip + 12 : p.ip + 8;
    const hex = (from: number, len: number) => Buffer.from(d.subarray(from, from + len)).toString('hex');
    const a = hex(srcAt, addrLen) + hex(p.tcp, 2);
    const b = hex(srcAt + addrLen, addrLen) + hex(p.tcp + 2, 2);
    const tuple = a < b ? `${a}-${b}` : `${b}-${a}`;
    // A SYN without ACK opens a new connection on these endpoints (its SYN-ACK already belongs to it);
    // a retransmitted SYN carries the same sequence number and opens nothing.
    const last = syns.get(tuple);
    if ((p.flags & 0x12) === 0x02) {
      const seq = new DataView(d.buffer, d.byteOffset + p.tcp + 4, 4).getUint32(0);
      if (last?.seq !== seq) syns.set(tuple, { count: (last?.count ?? 0) + 1, seq });
    }
    return `${tuple}#${syns.get(tuple)?.count ?? 0}`;
  });
}
