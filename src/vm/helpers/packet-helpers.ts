/**
 * Packet helpers for skb programs (socket filter, tc) and XDP: loads and stores, checksum fix-ups, VLAN
 * push/pop, redirects (recorded as the verdict), perf_event_output with packet bytes appended, and XDP's
 * head/tail adjustment. Offsets are relative to skb->data / xdp->data, bounds are the current packet,
 * error codes are the kernel's.
 */
import type { HelperCall } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import type { PacketBuffer } from '../contexts/packet-buffer.js';
import { E } from '../maps/base.js';
import { PerfEventArrayMap } from '../maps/perf-event-array.js';
import { VmError } from '../vm-error.js';
import { helperName } from './helper-names.js';
import { csumFrom32To16, csumPartial, csumReplace2, csumReplace4, csumReplaceByDiff, csumSub } from './checksum.js';

const EFAULT = 14;
const BPF_F_RECOMPUTE_CSUM = 1;
const BPF_F_INVALIDATE_HASH = 2;
const BPF_F_HDR_FIELD_MASK = 0xf;
const BPF_F_PSEUDO_HDR = 1 << 4;
const BPF_F_MARK_MANGLED_0 = 1 << 5;
const BPF_F_MARK_ENFORCE = 1 << 6;
const BPF_F_IPV6 = 1 << 7;
const BPF_F_INGRESS = 1;
const CSUM_MANGLED_0 = 0xffff;
export const TC_ACT_SHOT = 2;
export const TC_ACT_REDIRECT = 7;
export const XDP_ABORTED = 0;
export const XDP_REDIRECT = 4;
const ETH_HLEN = 14;
/** sizeof(struct xdp_frame) on 64-bit: the part of the headroom bpf_xdp_adjust_head may not claim. */
const XDP_FRAME_SIZE = 40;

function pkt(call: HelperCall): PacketBuffer {
  const p = (call.context as RunContext).packet;
  if (!p)
    throw new VmError('helper', `${helperName(call.id)} needs a packet and this run has none`, {
      pc: call.pc,
      program: call.program.name,
    });
  return p;
}

export function skbLoadBytes(call: HelperCall): void {
  const p = pkt(call);
  const off = call.argU32(2);
  const len = call.argU32(4);
  // (check, not view: no object per call — this runs once per packet in many programs)
  const addr = call.argPtr(3);
  const r = call.memory.check(addr, len, true, call.pc);
  const to = r.bytes;
  const at = addr - r.base;
  call.chargeBytes(len);
  if (off > 0x7fffffff || off + len > p.length) {
    to.fill(0, at, at + len);
    return call.retI32(-EFAULT);
  }
  const from = p.bytes;
  const start = p.data + off;
  // a short copy between different buffers as a loop: subarray() + set() allocate a view per call
  if (len <= 64 && from.buffer !== to.buffer) for (let i = 0; i < len; i++) to[at + i] = from[start + i] as number;
  else to.set(from.subarray(start, start + len), at);
  call.ret(0);
}

/** bpf_skb_load_bytes_relative: start_header 0 = MAC, 1 = network header. */
export function skbLoadBytesRelative(call: HelperCall): void {
  const p = pkt(call);
  const off = call.argU32(2);
  const len = call.argU32(4);
  const hdr = call.argNumber(5);
  const to = call.memory.view(call.argPtr(3), len, true, call.pc);
  call.chargeBytes(len);
  const start = hdr === 0 ? p.mac : hdr === 1 ? p.net : -1;
  if (start < 0 || off > 0xffff || start + off + len > p.end) {
    to.bytes.fill(0, to.offset, to.offset + len);
    return call.retI32(start < 0 ? -E.EINVAL : -EFAULT);
  }
  to.bytes.set(p.bytes.subarray(start + off, start + off + len), to.offset);
  call.ret(0);
}

