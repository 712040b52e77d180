/**
 * Which context fields a program type may read or write, and what a load of each gives (the kernel's
 * is_valid_access callbacks for __sk_buff, xdp_md and the tracing contexts here; the cgroup and socket
 * contexts in ctx-sock.ts; syscall, flow_dissector, cgroup_device and raw_tracepoint_writable in ctx-more.ts). Fields bpfkit has not modelled are refused, so a program that touches one is
 * reported rather than wrongly accepted.
 */
import { ProgType } from '../uapi/types.js';
import type { CtxField } from './ctx-field.js';
import { isMoreCtxType, moreCtxAccess } from './ctx-more.js';
import { NETFILTER } from './netfilter.js';
import { CGROUP_SOCKOPT, isSockCtxType, sockCtxAccess } from './ctx-sock.js';
import { isConst } from './scalar.js';
import type { Reg } from './state.js';
import { tstr } from './tnum.js';

export type { CtxField } from './ctx-field.js';

const SKB_SIZE = 192;
const XDP_MD_SIZE = 24;

// struct __sk_buff offsets (include/uapi/linux/bpf.h).
const SKB = {
  len: 0,
  mark: 8,
  queueMapping: 12,
  priority: 32,
  tcIndex: 44,
  cb0: 48,
  cbEnd: 68,
  tcClassid: 72,
  data: 76,
  dataEnd: 80,
  napiId: 84,
  family: 88,
  localPortEnd: 140,
  dataMeta: 140,
  flowKeys: 144,
  tstamp: 152,
  wireLen: 160,
  gsoSegs: 164,
  sk: 168,
  gsoSize: 176,
  tstampType: 180,
  hwtstamp: 184,
};

/** Program types whose context bpfkit models. */
export function ctxModelled(type: number): boolean {
  switch (type) {
    case ProgType.SOCKET_FILTER:
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.XDP:
    case ProgType.CGROUP_SKB:
    case ProgType.SK_SKB:
    case ProgType.KPROBE:
    case ProgType.TRACEPOINT:
    case ProgType.RAW_TRACEPOINT:
    case ProgType.PERF_EVENT:
    case ProgType.LWT_IN:
    case ProgType.LWT_OUT:
    case ProgType.LWT_XMIT:
    case ProgType.LWT_SEG6LOCAL:
    case NETFILTER:
      return true;
    default:
      return isSockCtxType(type) || isMoreCtxType(type);
  }
}

/**
 * may_access_direct_pkt_data for a store: the types whose packet (or message, or option buffer) the
 * program may write through a packet pointer. cgroup_skb reads its packet only.
 */
export const pktWritable = (type: number): boolean =>
  type === ProgType.SCHED_CLS ||
  type === ProgType.SCHED_ACT ||
  type === ProgType.XDP ||
  type === ProgType.SK_SKB ||
  type === ProgType.LWT_XMIT ||
  type === ProgType.SK_MSG ||
  type === CGROUP_SOCKOPT;

/**
 * may_access_direct_pkt_data for a helper's memory argument: cgroup_sockopt hands its option buffer to
 * any helper, sock_ops its TCP header to none; elsewhere the helper's own pkt_access flag decides
 * (undefined).
 */
export function pktHelperAccess(type: number): boolean | undefined {
  if (type === CGROUP_SOCKOPT) return true;
  return type === ProgType.SOCK_OPS ? false : undefined;
}

/**
 * The lightweight tunnel types (lwt_in, lwt_out, lwt_xmit, lwt_seg6local): a __sk_buff on a route's way
 * in or out, all read by lwt_is_valid_access.
 */
export const isLwtType = (type: number): boolean =>
  type === ProgType.LWT_IN ||
  type === ProgType.LWT_OUT ||
  type === ProgType.LWT_XMIT ||
  type === ProgType.LWT_SEG6LOCAL;

/** Program types whose context is a __sk_buff. */
export const isSkbType = (type: number): boolean =>
  type === ProgType.SOCKET_FILTER ||
  type === ProgType.SCHED_CLS ||
  type === ProgType.SCHED_ACT ||
  type === ProgType.CGROUP_SKB ||
  type === ProgType.SK_SKB ||
  isLwtType(type);

const narrowOk = (off: number, size: number) => size <= 4 && (size & (size - 1)) === 0 && off % size === 0;

/**
 * Fields a type refuses before the common __sk_buff rules (cg_skb_is_valid_access, sk_skb_is_valid_access,
 * lwt_is_valid_access).
 */
