/**
 * `struct __sk_buff` for socket filters and tc programs, at the kernel's offsets (include/uapi/linux/bpf.h,
 * checked against the header of Linux 6.18). The context is a real 192-byte region: the host writes every
 * modelled field before the run and after each helper that moves the packet, and reads back the fields
 * the program type may write (kernel rules: socket filters only cb[]; tc also mark, priority, tc_index,
 * tc_classid, queue_mapping). Writes to other fields are discarded — the kernel's verifier would refuse them.
 *
 * The packet view: a raw AF_PACKET socket runs a socket filter with skb->data at the MAC header, tc runs
 * with skb->data at the MAC header too; BPF_PROG_TEST_RUN gives a socket filter skb->data at the network
 * header (eth_type_trans pulled the Ethernet header). `view: 'network'` reproduces the latter. cgroup_skb
 * programs always see the packet from its network header (IP stack hooks, and the kernel's test run alike).
 */
import type { PacketBuffer } from './packet-buffer.js';
import type { RunContext, SkbState } from './run-context.js';
import { ProgType } from '../../uapi/types.js';

export const SKB_SIZE = 192;
export const Skb = {
  len: 0,
  pkt_type: 4,
  mark: 8,
  queue_mapping: 12,
  protocol: 16,
  vlan_present: 20,
  vlan_tci: 24,
  vlan_proto: 28,
  priority: 32,
  ingress_ifindex: 36,
  ifindex: 40,
  tc_index: 44,
  cb: 48,
  hash: 68,
  tc_classid: 72,
  data: 76,
  data_end: 80,
  napi_id: 84,
  family: 88,
  remote_ip4: 92,
  local_ip4: 96,
  remote_ip6: 100,
  local_ip6: 116,
  remote_port: 132,
  local_port: 136,
  data_meta: 140,
  flow_keys: 144,
  tstamp: 152,
  wire_len: 160,
  gso_segs: 164,
  sk: 168,
  gso_size: 176,
  tstamp_type: 180,
  hwtstamp: 184,
} as const;

const PACKET_HOST = 0;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;

export function newSkbState(): SkbState {
  return {
    pktType: 0,
    mark: 0,
    queueMapping: 0,
    protocol: 0,
    vlanPresent: 0,
    vlanTci: 0,
    vlanProto: 0,
    priority: 0,
    ingressIfindex: 0,
    ifindex: 1,
    tcIndex: 0,
    hash: 0,
    tcClassid: 0,
    napiId: 0,
    wireLen: 0,
    tstamp: 0n,
  };
}

/**
 * Reset `s` to the fields eth_type_trans() gives a frame on a device whose address is all zeros
 * (loopback, which is where BPF_PROG_TEST_RUN's skbs live).
 */
export function skbStateFor(frame: Uint8Array, s: SkbState = newSkbState()): SkbState {
  return skbStateAt(frame, 0, frame.length, s);
}

/** skbStateFor for the frame at bytes[off, off + len). */
export function skbStateAt(b: Uint8Array, off: number, len: number, s: SkbState): SkbState {
  let pktType = PACKET_HOST;
  if (len >= 6) {
    // The loopback device's broadcast address is all zeros, so even ff:ff:ff:ff:ff:ff counts as multicast.
    if (b[off]! & 1) pktType = PACKET_MULTICAST;
    else if ((b[off]! | b[off + 1]! | b[off + 2]! | b[off + 3]! | b[off + 4]! | b[off + 5]!) !== 0)
      pktType = PACKET_OTHERHOST;
  }
  s.pktType = pktType;
  s.mark = s.queueMapping = s.vlanPresent = s.vlanTci = s.vlanProto = s.priority = s.ingressIfindex = 0;
  s.tcIndex = s.hash = s.tcClassid = s.napiId = s.wireLen = 0;
  s.tstamp = 0n;
  s.protocol = len >= 14 ? (b[off + 12]! << 8) | b[off + 13]! : 0;
  s.ifindex = 1;
  return s;
}

/** Take the settable fields of a user-supplied __sk_buff (like BPF_PROG_TEST_RUN's ctx_in). */
export function applyCtxIn(s: SkbState, ctx: Uint8Array, cb: Uint8Array): void {
  const dv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const u32 = (o: number) => (o + 4 <= ctx.length ? dv.getUint32(o, true) : 0);
  s.mark = u32(Skb.mark);
  s.priority = u32(Skb.priority);
  s.queueMapping = u32(Skb.queue_mapping);
  s.ingressIfindex = u32(Skb.ingress_ifindex);
  if (u32(Skb.ifindex)) s.ifindex = u32(Skb.ifindex);
  s.tcIndex = u32(Skb.tc_index);
  s.tcClassid = u32(Skb.tc_classid);
  s.hash = u32(Skb.hash);
  s.wireLen = u32(Skb.wire_len);
  s.tstamp = Skb.tstamp + 8 <= ctx.length ? dv.getBigUint64(Skb.tstamp, true) : 0n;
  cb.set(ctx.subarray(Skb.cb, Math.min(ctx.length, Skb.cb + 20)));
}

const be16 = (v: number) => ((v & 0xff) << 8) | ((v >>> 8) & 0xff);