export function skbStoreBytes(call: HelperCall): void {
  const p = pkt(call);
  const rc = call.context as RunContext;
  const off = call.argU32(2);
  const len = call.argU32(4);
  const flags = call.argNumber(5);
  // (flags is a u64: an upper half is as invalid as any other unknown bit)
  if (call.argHi(5) !== 0 || flags & ~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH)) return call.retI32(-E.EINVAL);
  if (off > 0x7fffffff || off + len > p.length) return call.retI32(-EFAULT);
  const from = call.memory.view(call.argPtr(3), len, false, call.pc);
  call.chargeBytes(len);
  p.bytes.set(from.bytes.subarray(from.offset, from.offset + len), p.data + off);
  // The packet's bounds do not move, so the context needs no rewrite, except for the hash.
  if (flags & BPF_F_INVALIDATE_HASH && rc.skb) {
    rc.skb.hash = 0;
    rc.syncCtx();
  }
  call.ret(0);
}

function csumField(p: PacketBuffer, off: number): number {
  return p.bytes[p.data + off]! | (p.bytes[p.data + off + 1]! << 8);
}
function setCsumField(p: PacketBuffer, off: number, v: number): void {
  p.bytes[p.data + off] = v & 0xff;
  p.bytes[p.data + off + 1] = (v >>> 8) & 0xff;
}

export function l3CsumReplace(call: HelperCall): void {
  const p = pkt(call);
  const off = call.argU32(2);
  const from = call.argU32(3);
  const to = call.argU32(4);
  const flags = call.argNumber(5);
  if (call.argHi(5) !== 0 || flags & ~BPF_F_HDR_FIELD_MASK) return call.retI32(-E.EINVAL);
  if (off > 0xffff || off & 1 || off + 2 > p.length) return call.retI32(-EFAULT);
  const sum = csumField(p, off);
  switch (flags & BPF_F_HDR_FIELD_MASK) {
    case 0:
      if (from !== 0 || call.argHi(3) !== 0) return call.retI32(-E.EINVAL); // (from is a u64)
      setCsumField(p, off, csumReplaceByDiff(sum, to));
      break;
    case 2:
      setCsumField(p, off, csumReplace2(sum, from & 0xffff, to & 0xffff));
      break;
    case 4:
      setCsumField(p, off, csumReplace4(sum, from, to));
      break;
    default:
      return call.retI32(-E.EINVAL);
  }
  call.ret(0);
}

/**
 * bpf_l4_csum_replace. The VM's skbs are CHECKSUM_NONE (as a BPF_PROG_TEST_RUN skb is), so the field is
 * updated incrementally whatever BPF_F_PSEUDO_HDR says — the flag only matters for CHECKSUM_PARTIAL skbs.
 */
export function l4CsumReplace(call: HelperCall): void {
  const p = pkt(call);
  const off = call.argU32(2);
  const from = call.argU32(3);
  const to = call.argU32(4);
  const flags = call.argNumber(5);
  if (
    call.argHi(5) !== 0 ||
    flags & ~(BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | BPF_F_IPV6 | BPF_F_HDR_FIELD_MASK)
  ) {
    return call.retI32(-E.EINVAL);
  }
  if (off > 0xffff || off & 1 || off + 2 > p.length) return call.retI32(-EFAULT);
  const mangled0 = (flags & BPF_F_MARK_MANGLED_0) !== 0;
  let sum = csumField(p, off);
  if (mangled0 && !(flags & BPF_F_MARK_ENFORCE) && sum === 0) return call.ret(0);
  switch (flags & BPF_F_HDR_FIELD_MASK) {
    case 0:
      if (from !== 0 || call.argHi(3) !== 0) return call.retI32(-E.EINVAL); // (from is a u64)
      sum = csumReplaceByDiff(sum, to);
      break;
    case 2:
      sum = csumReplace2(sum, from & 0xffff, to & 0xffff);
      break;
    case 4:
      sum = csumReplace4(sum, from, to);
      break;
    default:
      return call.retI32(-E.EINVAL);
  }
  if (mangled0 && sum === 0) sum = CSUM_MANGLED_0;
  setCsumField(p, off, sum);
  call.ret(0);
}