function skbTypeRule(type: number, off: number, write: boolean): 'refuse' | 'allow' | undefined {
  const at = (field: number, size = 4) => off >= field && off < field + size;
  if (isLwtType(type)) {
    if (
      at(SKB.tcClassid) ||
      (off >= SKB.family && off < SKB.localPortEnd) ||
      at(SKB.dataMeta) ||
      at(SKB.tstamp, 8) ||
      at(SKB.wireLen) ||
      at(SKB.hwtstamp, 8)
    )
      return 'refuse';
    if (!write) return undefined;
    return at(SKB.mark) || at(SKB.priority) || (off >= SKB.cb0 && off < SKB.cbEnd) ? 'allow' : 'refuse';
  }
  if (type === ProgType.CGROUP_SKB) {
    if (at(SKB.tcClassid) || at(SKB.dataMeta) || at(SKB.wireLen)) return 'refuse';
    if (!write) return undefined;
    return at(SKB.mark) || at(SKB.priority) || (off >= SKB.cb0 && off < SKB.cbEnd) || at(SKB.tstamp, 8)
      ? 'allow'
      : 'refuse';
  }
  if (type === ProgType.SK_SKB) {
    if (at(SKB.tcClassid) || at(SKB.dataMeta) || at(SKB.tstamp, 8) || at(SKB.wireLen) || at(SKB.hwtstamp, 8))
      return 'refuse';
    if (write) return at(SKB.tcIndex) || at(SKB.priority) ? 'allow' : 'refuse';
    if (at(SKB.mark)) return 'refuse';
  }
  return undefined;
}

/** Is `off` inside the 4-byte field at `field`? */
const at4 = (off: number, field: number): boolean => off >= field && off < field + 4;

function skbAccess(type: number, off: number, size: number, write: boolean): CtxField | undefined {
  if (off < 0 || off >= SKB_SIZE || off % size !== 0) return undefined;
  const tc = type === ProgType.SCHED_CLS || type === ProgType.SCHED_ACT;
  // Types that see the packet through data/data_end (all but socket filters).
  const direct = type !== ProgType.SOCKET_FILTER;
  const inCb = off >= SKB.cb0 && off < SKB.cbEnd;
  const rule = skbTypeRule(type, off, write);
  if (rule === 'refuse') return undefined;
  if (write) {
    const writable =
      rule === 'allow' ||
      (type !== ProgType.CGROUP_SKB &&
        type !== ProgType.SK_SKB &&
        (inCb ||
          (tc &&
            (off === SKB.mark ||
              off === SKB.priority ||
              off === SKB.tcIndex ||
              off === SKB.tcClassid ||
              off === SKB.queueMapping ||
              (off >= SKB.tstamp && off < SKB.tstamp + 8)))));
    if (!writable) return undefined;
    if (off >= SKB.tstamp && off < SKB.tstamp + 8)
      return off === SKB.tstamp && size === 8 ? { kind: 'scalar' } : undefined;
    if (size !== 4 && !(inCb && size <= 8 && off + size <= SKB.cbEnd)) return undefined;
    return { kind: 'scalar' };
  }
  if (off >= SKB.data && off < SKB.data + 4)
    return direct && size === 4 && off === SKB.data ? { kind: 'pkt' } : undefined;
  if (off >= SKB.dataEnd && off < SKB.dataEnd + 4)
    return direct && size === 4 && off === SKB.dataEnd ? { kind: 'pkt_end' } : undefined;
  if (off >= SKB.dataMeta && off < SKB.dataMeta + 4)
    return tc && size === 4 && off === SKB.dataMeta ? { kind: 'pkt_meta' } : undefined;
  // bpf_skb_is_valid_access: `sk` is read whole (8 bytes, never written) as sock_common_or_null, by
  // every __sk_buff type; flow keys and tstamp_type are never the program's.
  if (off === SKB.sk) return size === 8 ? { kind: 'sock_common', nullable: true } : undefined;
  // Socket addresses and ports: cgroup_skb and sk_skb read them (narrowly); tc and socket filters may not.
  if (off >= SKB.family && off < SKB.localPortEnd)
    // (the IPv4 and IPv6 addresses are read whole words only).
    return (type === ProgType.CGROUP_SKB || type === ProgType.SK_SKB) &&
      narrowOk(off, size) &&
      (size === 4 || off < SKB.family + 4 || off >= SKB.family + 44)
      ? { kind: 'scalar' }
      : undefined;
  // Plain u32 fields past flow_keys, read narrowly anywhere inside (bpf_ctx_narrow_access_ok), as the
  // fields before it are.
  if (at4(off, SKB.gsoSegs) || at4(off, SKB.gsoSize)) return narrowOk(off, size) ? { kind: 'scalar' } : undefined;
  if (tc && at4(off, SKB.wireLen)) return narrowOk(off, size) ? { kind: 'scalar' } : undefined;
  // The 8-byte timestamps: tc and cgroup_skb read both (sk_skb and socket filters were refused above).
  if ((tc || type === ProgType.CGROUP_SKB) && (off === SKB.tstamp || off === SKB.hwtstamp))
    return size === 8 ? { kind: 'scalar' } : undefined;
  // tc_cls_act_is_valid_access: tstamp_type is tc's to read, one byte.
  if (tc && off === SKB.tstampType) return size === 1 ? { kind: 'scalar' } : undefined;
  if (off >= SKB.flowKeys) return undefined;
  if (!tc && off === SKB.tcClassid) return undefined;
  if (inCb)
    return size <= 8 && off + size <= SKB.cbEnd && (size === 8 ? off % 8 === 0 : true) ? { kind: 'scalar' } : undefined;
  return narrowOk(off, size) ? { kind: 'scalar' } : undefined;
}

