/**
 * The kernel helpers the VM provides, with the kernel's numbers (include/uapi/linux/bpf.h) and the program
 * types that may call each. The per-type sets were measured on Linux 6.18: a program calling the helper
 * was loaded with bpftool for each type, and the verifier's "cannot use helper" / "unknown func" answers
 * recorded (see docs/programs.md). A program calling a helper outside its type's set, or one the VM does
 * not implement, is refused at load time with the helper's name.
 */
import type { HelperFn } from '../helper-abi.js';
import { ProgType } from '../../uapi/types.js';
import * as mh from './map-helpers.js';
import * as ph from './packet-helpers.js';
import * as xh from './misc-helpers.js';
import * as cb from './callback-helpers.js';
import * as pr from './probe-read.js';
import * as th from './task-helpers.js';
import * as pf from './printf-helpers.js';
import * as dp from './dynptr.js';

/**
 * Which program types may call a helper: 'trace' = the tracing types only (kprobe, tracepoint, perf event,
 * raw tracepoint, tracing), 'notrace' = every type but those (measured on 6.18: ktime_get_coarse_ns).
 */
export type HelperScope = 'all' | 'skb' | 'tc' | 'xdp' | 'tc+xdp' | 'trace' | 'notrace';

/** One kernel helper the VM implements, with the program types that may call it. */
export interface HelperDef {
  id: number;
  name: string;
  fn: HelperFn;
  scope: HelperScope;
}

const S = ProgType.SOCKET_FILTER;
const CLS = ProgType.SCHED_CLS;
const ACT = ProgType.SCHED_ACT;
const XDP = ProgType.XDP;
/**
 * The tracing program types, whose helper sets build on bpf_tracing_func_proto: kprobe, tracepoint, perf
 * event, raw tracepoint, and (by number: RAW_TRACEPOINT_WRITABLE 24, TRACING 26, LSM 29) those built on them.
 */
const TRACING_TYPES: ReadonlySet<number> = new Set([
  ProgType.KPROBE,
  ProgType.TRACEPOINT,
  ProgType.PERF_EVENT,
  ProgType.RAW_TRACEPOINT,
  24,
  26,
  29,
]);

function skbPullData(call: Parameters<HelperFn>[0]): void {
  const p = (call.context as { packet?: { length: number } }).packet;
  call.retI32(p && call.argU32(2) <= p.length ? 0 : -12);
}

