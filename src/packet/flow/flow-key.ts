/**
 * Naming a TCP connection so that both of its directions find the same entry. Endpoint A is the one whose
 * (address, port) sorts first; a segment is "from A" when its source is A. IPv4 addresses are compared as
 * the numbers a big-endian load gives, IPv6 addresses byte by byte.
 */
import type { PacketView } from '../decode/packet-view.js';
import { formatIP } from '../decode/format.js';

/** A connection's two endpoints in canonical order (A sorts first). */
export interface FlowEnds {
  ipVersion: number;
  /** the address as 32-bit words in network order: one for IPv4, four for IPv6 (plain numbers: cheap) */
  addrA: number[];
  portA: number;
  addrB: number[];
  portB: number;
}

/** True when the decoded segment `v` travels from endpoint A (its source sorts first) to B. */
export function isFromA(v: PacketView): boolean {
  if (v.ipVersion === 4) return v.srcIPv4 < v.dstIPv4 || (v.srcIPv4 === v.dstIPv4 && v.srcPort <= v.dstPort);
  const c = compareAddr16(v.bytes, v.srcAddrOffset, v.dstAddrOffset);
  return c < 0 || (c === 0 && v.srcPort <= v.dstPort);
}

/** The map key of the connection `v` belongs to ("A:port>B:port"); `fromA` as isFromA(v) says. */
export function flowKey(v: PacketView, fromA: boolean): string {
  if (v.ipVersion === 4)
    return fromA
      ? `${v.srcIPv4}:${v.srcPort}>${v.dstIPv4}:${v.dstPort}`
      : `${v.dstIPv4}:${v.dstPort}>${v.srcIPv4}:${v.srcPort}`;
  const s = hexAddr16(v.bytes, v.srcAddrOffset);
  const d = hexAddr16(v.bytes, v.dstAddrOffset);
  return fromA ? `${s}:${v.srcPort}>${d}:${v.dstPort}` : `${d}:${v.dstPort}>${s}:${v.srcPort}`;
}

/** The endpoints of the connection `v` belongs to, A first. */
export function flowEnds(v: PacketView, fromA: boolean): FlowEnds {
  let src: number[];
  let dst: number[];
  if (v.ipVersion === 4) {
    src = [v.srcIPv4];
    dst = [v.dstIPv4];
  } else {
    src = addrWords16(v.bytes, v.srcAddrOffset);
    dst = addrWords16(v.bytes, v.dstAddrOffset);
  }
  return fromA
    ? { ipVersion: v.ipVersion, addrA: src, portA: v.srcPort, addrB: dst, portB: v.dstPort }
    : { ipVersion: v.ipVersion, addrA: dst, portA: v.dstPort, addrB: src, portB: v.srcPort };
}

/** An address held as FlowEnds holds it (32-bit words), as text: "10.0.0.1", "2001:db8::1". */
export function formatFlowAddr(ipVersion: number, words: number[]): string {
  const b = new Uint8Array(4 * words.length);
  for (let i = 0; i < words.length; i++) {
    b[4 * i] = words[i]! >>> 24;
    b[4 * i + 1] = (words[i]! >>> 16) & 255;
    b[4 * i + 2] = (words[i]! >>> 8) & 255;
    b[4 * i + 3] = words[i]! & 255;
  }
  return formatIP(b, 0, ipVersion === 4 ? 4 : 16);
}

function addrWords16(b: Uint8Array, off: number): number[] {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 4)
    w.push(((b[off + i]! << 24) | (b[off + i + 1]! << 16) | (b[off + i + 2]! << 8) | b[off + i + 3]!) >>> 0);
  return w;
}

function compareAddr16(b: Uint8Array, x: number, y: number): number {
  for (let i = 0; i < 16; i++) {
    const d = b[x + i]! - b[y + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hexAddr16(b: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[b[off + i]!];
  return s;
}
