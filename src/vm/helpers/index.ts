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

/** Which program types may call a helper. */
export type HelperScope = 'all' | 'skb' | 'tc' | 'xdp' | 'tc+xdp';

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

function skbPullData(call: Parameters<HelperFn>[0]): void {
  const p = (call.context as { packet?: { length: number } }).packet;
  call.retI32(p && call.argU32(2) <= p.length ? 0 : -12);
}

/** Every kernel helper the VM implements, with the kernel's numbers. */
export const HELPERS: readonly HelperDef[] = [
  { id: 1, name: 'map_lookup_elem', fn: mh.mapLookupElem, scope: 'all' },
  { id: 2, name: 'map_update_elem', fn: mh.mapUpdateElem, scope: 'all' },
  { id: 3, name: 'map_delete_elem', fn: mh.mapDeleteElem, scope: 'all' },
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
  { id: 18, name: 'skb_vlan_push', fn: ph.skbVlanPush, scope: 'tc' },
  { id: 19, name: 'skb_vlan_pop', fn: ph.skbVlanPop, scope: 'tc' },
  { id: 23, name: 'redirect', fn: ph.redirect, scope: 'tc+xdp' },
  { id: 25, name: 'perf_event_output', fn: ph.perfEventOutput, scope: 'all' },
  { id: 26, name: 'skb_load_bytes', fn: ph.skbLoadBytes, scope: 'skb' },
  { id: 28, name: 'csum_diff', fn: ph.csumDiff, scope: 'tc+xdp' },
  { id: 39, name: 'skb_pull_data', fn: skbPullData, scope: 'tc' },
  { id: 40, name: 'csum_update', fn: ph.csumUpdate, scope: 'tc' },
  { id: 42, name: 'get_numa_node_id', fn: xh.getNumaNodeId, scope: 'all' },
  { id: 44, name: 'xdp_adjust_head', fn: ph.xdpAdjustHead, scope: 'xdp' },
  { id: 54, name: 'xdp_adjust_meta', fn: ph.xdpAdjustMeta, scope: 'xdp' },
  { id: 65, name: 'xdp_adjust_tail', fn: ph.xdpAdjustTail, scope: 'xdp' },
  { id: 68, name: 'skb_load_bytes_relative', fn: ph.skbLoadBytesRelative, scope: 'skb' },
  { id: 87, name: 'map_push_elem', fn: mh.mapPushElem, scope: 'all' },
  { id: 88, name: 'map_pop_elem', fn: mh.mapPopElem, scope: 'all' },
  { id: 89, name: 'map_peek_elem', fn: mh.mapPeekElem, scope: 'all' },
  { id: 164, name: 'for_each_map_elem', fn: cb.forEachMapElem, scope: 'all' },
  { id: 181, name: 'loop', fn: cb.loop, scope: 'all' },
  { id: 125, name: 'ktime_get_boot_ns', fn: xh.ktimeGetBootNs, scope: 'all' },
  { id: 130, name: 'ringbuf_output', fn: mh.ringbufOutput, scope: 'all' },
  { id: 131, name: 'ringbuf_reserve', fn: mh.ringbufReserve, scope: 'all' },
  { id: 132, name: 'ringbuf_submit', fn: mh.ringbufSubmit, scope: 'all' },
  { id: 133, name: 'ringbuf_discard', fn: mh.ringbufDiscard, scope: 'all' },
  { id: 134, name: 'ringbuf_query', fn: mh.ringbufQuery, scope: 'all' },
];

export const helperById = new Map(HELPERS.map((h) => [h.id, h]));

/** May a program of `type` call this helper? Types without a packet context get the 'all' set. */
export function helperAllowed(h: HelperDef, type: number): boolean {
  switch (h.scope) {
    case 'all':
      return true;
    case 'skb':
      return type === S || type === CLS || type === ACT;
    case 'tc':
      return type === CLS || type === ACT;
    case 'xdp':
      return type === XDP;
    case 'tc+xdp':
      return type === CLS || type === ACT || type === XDP;
  }
}

/** Names of well-known helpers the VM does not implement, for clear refusals ("bpf_fib_lookup (69)"). */
export const UNIMPLEMENTED_NAMES: Record<number, string> = {
  4: 'probe_read',
  16: 'get_current_comm',
  17: 'get_cgroup_classid',
  20: 'skb_get_tunnel_key',
  21: 'skb_set_tunnel_key',
  22: 'perf_event_read',
  24: 'get_route_realm',
  27: 'get_stackid',
  29: 'skb_get_tunnel_opt',
  30: 'skb_set_tunnel_opt',
  31: 'skb_change_proto',
  32: 'skb_change_type',
  33: 'skb_under_cgroup',
  34: 'get_hash_recalc',
  35: 'get_current_task',
  36: 'probe_write_user',
  37: 'current_task_under_cgroup',
  38: 'skb_change_tail',
  41: 'set_hash_invalid',
  43: 'skb_change_head',
  46: 'get_socket_cookie',
  47: 'get_socket_uid',
  48: 'set_hash',
  50: 'skb_adjust_room',
  51: 'redirect_map',
  69: 'fib_lookup',
  112: 'probe_read_user',
  113: 'probe_read_kernel',
  114: 'probe_read_user_str',
  115: 'probe_read_kernel_str',
  118: 'jiffies64',
  160: 'ktime_get_coarse_ns',
  165: 'snprintf',
  177: 'trace_vprintk',
  188: 'xdp_get_buff_len',
  189: 'xdp_load_bytes',
  190: 'xdp_store_bytes',
  208: 'ktime_get_tai_ns',
};

/** Helper `id` as errors name it: `bpf_map_lookup_elem (1)`, or `helper 999` when unknown. */
export function helperName(id: number): string {
  const n = helperById.get(id)?.name ?? UNIMPLEMENTED_NAMES[id];
  return n ? `bpf_${n} (${id})` : `helper ${id}`;
}