/**
 * bpf_csum_diff (Linux >= 6.13: any sizes, no scratch-buffer limit, and the result folded to 16 bits on
 * every architecture — verified against 6.18, which accepts a 3-byte `from`).
 */
export function csumDiff(call: HelperCall): void {
  const fromSize = call.argU32(2);
  const toSize = call.argU32(4);
  const seed = call.argU32(5);
  let r: number;
  const fromPtr = call.argPtr(1);
  const toPtr = call.argPtr(3);
  call.chargeBytes(fromSize + toSize);
  const partial = (addr: number, len: number, s: number): number => {
    if (len === 0) return s >>> 0;
    const v = call.memory.view(addr, len, false, call.pc);
    return csumPartial(v.bytes, v.offset, len, s);
  };
  if (fromSize && toSize) r = csumSub(partial(toPtr, toSize, seed), partial(fromPtr, fromSize, 0));
  else if (toSize) r = partial(toPtr, toSize, seed);
  else if (fromSize) r = ~partial(fromPtr, fromSize, ~seed >>> 0) >>> 0;
  else r = seed;
  call.ret(csumFrom32To16(r));
}

/** bpf_csum_update: acts on CHECKSUM_COMPLETE skbs only; the VM's are CHECKSUM_NONE, where the kernel returns -ENOTSUPP. */
export function csumUpdate(call: HelperCall): void {
  call.retI32(-E.ENOTSUPP);
}

export function redirect(call: HelperCall): void {
  const rc = call.context as RunContext;
  const ifindex = call.argU32(1);
  const flags = call.argNumber(2);
  const xdp = rc.progType === 6;
  if (xdp ? flags !== 0 : flags & ~BPF_F_INGRESS) return call.ret(xdp ? XDP_ABORTED : TC_ACT_SHOT);
  rc.verdicts.push({ kind: 'redirect', ifindex, flags });
  call.ret(xdp ? XDP_REDIRECT : TC_ACT_REDIRECT);
}

export function cloneRedirect(call: HelperCall): void {
  const rc = call.context as RunContext;
  const flags = call.argNumber(3);
  if (flags & ~BPF_F_INGRESS) return call.retI32(-E.EINVAL);
  rc.verdicts.push({ kind: 'clone_redirect', ifindex: call.argU32(2), flags, packet: pkt(call).packet() });
  call.ret(0);
}

const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const isVlan = (proto: number) => proto === ETH_P_8021Q || proto === ETH_P_8021AD;
const be16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;

/** Remove the VLAN tag that follows the MAC addresses; returns its TCI (the kernel's __skb_vlan_pop). */
function popPayloadTag(rc: RunContext, p: PacketBuffer): number {
  const tci = be16(p.bytes, p.mac + 14);
  p.remove(p.mac + 12, 4);
  rc.skb!.protocol = be16(p.bytes, p.mac + 12);
  return tci;
}

export function skbVlanPush(call: HelperCall): void {
  const rc = call.context as RunContext;
  const p = pkt(call);
  const proto = ((call.argU32(2) & 0xff) << 8) | ((call.argU32(2) >>> 8) & 0xff); // __be16 argument
  const tci = call.argU32(3) & 0xffff;
  // The kernel quietly takes any other protocol as 802.1Q.
  const vproto = isVlan(proto) ? proto : ETH_P_8021Q;
  const s = rc.skb!;
  if (s.vlanPresent) {
    // The accelerated tag moves into the payload, the new one takes its place (skb_vlan_push).
    p.insert(p.mac + 12, 4);
    p.bytes[p.mac + 12] = s.vlanProto >>> 8;
    p.bytes[p.mac + 13] = s.vlanProto & 0xff;
    p.bytes[p.mac + 14] = s.vlanTci >>> 8;
    p.bytes[p.mac + 15] = s.vlanTci & 0xff;
    s.protocol = s.vlanProto;
  }
  s.vlanPresent = 1;
  s.vlanProto = vproto;
  s.vlanTci = tci;
  rc.syncCtx();
  call.ret(0);
}

