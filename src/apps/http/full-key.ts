/**
 * The full-mode filter's session key (struct flow_key in bpf/http_filter_full.c), 40 bytes:
 *   u32 family (4 or 6); u32 a[4]; u32 b[4]; u16 port_a; u16 port_b
 * Addresses are stored as the numbers a big-endian 32-bit load gives (host byte order in the map), IPv4 in
 * a[0] with the other words zero. Endpoint A is the smaller (address words, then port), so both
 * directions of a connection share one key.
 */
import type { FlowEnds } from '../../packet/flow/flow-key.js';

export const FULL_KEY_SIZE = 40;

/** addrA/addrB: the address as 32-bit words (one for IPv4, four for IPv6), as FlowEnds holds them. */
export function fullSessionKey(
  ipVersion: number,
  addrA: number[],
  portA: number,
  addrB: number[],
  portB: number,
): Uint8Array {
  const k = new Uint8Array(FULL_KEY_SIZE);
  writeKey(new DataView(k.buffer), 0, ipVersion, addrA, portA, addrB, portB);
  return k;
}

/** The key(s) a flow occupies in the full filter's `sessions` map. */
export function fullSessionKeys(f: FlowEnds): Uint8Array[] {
  return [fullSessionKey(f.ipVersion, f.addrA, f.portA, f.addrB, f.portB)];
}

/**
 * A flow's key written into `dv` at `off` (FULL_KEY_SIZE bytes, every one of them set): for callers that
 * reuse one buffer instead of allocating a key per ended flow.
 */
export function writeFullSessionKey(dv: DataView, off: number, f: FlowEnds): void {
  writeKey(dv, off, f.ipVersion, f.addrA, f.portA, f.addrB, f.portB);
}

function writeKey(
  dv: DataView,
  off: number,
  ipVersion: number,
  addrA: number[],
  portA: number,
  addrB: number[],
  portB: number,
): void {
  dv.setUint32(off, ipVersion, true);
  for (let i = 0; i < 4; i++) {
    dv.setUint32(off + 4 + 4 * i, i < addrA.length ? addrA[i]! : 0, true);
    dv.setUint32(off + 20 + 4 * i, i < addrB.length ? addrB[i]! : 0, true);
  }
  dv.setUint16(off + 36, portA, true);
  dv.setUint16(off + 38, portB, true);
}