/** struct pt_regs on x86-64: 21 eight-byte registers. */
const PT_REGS_SIZE = 168;
/** PERF_MAX_TRACE_SIZE: how far a tracepoint's record may be read. */
const TRACE_RECORD_SIZE = 8192;
/** Raw tracepoints: up to MAX_BPF_FUNC_ARGS (12) u64 arguments. */
const RAW_TP_ARGS_SIZE = 12 * 8;

/**
 * Tracing contexts are read-only scalars: kprobe (pt_regs), tracepoint (the raw record), raw_tp (the
 * arguments) and perf_event (pt_regs, then sample_period and addr, which may be read narrowly).
 */
function tracingAccess(type: number, off: number, size: number, write: boolean): CtxField | undefined {
  if (write || off % size !== 0) return undefined;
  const scalar: CtxField = { kind: 'scalar' };
  switch (type) {
    case ProgType.KPROBE:
      return off >= 0 && off + size <= PT_REGS_SIZE ? scalar : undefined;
    case ProgType.TRACEPOINT:
      // The record's first eight bytes (the common header) are not the program's to read. The kernel
      // compares the offset with sizeof(void *) unsigned, so negative offsets pass: so they do here.
      return (off < 0 || off >= 8) && off < TRACE_RECORD_SIZE ? scalar : undefined;
    case ProgType.RAW_TRACEPOINT:
      return off >= 0 && off < RAW_TP_ARGS_SIZE ? scalar : undefined;
    case ProgType.PERF_EVENT:
      if (off < 0 || off >= PT_REGS_SIZE + 16) return undefined;
      if (off >= PT_REGS_SIZE) return (size & (size - 1)) === 0 && size <= 8 ? scalar : undefined;
      return size === 8 ? scalar : undefined;
    default:
      return undefined;
  }
}

/** BPF_XDP_DEVMAP: an XDP program run by a devmap, which may read xdp_md->egress_ifindex. */
const XDP_DEVMAP = 33;

function xdpAccess(off: number, size: number, write: boolean, attachType?: number): CtxField | undefined {
  // egress_ifindex, the last field, is there only for programs attached to a devmap.
  const end = attachType === XDP_DEVMAP ? XDP_MD_SIZE : XDP_MD_SIZE - 4;
  if (write || off < 0 || off >= end || size !== 4 || off % 4 !== 0) return undefined;
  if (off === 0) return { kind: 'pkt' };
  if (off === 4) return { kind: 'pkt_end' };
  if (off === 8) return { kind: 'pkt_meta' };
  return { kind: 'scalar' };
}

/** The field a program of `type` reaches at ctx+off with `size` bytes, or undefined when the kernel refuses it. */
export function ctxAccess(
  type: number,
  off: number,
  size: number,
  write: boolean,
  attachType?: number,
): CtxField | undefined {
  if (type === ProgType.XDP) return xdpAccess(off, size, write, attachType);
  if (isSkbType(type)) return skbAccess(type, off, size, write);
  if (isSockCtxType(type)) return sockCtxAccess(type, off, size, write, attachType);
  if (isMoreCtxType(type)) return moreCtxAccess(type, off, size, write);
  return tracingAccess(type, off, size, write);
}

/**
 * What the kernel says of a ctx pointer that is not the context itself (__check_ptr_off_reg, for loads,
 * stores, helper arguments and LD_ABS's R6): a negative or any fixed offset, then a variable one (the
 * kernel lets a ctx pointer move by a variable, and refuses it wherever it is used). Undefined when fine.
 */
export function ctxOffFault(reg: Reg, regno: number): string | undefined {
  if (reg.off < 0) return `negative offset ctx ptr R${regno} off=${reg.off} disallowed`;
  if (reg.off !== 0) return `dereference of modified ctx ptr R${regno} off=${reg.off} disallowed`;
  if (!isConst(reg.s) || reg.s.t.value !== 0n) return `variable ctx access var_off=${tstr(reg.s.t)} disallowed`;
  return undefined;
}
