/**
 * The full-mode filter's session key (struct flow_key in bpf/http_filter_full.c), 40 bytes:
 *   u32 family (4 or 6); u32 a[4]; u32 b[4]; u16 port_a; u16 port_b
 * Addresses are stored as the numbers a big-endian 32-bit load gives (host byte order in the map), IPv4 in
 * a[0] with the other words zero. Endpoint A is the smaller (address words, then port), so both
 * directions of a connection share one key.
 */
import type { FlowEnds } from './full-analyzer.js';

export const FULL_KEY_SIZE = 40;

export function fullSessionKey(ipVersion: number, addrA: Uint8Array, portA: number, addrB: Uint8Array, portB: number): Uint8Array {
  const k = new Uint8Array(FULL_KEY_SIZE);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, ipVersion, true);
  const words = ipVersion === 4 ? 1 : 4;
  for (let i = 0; i < words; i++) {
    dv.setUint32(4 + 4 * i, new DataView(addrA.buffer, addrA.byteOffset).getUint32(4 * i, false), true);
    dv.setUint32(20 + 4 * i, new DataView(addrB.buffer, addrB.byteOffset).getUint32(4 * i, false), true);
  }
  dv.setUint16(36, portA, true);
  dv.setUint16(38, portB, true);
  return k;
}

/** The key(s) a flow occupies in the full filter's `sessions` map. */
export function fullSessionKeys(f: FlowEnds): Uint8Array[] {
  return [fullSessionKey(f.ipVersion, f.addrA, f.portA, f.addrB, f.portB)];
}
