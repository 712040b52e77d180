/**
 * struct tcmsg, the fixed header of every qdisc, class and filter message (20 bytes: family, pad, ifindex,
 * handle, parent, info), and the link-layer protocol names tc prints in `info`.
 */
import { InputError } from '../util/errors.js';

/** Size of struct tcmsg. */
export const TCMSG_SIZE = 20;

/** The header fields of a tc message. `info` is prio << 16 | protocol (network order) for filters. */
export interface TcMsg {
  ifindex: number;
  handle: number;
  parent: number;
  info: number;
}

/** Lay out struct tcmsg (family AF_UNSPEC). */
export function encodeTcMsg(m: TcMsg): Uint8Array {
  const b = new Uint8Array(TCMSG_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(4, m.ifindex, true);
  dv.setUint32(8, m.handle >>> 0, true);
  dv.setUint32(12, m.parent >>> 0, true);
  dv.setUint32(16, m.info >>> 0, true);
  return b;
}

/** Read struct tcmsg from a message payload; `rest` is what follows it (the attributes). */
export function decodeTcMsg(payload: Uint8Array): TcMsg & { rest: Uint8Array } {
  if (payload.length < TCMSG_SIZE) throw new Error(`tcmsg of ${payload.length} bytes (needs ${TCMSG_SIZE})`);
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    ifindex: dv.getInt32(4, true),
    handle: dv.getUint32(8, true),
    parent: dv.getUint32(12, true),
    info: dv.getUint32(16, true),
    rest: payload.subarray(TCMSG_SIZE),
  };
}

/** Swap a u16 between host (little-endian) and network order. */
export const swap16 = (v: number): number => ((v & 0xff) << 8) | ((v >> 8) & 0xff);

const PROTOCOLS: [string, number][] = [
  ['all', 0x0003],
  ['ip', 0x0800],
  ['ipv6', 0x86dd],
  ['arp', 0x0806],
  ['802.1Q', 0x8100],
  ['802.1ad', 0x88a8],
  ['mpls_uc', 0x8847],
];

/** An ETH_P_* value from tc's name for it ("all", "ip", "ipv6", ...) or a number. */
export function parseProtocol(text: string): number {
  const named = PROTOCOLS.find(([n]) => n.toLowerCase() === text.toLowerCase());
  if (named) return named[1];
  if (/^(0x[0-9a-f]{1,4}|\d+)$/i.test(text) && Number(text) <= 0xffff) return Number(text);
  throw new InputError(`unknown protocol '${text}' (all, ip, ipv6, arp, 802.1Q or a number)`, 'protocol');
}

/** tc's name for an ETH_P_* value (hex for ones it has no name for). */
export function formatProtocol(p: number): string {
  const named = PROTOCOLS.find(([, v]) => v === p);
  return named ? named[0] : `0x${p.toString(16).padStart(4, '0')}`;
}