/** Every kernel helper the VM implements, with the kernel's numbers. */
export const HELPERS: readonly HelperDef[] = [
  { id: 1, name: 'map_lookup_elem', fn: mh.mapLookupElem, scope: 'all' },
  { id: 2, name: 'map_update_elem', fn: mh.mapUpdateElem, scope: 'all' },
  { id: 3, name: 'map_delete_elem', fn: mh.mapDeleteElem, scope: 'all' },
  { id: 4, name: 'probe_read', fn: pr.probeReadUser, scope: 'trace' },
  { id: 5, name: 'ktime_get_ns', fn: xh.ktimeGetNs, scope: 'all' },
  { id: 6, name: 'trace_printk', fn: xh.tracePrintk, scope: 'all' },
  { id: 7, name: 'get_prandom_u32', fn: xh.getPrandomU32, scope: 'all' },
  { id: 8, name: 'get_smp_processor_id', fn: xh.getSmpProcessorId, scope: 'all' },
  { id: 9, name: 'skb_store_bytes', fn: ph.skbStoreBytes, scope: 'tc' },
  { id: 10, name: 'l3_csum_replace', fn: ph.l3CsumReplace, scope: 'tc' },
  { id: 11, name: 'l4_csum_replace', fn: ph.l4CsumReplace, scope: 'tc' },
  { id: 12, name: 'tail_call', fn: xh.tailCall, scope: 'all' },
  { id: 13, name: 'clone_redirect', fn: ph.cloneRedirect, scope: 'tc' },
  { id: 14, name: 'get_current_pid_tgid', fn: xh.getCurrentPidTgid, scope: 'all' },
  { id: 15, name: 'get_current_uid_gid', fn: xh.getCurrentUidGid, scope: 'all' },
  { id: 16, name: 'get_current_comm', fn: th.getCurrentComm, scope: 'all' },
  { id: 18, name: 'skb_vlan_push', fn: ph.skbVlanPush, scope: 'tc' },
  { id: 19, name: 'skb_vlan_pop', fn: ph.skbVlanPop, scope: 'tc' },
  { id: 23, name: 'redirect', fn: ph.redirect, scope: 'tc+xdp' },
  { id: 25, name: 'perf_event_output', fn: ph.perfEventOutput, scope: 'all' },
  { id: 26, name: 'skb_load_bytes', fn: ph.skbLoadBytes, scope: 'skb' },
  { id: 28, name: 'csum_diff', fn: ph.csumDiff, scope: 'tc+xdp' },
  { id: 35, name: 'get_current_task', fn: th.getCurrentTask, scope: 'all' },
  { id: 39, name: 'skb_pull_data', fn: skbPullData, scope: 'tc' },
  { id: 40, name: 'csum_update', fn: ph.csumUpdate, scope: 'tc' },
  { id: 42, name: 'get_numa_node_id', fn: xh.getNumaNodeId, scope: 'all' },
  { id: 44, name: 'xdp_adjust_head', fn: ph.xdpAdjustHead, scope: 'xdp' },
  { id: 45, name: 'probe_read_str', fn: pr.probeReadUserStr, scope: 'trace' },
  { id: 54, name: 'xdp_adjust_meta', fn: ph.xdpAdjustMeta, scope: 'xdp' },
  { id: 65, name: 'xdp_adjust_tail', fn: ph.xdpAdjustTail, scope: 'xdp' },
  { id: 68, name: 'skb_load_bytes_relative', fn: ph.skbLoadBytesRelative, scope: 'skb' },
  { id: 87, name: 'map_push_elem', fn: mh.mapPushElem, scope: 'all' },
  { id: 88, name: 'map_pop_elem', fn: mh.mapPopElem, scope: 'all' },
  { id: 89, name: 'map_peek_elem', fn: mh.mapPeekElem, scope: 'all' },
  { id: 112, name: 'probe_read_user', fn: pr.probeReadUser, scope: 'all' },
  { id: 113, name: 'probe_read_kernel', fn: pr.probeReadKernel, scope: 'all' },
  { id: 114, name: 'probe_read_user_str', fn: pr.probeReadUserStr, scope: 'all' },
  { id: 115, name: 'probe_read_kernel_str', fn: pr.probeReadKernelStr, scope: 'all' },
  { id: 118, name: 'jiffies64', fn: th.jiffies64, scope: 'all' },
  { id: 125, name: 'ktime_get_boot_ns', fn: xh.ktimeGetBootNs, scope: 'all' },
  { id: 130, name: 'ringbuf_output', fn: mh.ringbufOutput, scope: 'all' },
  { id: 131, name: 'ringbuf_reserve', fn: mh.ringbufReserve, scope: 'all' },
  { id: 132, name: 'ringbuf_submit', fn: mh.ringbufSubmit, scope: 'all' },
  { id: 133, name: 'ringbuf_discard', fn: mh.ringbufDiscard, scope: 'all' },
  { id: 134, name: 'ringbuf_query', fn: mh.ringbufQuery, scope: 'all' },
  { id: 158, name: 'get_current_task_btf', fn: th.getCurrentTask, scope: 'all' },
  { id: 160, name: 'ktime_get_coarse_ns', fn: th.ktimeGetCoarseNs, scope: 'notrace' },
  { id: 164, name: 'for_each_map_elem', fn: cb.forEachMapElem, scope: 'all' },
  { id: 165, name: 'snprintf', fn: pf.snprintf, scope: 'all' },
  { id: 177, name: 'trace_vprintk', fn: pf.traceVprintk, scope: 'all' },
  { id: 181, name: 'loop', fn: cb.loop, scope: 'all' },
  { id: 197, name: 'dynptr_from_mem', fn: dp.dynptrFromMem, scope: 'all' },
  { id: 198, name: 'ringbuf_reserve_dynptr', fn: dp.ringbufReserveDynptr, scope: 'all' },
  { id: 199, name: 'ringbuf_submit_dynptr', fn: dp.ringbufSubmitDynptr, scope: 'all' },
  { id: 200, name: 'ringbuf_discard_dynptr', fn: dp.ringbufDiscardDynptr, scope: 'all' },
  { id: 201, name: 'dynptr_read', fn: dp.dynptrRead, scope: 'all' },
  { id: 202, name: 'dynptr_write', fn: dp.dynptrWrite, scope: 'all' },
  { id: 203, name: 'dynptr_data', fn: dp.dynptrData, scope: 'all' },
  { id: 208, name: 'ktime_get_tai_ns', fn: th.ktimeGetTaiNs, scope: 'all' },
];

export const helperById = new Map(HELPERS.map((h) => [h.id, h]));

/** May a program of `type` call this helper? Types without a packet context get the 'all' set. */
export function helperAllowed(h: HelperDef, type: number): boolean {
  switch (h.scope) {
    case 'all':
      return true;
    case 'skb':
      return type === S || type === CLS || type === ACT || type === ProgType.CGROUP_SKB;
    case 'tc':
      return type === CLS || type === ACT;
    case 'xdp':
      return type === XDP;
    case 'tc+xdp':
      return type === CLS || type === ACT || type === XDP;
    case 'trace':
      return TRACING_TYPES.has(type);
    case 'notrace':
      return !TRACING_TYPES.has(type);
  }
}

export { KERNEL_HELPER_NAMES, helperName } from './helper-names.js';