export function skbVlanPop(call: HelperCall): void {
  const rc = call.context as RunContext;
  const p = pkt(call);
  const s = rc.skb!;
  if (s.vlanPresent) {
    s.vlanPresent = 0;
    s.vlanTci = 0;
  } else {
    if (!isVlan(s.protocol)) return call.ret(0);
    if (p.end - p.mac < 18) return call.retI32(-E.EINVAL);
    popPayloadTag(rc, p);
  }
  if (isVlan(s.protocol) && p.end - p.mac >= 18) {
    const proto = s.protocol;
    const tci = popPayloadTag(rc, p);
    s.vlanPresent = 1;
    s.vlanProto = proto;
    s.vlanTci = tci;
  }
  rc.syncCtx();
  call.ret(0);
}

const BPF_F_CURRENT_CPU = 0xffffffff;

/** bpf_perf_event_output (skb and XDP flavours: the upper 32 bits of flags ask for packet bytes). */
export function perfEventOutput(call: HelperCall): void {
  const rc = call.context as RunContext;
  const m = rc.maps[call.lo[2]!];
  if (!(m instanceof PerfEventArrayMap)) {
    throw new VmError('helper', 'bpf_perf_event_output needs a perf event array map', {
      pc: call.pc,
      program: call.program.name,
    });
  }
  const index = call.argU32(3);
  const ctxLen = call.argHi(3) & 0xfffff;
  if (call.argHi(3) & ~0xfffff) return call.retI32(-E.EINVAL);
  const size = call.argNumber(5);
  const data = call.memory.read(call.argPtr(4), size, call.pc);
  call.chargeBytes(size + ctxLen);
  let record = data;
  if (ctxLen) {
    const p = rc.packet;
    if (!p || ctxLen > p.length) return call.retI32(-EFAULT);
    record = new Uint8Array(size + ctxLen);
    record.set(data);
    record.set(p.bytes.subarray(p.data, p.data + ctxLen), size);
  }
  const slot = index === BPF_F_CURRENT_CPU ? rc.host.cpu : index;
  call.retI32(m.output(slot, record));
}

export function xdpAdjustHead(call: HelperCall): void {
  const rc = call.context as RunContext;
  const p = pkt(call);
  const delta = call.argI32(2);
  const metalen = p.data - p.meta;
  const data = p.data + delta;
  if (data < XDP_FRAME_SIZE + metalen || data > p.end - ETH_HLEN) return call.retI32(-E.EINVAL);
  if (metalen) p.bytes.copyWithin(p.meta + delta, p.meta, p.data);
  p.meta += delta;
  p.data = data;
  p.mac = data;
  rc.syncCtx();
  call.ret(0);
}

export function xdpAdjustTail(call: HelperCall): void {
  const rc = call.context as RunContext;
  const p = pkt(call);
  const delta = call.argI32(2);
  const end = p.end + delta;
  if (end > p.hardEnd || end < p.data + ETH_HLEN) return call.retI32(-E.EINVAL);
  if (delta > 0) p.bytes.fill(0, p.end, end);
  p.end = end;
  p.remap();
  rc.syncCtx();
  call.ret(0);
}

/** bpf_xdp_adjust_meta: metadata lives between data_meta and data, at most 32 bytes, 4-byte multiples. */
export function xdpAdjustMeta(call: HelperCall): void {
  const rc = call.context as RunContext;
  const p = pkt(call);
  const delta = call.argI32(2);
  const meta = p.meta + delta;
  const metalen = p.data - meta;
  if (meta < XDP_FRAME_SIZE || meta > p.data) return call.retI32(-E.EINVAL);
  if (metalen & 3 || metalen > 32) return call.retI32(-E.EACCES);
  p.meta = meta;
  rc.syncCtx();
  call.ret(0);
}