/** Write every modelled field into the context region (after reading back what the program may write). */
export function writeSkb(rc: RunContext, dv: DataView, p: PacketBuffer): void {
  const s = rc.skb!;
  const base = p.base;
  dv.setUint32(Skb.len, p.end - p.data, true);
  dv.setUint32(Skb.pkt_type, s.pktType, true);
  dv.setUint32(Skb.mark, s.mark, true);
  dv.setUint32(Skb.queue_mapping, s.queueMapping, true);
  dv.setUint32(Skb.protocol, be16(s.protocol), true);
  dv.setUint32(Skb.vlan_present, s.vlanPresent, true);
  dv.setUint32(Skb.vlan_tci, s.vlanTci, true);
  dv.setUint32(Skb.vlan_proto, be16(s.vlanProto), true);
  dv.setUint32(Skb.priority, s.priority, true);
  dv.setUint32(Skb.ingress_ifindex, s.ingressIfindex, true);
  dv.setUint32(Skb.ifindex, s.ifindex, true);
  dv.setUint32(Skb.tc_index, s.tcIndex, true);
  dv.setUint32(Skb.hash, s.hash, true);
  dv.setUint32(Skb.tc_classid, s.tcClassid, true);
  dv.setUint32(Skb.data, base + p.data, true);
  dv.setUint32(Skb.data_end, base + p.end, true);
  dv.setUint32(Skb.napi_id, s.napiId, true);
  dv.setUint32(Skb.data_meta, base + p.data, true);
  dv.setBigUint64(Skb.tstamp, s.tstamp, true);
  // BPF_PROG_TEST_RUN sets the qdisc's pkt_len (wire_len) only when a context is passed in.
  dv.setUint32(Skb.wire_len, rc.skbCtxGiven ? s.wireLen || p.end - p.mac : 0, true);
}

/**
 * writeSkb for a state just made by skbStateAt, into a zeroed region, when no context was passed in:
 * only the fields that are not zero then (the per-packet path of capture loops). The packet's data
 * starts at VM address `data` and ends at `dataEnd`.
 */
export function writeFreshSkbAt(s: SkbState, dv: DataView, data: number, dataEnd: number): void {
  dv.setUint32(Skb.len, dataEnd - data, true);
  dv.setUint32(Skb.pkt_type, s.pktType, true);
  dv.setUint32(Skb.protocol, be16(s.protocol), true);
  dv.setUint32(Skb.ifindex, s.ifindex, true);
  dv.setUint32(Skb.data, data, true);
  dv.setUint32(Skb.data_end, dataEnd, true);
  dv.setUint32(Skb.data_meta, data, true);
}

/**
 * The context BPF_PROG_TEST_RUN hands back (convert_skb_to___skb): only mark, priority, ingress_ifindex,
 * ifindex, cb[], tstamp, wire_len, gso_segs, gso_size and hwtstamp are filled in, the rest is zero.
 */
export function ctxOut(rc: RunContext, region: Uint8Array, p: PacketBuffer): Uint8Array {
  const s = rc.skb!;
  const out = new Uint8Array(SKB_SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint32(Skb.mark, s.mark, true);
  dv.setUint32(Skb.priority, s.priority, true);
  dv.setUint32(Skb.ingress_ifindex, s.ingressIfindex, true);
  dv.setUint32(Skb.ifindex, s.ifindex, true);
  out.set(region.subarray(Skb.cb, Skb.cb + 20), Skb.cb);
  dv.setBigUint64(Skb.tstamp, s.tstamp, true);
  dv.setUint32(Skb.wire_len, s.wireLen || p.end - p.mac, true);
  return out;
}

/** Copy the fields the program type may write from the context region into the skb state. */
export function readBackSkb(rc: RunContext, dv: DataView): void {
  const s = rc.skb!;
  if (rc.progType === ProgType.SOCKET_FILTER) return; // only cb[], which lives in the region itself
  s.mark = dv.getUint32(Skb.mark, true);
  s.priority = dv.getUint32(Skb.priority, true);
  // (the verifier lets only tc and cgroup_skb write it: for the others this reads back what was there)
  s.tstamp = dv.getBigUint64(Skb.tstamp, true);
  if (rc.progType === ProgType.CGROUP_SKB) return; // cgroup_skb: mark, priority, tstamp and cb[] only
  s.tcIndex = dv.getUint32(Skb.tc_index, true) & 0xffff;
  s.tcClassid = dv.getUint32(Skb.tc_classid, true);
  s.queueMapping = dv.getUint32(Skb.queue_mapping, true) & 0xffff;
}

/** Restore the read-only fields a program may have scribbled over (the kernel would not have let it). */
export function sanitizeSkb(
  rc: RunContext,
  dv: DataView,
  bytes: Uint8Array,
  p: PacketBuffer,
  cbSaved: Uint8Array,
): void {
  cbSaved.set(bytes.subarray(Skb.cb, Skb.cb + 20));
  readBackSkb(rc, dv);
  bytes.fill(0);
  writeSkb(rc, dv, p);
  bytes.set(cbSaved, Skb.cb);
}
