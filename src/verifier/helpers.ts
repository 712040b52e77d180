/**
 * Helper prototypes (the kernel's bpf_func_proto, Linux 6.18) for the helpers whose arguments and results
 * bpfkit can check exactly, with the kernel's numbers, argument types, GPL restriction and the program
 * types that may call each (the per-type *_func_proto tables, with bpf_base_func_proto's CAP_BPF and
 * CAP_PERFMON parts as a privileged loader gets them). What a helper does at run time is no concern here:
 * the VM implements only some of them. A call to any other helper is refused by name: bpfkit cannot check
 * its arguments, so it must not claim the kernel would accept it.
 */
import { MapType, ProgType } from '../uapi/types.js';
import type { DynptrArgType } from './dynptr.js';
import type { SockRet } from './sock-ptr.js';
import { EVERY_TABLE_IDS, HOOK_HELPER_IDS, HOOK_HELPER_PROTOS, hookAttachAllowed } from './hook-helpers.js';

/** Argument types (the kernel's enum bpf_arg_type, the ones these helpers use). */
export type ArgType =
  | 'anything'
  | 'ctx'
  /** The context or NULL (a known zero). */
  | 'ctx_or_null'
  | 'map_ptr'
  | 'map_key'
  | 'map_value'
  /** Memory the helper reads, sized by the next argument. */
  | 'mem'
  /** Like mem, may be NULL with size 0. */
  | 'mem_or_null'
  /** Memory the helper reads and writes back, sized by the next argument (ARG_PTR_TO_MEM | MEM_WRITE). */
  | 'mem_rw'
  /** Like mem_rw, may be NULL with size 0 (bpf_snprintf's buffer: ARG_PTR_TO_MEM_OR_NULL, written). */
  | 'mem_rw_or_null'
  /** Memory the helper writes, sized by the next argument (may be uninitialized). */
  | 'uninit_mem'
  /** A map value's worth of memory the helper reads, or NULL (ARG_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL). */
  | 'map_value_or_null'
  /** A map value's worth of memory the helper writes (pop/peek). */
  | 'uninit_map_value'
  | 'const_size'
  | 'const_size_or_zero'
  /** 4 bytes the helper writes, aligned to 4 (ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED, a u32). */
  | 'aligned_u32_out'
  /** The same, 8 bytes aligned to 8 (a u64 or s64 result). */
  | 'aligned_u64_out'
  /** Ring buffer reservation size: a known constant. */
  | 'alloc_size'
  | 'ringbuf_mem'
  | 'func'
  | 'stack_or_null'
  /** ARG_PTR_TO_SOCK_COMMON: any socket pointer, not NULL (sock-ptr.ts). */
  | 'sock_common'
  /** bpf_sk_release's: a socket pointer that carries a reference (ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE). */
  | 'sk_release'
  /** A socket pointer, maybe NULL, or NULL (ARG_PTR_TO_BTF_ID_SOCK_COMMON | PTR_MAYBE_NULL). */
  | 'sock_or_null'
  /** A socket pointer, not NULL (ARG_PTR_TO_BTF_ID_SOCK_COMMON): bpfkit's sockets are never by BTF id. */
  | 'sock_btf'
  /** A full socket, maybe NULL, or NULL (ARG_PTR_TO_SOCKET_OR_NULL: sk_lookup's sk_assign). */
  | 'fullsock_or_null'
  /** ARG_PTR_TO_CONST_STR: a NUL-terminated string in a frozen read-only map, read at load (const-str.ts). */
  | 'const_str'
  /** ARG_PTR_TO_SPIN_LOCK: the map value's struct bpf_spin_lock (spin-lock.ts). */
  | 'spin_lock'
  /** ARG_PTR_TO_DYNPTR and its flags (dynptr.ts). */
  | DynptrArgType
  /** ARG_PTR_TO_BTF_ID_OR_NULL of struct task_struct, cgroup or sock_common (btf-args.ts). */
  | 'btf_task_or_null'
  /** ARG_PTR_TO_BTF_ID of struct task_struct, not NULL. */
  | 'btf_task'
  /**
   * ARG_PTR_TO_PERCPU_BTF_ID: a percpu kernel variable (a ksym), which bpfkit never has (ksyms are not
   * modelled): every other register is refused, a BTF pointer is not modelled.
   */
  | 'percpu_btf'
  | 'btf_cgroup_or_null'
  | 'btf_sock_or_null'
  /** ARG_PTR_TO_BTF_ID of struct path (bpf_d_path) and of struct file (bpf_sock_from_file). */
  | 'btf_path'
  | 'btf_file'
  /** ARG_PTR_TO_BTF_ID of struct sk_buff (bpf_skb_output) and of struct xdp_buff (bpf_xdp_output). */
  | 'btf_skb'
  | 'btf_xdp';

/**
 * What a helper returns. 'size_or_error': an integer in [-MAX_ERRNO, the size argument's maximum] (the
 * kernel's do_refine_retval_range for get_stack and the probe_read_*_str family). 'dynptr_mem_or_null':
 * RET_PTR_TO_DYNPTR_MEM_OR_NULL, a slice of the dynptr argument (dynptr.ts).
 */
export type RetType =
  | 'integer'
  | 'size_or_error'
  | 'void'
  | 'map_value'
  | 'map_value_or_null'
  | 'ringbuf_mem_or_null'
  | 'dynptr_mem_or_null'
  /** RET_PTR_TO_BTF_ID_OR_NULL of the struct `retStruct` names (btf-args.ts). */
  | 'btf_obj_or_null'
  /** RET_PTR_TO_BTF_ID: the same, never NULL. */
  | 'btf_obj'
  | SockRet;

/**
 * Which program types may call a helper: a named group (skb = any __sk_buff type, skb-rel = socket filter,
 * tc, cgroup_skb, tc+sk_skb = tc and sk_skb programs) or the list of ProgType numbers.
 */
export type Scope = 'all' | 'skb' | 'skb-rel' | 'tc' | 'tc+sk_skb' | 'xdp' | 'tc+xdp' | readonly number[];

/** One helper's prototype. */
export interface HelperProto {
  id: number;
  name: string;
  args: ArgType[];
  ret: RetType;
  /** Packet data may move: every packet pointer is invalid after the call. */
  changesPacket?: boolean;
  /**
   * The call leaves the caller's packet pointers as they are, but a global function calling it counts as
   * one that changes packet data (check_cfg's changes_pkt_data): bpf_tail_call on Linux 6.18.
   */
  changesPacketInSubprog?: boolean;
  /**
   * bpf_func_proto.pkt_access: the helper takes packet pointers for its memory arguments. Without it a
   * packet pointer in any argument but an `anything` is "helper access to the packet is not allowed".
   */
  pktAccess?: boolean;
  /** Map types the map argument may have (undefined: the lookup family's set). */
  mapTypes?: number[];
  /** Which program types may call it (a helper with several prototypes has one entry per group of types). */
  scope: Scope;
  /** bpf_func_proto.gpl_only: a program whose license is not GPL-compatible may not call it. */
  gpl?: boolean;
  /**
   * The kernel looks the helper up for these program types but refuses the call after its arguments
   * (check_get_func_ip: `func bpf_get_func_ip#173 not supported for program type 5`).
   */
  refusedAfterArgs?: readonly number[];
  /** bpf_func_proto.might_sleep: only a sleepable program may call it, and not in an RCU or non-preemptible section. */
  mightSleep?: boolean;
  /**
   * A socket result: 'acquire' takes a reference (is_acquire_function), 'cast' carries the argument's
   * (is_ptr_cast_function); absent, the socket comes with no reference.
   */
  sockRef?: 'acquire' | 'cast';
  /** 'btf_obj_or_null': the kernel struct returned (ret_btf_id). */
  retStruct?: string;
}

const LOOKUP_MAPS = [
  MapType.HASH,
  MapType.ARRAY,
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_HASH,
  MapType.LRU_PERCPU_HASH,
  MapType.LPM_TRIE,
];

const P = (
  id: number,
  name: string,
  args: ArgType[],
  ret: RetType,
  scope: Scope,
  extra: Partial<HelperProto> = {},
): HelperProto => ({ id, name, args, ret, scope, ...extra });

const {
  SOCKET_FILTER,
  KPROBE,
  SCHED_CLS,
  SCHED_ACT,
  TRACEPOINT,
  XDP,
  PERF_EVENT,
  CGROUP_SKB,
  SK_SKB,
  RAW_TRACEPOINT,
  CGROUP_SOCK,
  CGROUP_SOCK_ADDR,
  SK_MSG,
  SOCK_OPS,
  LWT_IN,
  LWT_OUT,
  LWT_XMIT,
  SK_REUSEPORT,
  CGROUP_DEVICE,
  LWT_SEG6LOCAL,
  FLOW_DISSECTOR,
} = ProgType;
/** kprobe, tracepoint, perf_event and raw_tracepoint: bpf_tracing_func_proto behind each type's own table. */
const TRACING = [KPROBE, TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT];
/** The networking types, whose tables end in bpf_sk_base_func_proto. */
const NET = [SOCKET_FILTER, SCHED_CLS, SCHED_ACT, XDP, CGROUP_SKB, SK_SKB];
const TC_CG = [SCHED_CLS, SCHED_ACT, CGROUP_SKB];
const SKB_SOCK = [SOCKET_FILTER, SCHED_CLS, SCHED_ACT, CGROUP_SKB, SK_SKB];
/** The cgroup and socket types whose helper tables bpfkit copies by number (OWN_TABLES). */
const CGROUP_SYSCTL = 23;
const CGROUP_SOCKOPT = 25;
const SK_LOOKUP = 30;
/** BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE and BPF_PROG_TYPE_SYSCALL: raw_tp's table (see helperAllowed). */
const RAW_TP_WRITABLE = 24;
const SYSCALL = 31;
/** BPF_PROG_TYPE_NETFILTER: bpf_base_func_proto alone. */
const NETFILTER = 32;
/** The cgroup hooks (cgroup_common_func_proto): they may use the cgroup's local storage. */
const CGROUP_HOOKS = [CGROUP_SOCK, CGROUP_SOCK_ADDR, CGROUP_SYSCTL, CGROUP_SOCKOPT];
const SOCK_TYPES = [...CGROUP_HOOKS, SK_MSG, SK_LOOKUP, SOCK_OPS, SK_REUSEPORT];
/** The types with the socket lookups (and bpf_sk_release): tc, xdp, cgroup_skb, sk_skb, cgroup_sock_addr. */
const SK_LOOKUPS = [SCHED_CLS, SCHED_ACT, XDP, CGROUP_SKB, SK_SKB, CGROUP_SOCK_ADDR];
/** (ctx, tuple, tuple size, netns, flags). */
const SK_LOOKUP_ARGS: ArgType[] = ['ctx', 'mem', 'const_size_or_zero', 'anything', 'anything'];
/** The types with bpf_sk_storage_get/delete taking a socket (cgroup_sock's get takes its context). */
const SK_STORAGE_TYPES = [SCHED_CLS, SCHED_ACT, CGROUP_SKB, SOCK_OPS, SK_MSG, CGROUP_SOCK_ADDR, CGROUP_SOCKOPT];
/** (socket, IP header, its size, TCP header, its size). */
const SYNCOOKIE_ARGS: ArgType[] = ['sock_btf', 'mem', 'const_size', 'mem', 'const_size'];
/** probe_read_*(dst, size, unsafe_ptr): the helper fills dst (or zeroes it on a fault). */
const PROBE_READ: ArgType[] = ['uninit_mem', 'const_size_or_zero', 'anything'];
/** get_stack(ctx, buf, size, flags): the helper fills buf (ARG_PTR_TO_UNINIT_MEM). */
const GET_STACK: ArgType[] = ['ctx', 'uninit_mem', 'const_size_or_zero', 'anything'];

/**
 * The socket casts by BTF id (bpf_skc_to_*): number, name, struct returned. All but skc_to_unix_sock are
 * is_ptr_cast_function, whose result carries the argument's reference.
 */
const SKC_CASTS: readonly (readonly [number, string, string])[] = [
  [136, 'skc_to_tcp6_sock', 'tcp6_sock'],
  [137, 'skc_to_tcp_sock', 'tcp_sock'],
  [138, 'skc_to_tcp_timewait_sock', 'tcp_timewait_sock'],
  [139, 'skc_to_tcp_request_sock', 'tcp_request_sock'],
  [140, 'skc_to_udp6_sock', 'udp6_sock'],
  [178, 'skc_to_unix_sock', 'unix_sock'],
  [196, 'skc_to_mptcp_sock', 'mptcp_sock'],
];
const SKC_IDS = SKC_CASTS.map((c) => c[0]);
/** The casts' prototypes; skc_to_mptcp_sock's socket is a plain ARG_PTR_TO_SOCK_COMMON, not a BTF one (checked on 6.18). */
const skcProto = (scope: Scope) =>
  SKC_CASTS.map(([id, name, struct]) =>
    P(id, name, [id === 196 ? 'sock_common' : 'sock_btf'], 'btf_obj_or_null', scope, {
      retStruct: struct,
      ...(id === 178 ? {} : { sockRef: 'cast' as const }),
    }),
  );

const LIST: HelperProto[] = [
  P(1, 'map_lookup_elem', ['map_ptr', 'map_key'], 'map_value_or_null', 'all', {
    mapTypes: [...LOOKUP_MAPS, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.XSKMAP],
    pktAccess: true,
  }),
  P(2, 'map_update_elem', ['map_ptr', 'map_key', 'map_value', 'anything'], 'integer', 'all', {
    mapTypes: LOOKUP_MAPS,
    pktAccess: true,
  }),
  P(3, 'map_delete_elem', ['map_ptr', 'map_key'], 'integer', 'all', { mapTypes: LOOKUP_MAPS, pktAccess: true }),
  P(5, 'ktime_get_ns', [], 'integer', 'all'),
  P(6, 'trace_printk', ['mem', 'const_size'], 'integer', 'all', { gpl: true }),
  P(7, 'get_prandom_u32', [], 'integer', 'all'),
  P(8, 'get_smp_processor_id', [], 'integer', 'all'),
  P(9, 'skb_store_bytes', ['ctx', 'anything', 'mem', 'const_size', 'anything'], 'integer', 'tc+sk_skb', {
    changesPacket: true,
  }),
  P(10, 'l3_csum_replace', ['ctx', 'anything', 'anything', 'anything', 'anything'], 'integer', 'tc', {
    changesPacket: true,
  }),
  P(11, 'l4_csum_replace', ['ctx', 'anything', 'anything', 'anything', 'anything'], 'integer', 'tc', {
    changesPacket: true,
  }),
  // A tail call may run a program that moves the packet: a global function that makes one leaves its
  // callers' packet pointers stale (Linux ≥ 6.13), and in a static function its success returns to the
  // caller that way (calls.ts); a failed one goes on with them valid (Linux 6.18, checked).
  P(12, 'tail_call', ['ctx', 'map_ptr', 'anything'], 'void', 'all', {
    mapTypes: [MapType.PROG_ARRAY],
    changesPacketInSubprog: true,
  }),
  P(13, 'clone_redirect', ['ctx', 'anything', 'anything'], 'integer', 'tc', { changesPacket: true }),
  P(14, 'get_current_pid_tgid', [], 'integer', 'all'),
  P(15, 'get_current_uid_gid', [], 'integer', 'all'),
  P(18, 'skb_vlan_push', ['ctx', 'anything', 'anything'], 'integer', 'tc', { changesPacket: true }),
  P(19, 'skb_vlan_pop', ['ctx'], 'integer', 'tc', { changesPacket: true }),
  P(23, 'redirect', ['anything', 'anything'], 'integer', 'tc+xdp'),
  P(25, 'perf_event_output', ['ctx', 'map_ptr', 'anything', 'mem', 'const_size_or_zero'], 'integer', 'all', {
    gpl: true,
    mapTypes: [MapType.PERF_EVENT_ARRAY],
  }),
  P(26, 'skb_load_bytes', ['ctx', 'anything', 'uninit_mem', 'const_size'], 'integer', 'skb'),
  P(
    28,
    'csum_diff',
    ['mem_or_null', 'const_size_or_zero', 'mem_or_null', 'const_size_or_zero', 'anything'],
    'integer',
    'tc+xdp',
    { pktAccess: true },
  ),
  P(39, 'skb_pull_data', ['ctx', 'anything'], 'integer', 'tc+sk_skb', { changesPacket: true }),
  P(40, 'csum_update', ['ctx', 'anything'], 'integer', 'tc'),
  P(42, 'get_numa_node_id', [], 'integer', 'all'),
  P(44, 'xdp_adjust_head', ['ctx', 'anything'], 'integer', 'xdp', { changesPacket: true }),
  P(54, 'xdp_adjust_meta', ['ctx', 'anything'], 'integer', 'xdp', { changesPacket: true }),
  P(65, 'xdp_adjust_tail', ['ctx', 'anything'], 'integer', 'xdp', { changesPacket: true }),
  P(68, 'skb_load_bytes_relative', ['ctx', 'anything', 'uninit_mem', 'const_size', 'anything'], 'integer', 'skb-rel'),
  P(87, 'map_push_elem', ['map_ptr', 'map_value', 'anything'], 'integer', 'all', {
    mapTypes: [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER],
    pktAccess: true,
  }),
  // pop and peek write the value out, and their prototypes do not take packet pointers (no pkt_access).
  P(88, 'map_pop_elem', ['map_ptr', 'uninit_map_value'], 'integer', 'all', {
    mapTypes: [MapType.QUEUE, MapType.STACK],
  }),
  P(89, 'map_peek_elem', ['map_ptr', 'uninit_map_value'], 'integer', 'all', {
    mapTypes: [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER],
  }),
  P(125, 'ktime_get_boot_ns', [], 'integer', 'all'),
  P(130, 'ringbuf_output', ['map_ptr', 'mem', 'const_size_or_zero', 'anything'], 'integer', 'all', {
    mapTypes: [MapType.RINGBUF],
  }),
  P(131, 'ringbuf_reserve', ['map_ptr', 'alloc_size', 'anything'], 'ringbuf_mem_or_null', 'all', {
    mapTypes: [MapType.RINGBUF],
  }),
  P(132, 'ringbuf_submit', ['ringbuf_mem', 'anything'], 'void', 'all'),
  P(133, 'ringbuf_discard', ['ringbuf_mem', 'anything'], 'void', 'all'),
  P(134, 'ringbuf_query', ['map_ptr', 'anything'], 'integer', 'all', { mapTypes: [MapType.RINGBUF] }),
  P(164, 'for_each_map_elem', ['map_ptr', 'func', 'stack_or_null', 'anything'], 'integer', 'all', {
    mapTypes: [
      MapType.HASH,
      MapType.ARRAY,
      MapType.PERCPU_HASH,
      MapType.PERCPU_ARRAY,
      MapType.LRU_HASH,
      MapType.LRU_PERCPU_HASH,
    ],
  }),
  P(181, 'loop', ['anything', 'func', 'stack_or_null', 'anything'], 'integer', 'all'),
  // The task's memory area holding an address, given to a callback (find-vma.ts); every type bpftool's
  // probe of Linux 6.18 lists has it, as task_pt_regs (bpf_base_func_proto's CAP_PERFMON part).
  P(180, 'find_vma', ['btf_task', 'anything', 'func', 'stack_or_null', 'anything'], 'integer', 'all'),
  // Dynptrs (dynptr.ts), bpf_base_func_proto's CAP_BPF part: made from a map value or a ring buffer
  // reservation, read, written and sliced; a user ring buffer's samples go to a callback as dynptrs.
  P(197, 'dynptr_from_mem', ['uninit_mem', 'const_size_or_zero', 'anything', 'dynptr_local_out'], 'integer', 'all'),
  P(198, 'ringbuf_reserve_dynptr', ['map_ptr', 'anything', 'anything', 'dynptr_ringbuf_out'], 'integer', 'all', {
    mapTypes: [MapType.RINGBUF],
  }),
  P(199, 'ringbuf_submit_dynptr', ['dynptr_ringbuf_release', 'anything'], 'void', 'all'),
  P(200, 'ringbuf_discard_dynptr', ['dynptr_ringbuf_release', 'anything'], 'void', 'all'),
  P(201, 'dynptr_read', ['uninit_mem', 'const_size_or_zero', 'dynptr_ro', 'anything', 'anything'], 'integer', 'all'),
  // A global function calling bpf_dynptr_write counts as changing packet data, whatever its dynptr
  // (Linux 6.18, checked with a local one: the caller's packet pointers die); in the same frame only a
  // write to an skb dynptr moves them (calls.ts).
  P(202, 'dynptr_write', ['dynptr_ro', 'anything', 'mem', 'const_size_or_zero', 'anything'], 'integer', 'all', {
    changesPacketInSubprog: true,
  }),
  P(203, 'dynptr_data', ['dynptr_ro', 'anything', 'alloc_size'], 'dynptr_mem_or_null', 'all'),
  P(209, 'user_ringbuf_drain', ['map_ptr', 'func', 'stack_or_null', 'anything'], 'integer', 'all', {
    mapTypes: [MapType.USER_RINGBUF],
  }),

  // The tracing workflow. Since Linux 6.14 bpf_base_func_proto hands the task and perf helpers to every
  // program type of a CAP_PERFMON loader (get_current_comm, perf_event_read...); probe_read and
  // probe_read_str (the compat pair) stay with the tracing types.
  P(4, 'probe_read', PROBE_READ, 'integer', TRACING, { gpl: true }),
  P(45, 'probe_read_str', PROBE_READ, 'size_or_error', TRACING, { gpl: true }),
  P(112, 'probe_read_user', PROBE_READ, 'integer', 'all', { gpl: true }),
  P(113, 'probe_read_kernel', PROBE_READ, 'integer', 'all', { gpl: true }),
  P(114, 'probe_read_user_str', PROBE_READ, 'size_or_error', 'all', { gpl: true }),
  P(115, 'probe_read_kernel_str', PROBE_READ, 'size_or_error', 'all', { gpl: true }),
  P(105, 'strtol', ['mem', 'const_size', 'anything', 'aligned_u64_out'], 'integer', 'all'),
  P(106, 'strtoul', ['mem', 'const_size', 'anything', 'aligned_u64_out'], 'integer', 'all'),
  P(195, 'map_lookup_percpu_elem', ['map_ptr', 'map_key', 'anything'], 'map_value_or_null', 'all', {
    mapTypes: [MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH],
    pktAccess: true,
  }),
  P(16, 'get_current_comm', ['uninit_mem', 'const_size'], 'integer', 'all'),
  P(35, 'get_current_task', [], 'integer', 'all', { gpl: true }),
  P(80, 'get_current_cgroup_id', [], 'integer', 'all'),
  P(123, 'get_current_ancestor_cgroup_id', ['anything'], 'integer', 'all'),
  P(120, 'get_ns_current_pid_tgid', ['anything', 'anything', 'uninit_mem', 'const_size'], 'integer', 'all'),
  P(109, 'send_signal', ['anything'], 'integer', 'all'),
  P(117, 'send_signal_thread', ['anything'], 'integer', 'all'),
  P(118, 'jiffies64', [], 'integer', 'all'),
  P(208, 'ktime_get_tai_ns', [], 'integer', 'all'),
  P(160, 'ktime_get_coarse_ns', [], 'integer', [
    ...NET,
    ...SOCK_TYPES.filter((t) => t !== CGROUP_SOCKOPT),
    FLOW_DISSECTOR,
    LWT_IN,
    LWT_OUT,
    LWT_XMIT,
    LWT_SEG6LOCAL,
  ]),
  P(22, 'perf_event_read', ['map_ptr', 'anything'], 'integer', 'all', {
    gpl: true,
    mapTypes: [MapType.PERF_EVENT_ARRAY],
  }),
  P(55, 'perf_event_read_value', ['map_ptr', 'anything', 'uninit_mem', 'const_size'], 'integer', 'all', {
    gpl: true,
    mapTypes: [MapType.PERF_EVENT_ARRAY],
  }),
  P(37, 'current_task_under_cgroup', ['map_ptr', 'anything'], 'integer', 'all', {
    mapTypes: [MapType.CGROUP_ARRAY],
  }),
  // bpf_get_stackid_proto_pe is the one without the GPL restriction.
  P(27, 'get_stackid', ['ctx', 'map_ptr', 'anything'], 'integer', [KPROBE, TRACEPOINT, RAW_TRACEPOINT], {
    gpl: true,
    mapTypes: [MapType.STACK_TRACE],
  }),
  P(27, 'get_stackid', ['ctx', 'map_ptr', 'anything'], 'integer', [PERF_EVENT], {
    mapTypes: [MapType.STACK_TRACE],
  }),
  // Looked up for every tracing type (bpf_tracing_func_proto), allowed only in kprobes (check_get_func_ip).
  P(173, 'get_func_ip', ['ctx'], 'integer', TRACING, {
    gpl: true,
    refusedAfterArgs: [TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT, RAW_TP_WRITABLE, SYSCALL],
  }),
  P(174, 'get_attach_cookie', ['ctx'], 'integer', TRACING),
  // bpf_get_stack: the kernel stack into a buffer it fills; the length or -errno back (do_refine_retval_range).
  // Each tracing type has its own prototype (sleepable kprobes the sleepable one), all with these arguments.
  P(67, 'get_stack', GET_STACK, 'size_or_error', [KPROBE, TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT], { gpl: true }),
  // strncmp(s1, s1_sz, s2): s2 a constant string the verifier reads (bpf_base_func_proto, every type).
  P(182, 'strncmp', ['mem', 'const_size', 'const_str'], 'integer', 'all'),
  // bpf_snprintf's format is a constant string whose conversions the verifier checks (bprintf.ts).
  P(
    165,
    'snprintf',
    ['mem_rw_or_null', 'const_size_or_zero', 'const_str', 'mem_or_null', 'const_size_or_zero'],
    'integer',
    'all',
    {
      gpl: true,
    },
  ),
  // bpf_printk with more than three arguments: the format is plain memory, checked only when it runs.
  P(177, 'trace_vprintk', ['mem', 'const_size', 'mem_or_null', 'const_size_or_zero'], 'integer', 'all', { gpl: true }),
  // The lock in a map value (bpf_base_func_proto's CAP_BPF part); which types may name such a map: spin-lock.ts.
  P(93, 'spin_lock', ['spin_lock'], 'void', 'all'),
  P(94, 'spin_unlock', ['spin_lock'], 'void', 'all'),
  // A task's kernel stack into a buffer the helper fills; the length or -errno back, as get_stack's. Every
  // type has it in Linux 6.18 (bpf_base_func_proto's CAP_PERFMON part; checked on the running kernel).
  // A percpu variable's copy on a CPU (bpf_base_func_proto's CAP_BPF part): only the refusals of arguments
  // that are no percpu ksym are modelled (btf-args.ts), so what they return is never reached.
  P(153, 'per_cpu_ptr', ['percpu_btf', 'anything'], 'integer', 'all'),
  P(154, 'this_cpu_ptr', ['percpu_btf'], 'integer', 'all'),
  // A task's saved user registers (bpf_base_func_proto's CAP_PERFMON part): a plain pt_regs pointer.
  P(175, 'task_pt_regs', ['btf_task'], 'btf_obj', 'all', { gpl: true, retStruct: 'pt_regs' }),
  P(141, 'get_task_stack', ['btf_task', 'uninit_mem', 'const_size_or_zero', 'anything'], 'size_or_error', 'all'),
  P(56, 'perf_prog_read_value', ['ctx', 'uninit_mem', 'const_size'], 'integer', [PERF_EVENT], { gpl: true }),

  // Packets: tc (and sk_skb, cgroup_skb, socket filters where their tables say so) and XDP.
  P(17, 'get_cgroup_classid', ['ctx'], 'integer', 'tc'),
  // Elsewhere the task's classid (bpf_get_cgroup_classid_curr_proto): no argument.
  P(17, 'get_cgroup_classid', [], 'integer', [
    SOCKET_FILTER,
    KPROBE,
    TRACEPOINT,
    XDP,
    PERF_EVENT,
    CGROUP_SKB,
    SK_SKB,
    RAW_TRACEPOINT,
    ...SOCK_TYPES,
    CGROUP_DEVICE,
    FLOW_DISSECTOR,
    NETFILTER,
  ]),
  // The cgroup's storage in the map: never NULL; the flags must be a known zero (checked after the arguments).
  P(
    81,
    'get_local_storage',
    ['map_ptr', 'anything'],
    'map_value',
    [CGROUP_SKB, ...CGROUP_HOOKS, SOCK_OPS, CGROUP_DEVICE],
    {
      mapTypes: [MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE],
    },
  ),
  P(20, 'skb_get_tunnel_key', ['ctx', 'uninit_mem', 'const_size', 'anything'], 'integer', 'tc'),
  P(21, 'skb_set_tunnel_key', ['ctx', 'mem', 'const_size', 'anything'], 'integer', 'tc'),
  P(24, 'get_route_realm', ['ctx'], 'integer', 'tc'),
  P(29, 'skb_get_tunnel_opt', ['ctx', 'uninit_mem', 'const_size'], 'integer', 'tc'),
  P(30, 'skb_set_tunnel_opt', ['ctx', 'mem', 'const_size'], 'integer', 'tc'),
  P(31, 'skb_change_proto', ['ctx', 'anything', 'anything'], 'integer', 'tc', { changesPacket: true }),
  P(32, 'skb_change_type', ['ctx', 'anything'], 'integer', 'tc'),
  P(33, 'skb_under_cgroup', ['ctx', 'map_ptr', 'anything'], 'integer', 'tc', { mapTypes: [MapType.CGROUP_ARRAY] }),
  P(34, 'get_hash_recalc', ['ctx'], 'integer', 'tc'),
  P(38, 'skb_change_tail', ['ctx', 'anything', 'anything'], 'integer', 'tc+sk_skb', { changesPacket: true }),
  P(41, 'set_hash_invalid', ['ctx'], 'integer', 'tc'),
  P(43, 'skb_change_head', ['ctx', 'anything', 'anything'], 'integer', 'tc+sk_skb', { changesPacket: true }),
  // The cgroup socket hooks' own prototypes (bpf_get_socket_cookie_sock*_proto) take their context too.
  P(46, 'get_socket_cookie', ['ctx'], 'integer', [...SKB_SOCK, CGROUP_SOCK, CGROUP_SOCK_ADDR, SOCK_OPS]),
  P(47, 'get_socket_uid', ['ctx'], 'integer', SKB_SOCK),
  P(48, 'set_hash', ['ctx', 'anything'], 'integer', 'tc'),
  P(50, 'skb_adjust_room', ['ctx', 'anything', 'anything', 'anything'], 'integer', 'tc+sk_skb', {
    changesPacket: true,
  }),
  P(51, 'redirect_map', ['map_ptr', 'anything', 'anything'], 'integer', 'xdp', {
    mapTypes: [MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP],
  }),
  P(66, 'skb_get_xfrm_state', ['ctx', 'anything', 'uninit_mem', 'const_size', 'anything'], 'integer', 'tc'),
  P(79, 'skb_cgroup_id', ['ctx'], 'integer', TC_CG),
  P(83, 'skb_ancestor_cgroup_id', ['ctx', 'anything'], 'integer', TC_CG),
  P(97, 'skb_ecn_set_ce', ['ctx'], 'integer', TC_CG),
  P(135, 'csum_level', ['ctx', 'anything'], 'integer', 'tc'),
  P(151, 'skb_cgroup_classid', ['ctx'], 'integer', 'tc'),
  P(152, 'redirect_neigh', ['anything', 'mem_or_null', 'const_size_or_zero', 'anything'], 'integer', 'tc'),
  P(155, 'redirect_peer', ['anything', 'anything'], 'integer', 'tc'),
  // The parameters are read and written back: Linux 6.18 checks them as a write (a read-only value is refused).
  P(69, 'fib_lookup', ['ctx', 'mem_rw', 'const_size', 'anything'], 'integer', 'tc+xdp', { gpl: true }),
  P(163, 'check_mtu', ['ctx', 'anything', 'aligned_u32_out', 'anything', 'anything'], 'integer', 'tc+xdp', {
    gpl: true,
  }),
  P(52, 'sk_redirect_map', ['ctx', 'map_ptr', 'anything', 'anything'], 'integer', [SK_SKB], {
    mapTypes: [MapType.SOCKMAP],
  }),
  P(72, 'sk_redirect_hash', ['ctx', 'map_ptr', 'map_key', 'anything'], 'integer', [SK_SKB], {
    mapTypes: [MapType.SOCKHASH],
  }),
  P(188, 'xdp_get_buff_len', ['ctx'], 'integer', 'xdp'),
  P(189, 'xdp_load_bytes', ['ctx', 'anything', 'uninit_mem', 'const_size'], 'integer', 'xdp'),
  P(190, 'xdp_store_bytes', ['ctx', 'anything', 'mem', 'const_size'], 'integer', 'xdp'),
  P(192, 'skb_set_tstamp', ['ctx', 'anything', 'anything'], 'integer', 'tc'),

  // The cgroup hooks: the error a hook hands back to the syscall (the address-only hooks have none).
  P(186, 'get_retval', [], 'integer', [...CGROUP_HOOKS, CGROUP_DEVICE]),
  P(187, 'set_retval', ['anything'], 'integer', [...CGROUP_HOOKS, CGROUP_DEVICE]),
  // NULL for the context asks for the init namespace's cookie.
  P(122, 'get_netns_cookie', ['ctx_or_null'], 'integer', [
    CGROUP_SOCK,
    CGROUP_SOCK_ADDR,
    CGROUP_SOCKOPT,
    SK_MSG,
    SOCK_OPS,
  ]),
  // sk_msg verdicts.
  P(60, 'msg_redirect_map', ['ctx', 'map_ptr', 'anything', 'anything'], 'integer', [SK_MSG], {
    mapTypes: [MapType.SOCKMAP],
  }),
  P(71, 'msg_redirect_hash', ['ctx', 'map_ptr', 'map_key', 'anything'], 'integer', [SK_MSG], {
    mapTypes: [MapType.SOCKHASH],
  }),
  // sock_ops: which callbacks the socket runs, and socket maps filled from the established socket.
  // sk_reuseport: the socket the group hands the packet to, from a socket array or socket map.
  P(82, 'sk_select_reuseport', ['ctx', 'map_ptr', 'map_key', 'anything'], 'integer', [SK_REUSEPORT], {
    mapTypes: [MapType.REUSEPORT_SOCKARRAY, MapType.SOCKMAP, MapType.SOCKHASH],
  }),
  P(59, 'sock_ops_cb_flags_set', ['ctx', 'anything'], 'integer', [SOCK_OPS]),
  P(53, 'sock_map_update', ['ctx', 'map_ptr', 'map_key', 'anything'], 'integer', [SOCK_OPS], {
    mapTypes: [MapType.SOCKMAP],
  }),
  P(70, 'sock_hash_update', ['ctx', 'map_ptr', 'map_key', 'anything'], 'integer', [SOCK_OPS], {
    mapTypes: [MapType.SOCKHASH],
  }),
  P(61, 'msg_apply_bytes', ['ctx', 'anything'], 'integer', [SK_MSG]),

  // Sockets (sock-ptr.ts): lookups by tuple take a reference bpf_sk_release gives back; the casts carry it.
  P(84, 'sk_lookup_tcp', SK_LOOKUP_ARGS, 'sock_or_null', SK_LOOKUPS, { pktAccess: true, sockRef: 'acquire' }),
  P(85, 'sk_lookup_udp', SK_LOOKUP_ARGS, 'sock_or_null', SK_LOOKUPS, { pktAccess: true, sockRef: 'acquire' }),
  P(99, 'skc_lookup_tcp', SK_LOOKUP_ARGS, 'sock_common_or_null', SK_LOOKUPS, { pktAccess: true, sockRef: 'acquire' }),
  P(86, 'sk_release', ['sk_release'], 'integer', [...SK_LOOKUPS, SK_LOOKUP]),
  P(95, 'sk_fullsock', ['sock_common'], 'sock_or_null', TC_CG, { sockRef: 'cast' }),
  P(96, 'tcp_sock', ['sock_common'], 'tcp_sock_or_null', [...TC_CG, SOCK_OPS, CGROUP_SOCKOPT], { sockRef: 'cast' }),
  P(98, 'get_listener_sock', ['sock_common'], 'sock_or_null', TC_CG),
  // SYN cookies of a listening socket, checked or made from the packet's IP and TCP headers.
  P(100, 'tcp_check_syncookie', SYNCOOKIE_ARGS, 'integer', 'tc+xdp', { gpl: true, pktAccess: true }),
  P(110, 'tcp_gen_syncookie', SYNCOOKIE_ARGS, 'integer', 'tc+xdp', { gpl: true, pktAccess: true }),
  P(124, 'sk_assign', ['ctx', 'sock_btf', 'anything'], 'integer', 'tc'),
  P(124, 'sk_assign', ['ctx', 'fullsock_or_null', 'anything'], 'integer', [SK_LOOKUP]),
  // A socket's local storage: the value for the map and socket, created from arg 3 (or zeros) on request.
  P(
    107,
    'sk_storage_get',
    ['map_ptr', 'sock_btf', 'map_value_or_null', 'anything'],
    'map_value_or_null',
    SK_STORAGE_TYPES,
    {
      mapTypes: [MapType.SK_STORAGE],
    },
  ),
  // cgroup_sock's context is the socket itself.
  P(107, 'sk_storage_get', ['map_ptr', 'ctx', 'map_value_or_null', 'anything'], 'map_value_or_null', [CGROUP_SOCK], {
    mapTypes: [MapType.SK_STORAGE],
  }),
  P(108, 'sk_storage_delete', ['map_ptr', 'sock_btf'], 'integer', SK_STORAGE_TYPES, { mapTypes: [MapType.SK_STORAGE] }),
  // sk_reuseport's cookie is of a socket it is given (bpf_get_socket_ptr_cookie_proto), its ctx->sk say.
  P(46, 'get_socket_cookie', ['sock_or_null'], 'integer', [SK_REUSEPORT]),
  // bpf_sk_base_func_proto's casts (CAP_PERFMON): the types whose tables end in it.
  ...skcProto([
    SOCKET_FILTER,
    SCHED_CLS,
    SCHED_ACT,
    XDP,
    CGROUP_SKB,
    SK_SKB,
    CGROUP_SOCK_ADDR,
    SOCK_OPS,
    SK_MSG,
    FLOW_DISSECTOR,
    LWT_IN,
    LWT_OUT,
    LWT_XMIT,
    LWT_SEG6LOCAL,
    SK_LOOKUP,
    // syscall programs: tracing_prog_func_proto's.
    SYSCALL,
  ]),
  // A task's and a cgroup's local storage: the value for the map and object (NULL: none), created from arg 3
  // on request. Linux 6.18 hands both pairs to every program type (bpf_base_func_proto; checked on the
  // running kernel for each type of test/verifier/prog-types.test.ts and the socket types).
  P(
    156,
    'task_storage_get',
    ['map_ptr', 'btf_task_or_null', 'map_value_or_null', 'anything'],
    'map_value_or_null',
    'all',
    {
      mapTypes: [MapType.TASK_STORAGE],
    },
  ),
  P(157, 'task_storage_delete', ['map_ptr', 'btf_task_or_null'], 'integer', 'all', {
    mapTypes: [MapType.TASK_STORAGE],
  }),
  P(
    210,
    'cgrp_storage_get',
    ['map_ptr', 'btf_cgroup_or_null', 'map_value_or_null', 'anything'],
    'map_value_or_null',
    'all',
    {
      mapTypes: [MapType.CGRP_STORAGE],
    },
  ),
  P(211, 'cgrp_storage_delete', ['map_ptr', 'btf_cgroup_or_null'], 'integer', 'all', {
    mapTypes: [MapType.CGRP_STORAGE],
  }),
  P(62, 'msg_cork_bytes', ['ctx', 'anything'], 'integer', [SK_MSG]),

  // syscall programs' own (syscall_prog_func_proto): bpf(2) commands, closing an fd, kernel BTF and symbols.
  P(166, 'sys_bpf', ['anything', 'mem', 'const_size'], 'integer', [SYSCALL]),
  P(167, 'btf_find_by_name_kind', ['mem', 'const_size', 'anything', 'anything'], 'integer', [SYSCALL]),
  P(168, 'sys_close', ['anything'], 'integer', [SYSCALL]),
  P(179, 'kallsyms_lookup_name', ['mem', 'const_size_or_zero', 'anything', 'aligned_u64_out'], 'integer', [SYSCALL]),
  // One hook's helpers: socket options, bind, the sk_msg data and sysctl helpers (hook-helpers.ts).
  ...HOOK_HELPER_PROTOS,
];

/**
 * Helpers a type may call in a prototype of its own that bpfkit does not list: a call is not modelled.
 * syscall programs (tracing_prog_func_proto) get bpf_get_socket_cookie and the socket storage helpers by
 * BTF socket pointer, and bpf_xdp_get_buff_len of an xdp_buff by BTF.
 */
const OWN_PROTO_UNLISTED: ReadonlyMap<number, readonly number[]> = new Map([[SYSCALL, [46, 107, 108, 188]]]);

/** The prototypes by helper number (the first where a helper has one per group of program types). */
export const HELPER_PROTOS: ReadonlyMap<number, HelperProto> = new Map(
  LIST.filter((h, i) => LIST.findIndex((o) => o.id === h.id) === i).map((h) => [h.id, h]),
);

/**
 * The prototype of helper `id` a program of `type` gets, or the helper's first prototype when that type
 * may not call it (the caller refuses then), or undefined for a helper bpfkit does not model.
 */
export function helperProto(id: number, type: number): HelperProto | undefined {
  if (OWN_PROTO_UNLISTED.get(type)?.includes(id)) return undefined;
  let first: HelperProto | undefined;
  for (const h of LIST) {
    if (h.id !== id) continue;
    if (helperAllowed(h, type)) return h;
    first ??= h;
  }
  return first;
}

/** license_is_gpl_compatible: the licenses under which a program may call GPL-restricted helpers. */
export function licenseIsGpl(license: string): boolean {
  return ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'].includes(
    license,
  );
}

/** Helpers whose map argument must be of their own map types, by map type (check_map_func_compatibility's other half). */
export const MAP_ONLY_WITH: ReadonlyMap<number, readonly number[]> = new Map([
  [MapType.PROG_ARRAY, [12]],
  [MapType.PERF_EVENT_ARRAY, [22, 25, 55, 111, 121]],
  [MapType.STACK_TRACE, [27]],
  [MapType.CGROUP_ARRAY, [33, 37]],
  [MapType.CGROUP_STORAGE, [81]],
  [MapType.PERCPU_CGROUP_STORAGE, [81]],
  [MapType.DEVMAP, [1, 51]],
  [MapType.DEVMAP_HASH, [1, 51]],
  [MapType.CPUMAP, [51]],
  [MapType.XSKMAP, [1, 51]],
  [MapType.RINGBUF, [130, 131, 134, 198]],
  [MapType.USER_RINGBUF, [209]],
  [MapType.QUEUE, [87, 88, 89]],
  [MapType.STACK, [87, 88, 89]],
  [MapType.BLOOM_FILTER, [87, 89]],
  [MapType.REUSEPORT_SOCKARRAY, [82]],
  [MapType.SK_STORAGE, [107, 108]],
  [MapType.TASK_STORAGE, [156, 157]],
  [MapType.CGRP_STORAGE, [210, 211]],
]);

/**
 * tracing_prog_func_proto's own prototypes (tp_btf and iterator programs) that differ from raw_tp's or
 * that raw_tp lacks: the socket casts, the socket storage helpers keyed by a BTF socket
 * (bpf_sk_storage_get_tracing_proto, whose struct is sock_common: Linux 6.18 takes an iterator's
 * sock_common; bpf_sk_storage_tracing_allowed lets tp_btf and iterators call them), and a BTF socket's
 * cookie (bpf_get_socket_ptr_cookie_proto).
 */
const TRACING_PROG: ReadonlyMap<number, HelperProto> = new Map(
  [
    ...skcProto('all'),
    P(
      107,
      'sk_storage_get',
      ['map_ptr', 'btf_sock_or_null', 'map_value_or_null', 'anything'],
      'map_value_or_null',
      'all',
      {
        mapTypes: [MapType.SK_STORAGE],
      },
    ),
    P(108, 'sk_storage_delete', ['map_ptr', 'btf_sock_or_null'], 'integer', 'all', { mapTypes: [MapType.SK_STORAGE] }),
    P(46, 'get_socket_cookie', ['sock_or_null'], 'integer', 'all'),
    // A file's path printed into a buffer (bpf_d_path_allowed: iterators, not tp_btf; calls.ts), and the
    // socket behind a file, maybe NULL (the task_file iterator gives the file).
    P(147, 'd_path', ['btf_path', 'mem_rw', 'const_size_or_zero'], 'integer', 'all'),
    P(162, 'sock_from_file', ['btf_file'], 'btf_obj_or_null', 'all', { retStruct: 'socket' }),
    // The task's net_cls classid (bpf_get_cgroup_classid_curr_proto: no argument, Linux 6.18 gives it to
    // tp_btf), the last branch records into a buffer (bpf_get_branch_snapshot_proto, GPL only: raw_tp's too,
    // where bpfkit has no prototype for it) and a BTF xdp_buff's length (bpf_xdp_get_buff_len_trace_proto).
    P(17, 'get_cgroup_classid', [], 'integer', 'all'),
    P(176, 'get_branch_snapshot', ['uninit_mem', 'const_size_or_zero'], 'integer', 'all', { gpl: true }),
    P(188, 'xdp_get_buff_len', ['btf_xdp'], 'integer', 'all'),
    // perf_event_output of a BTF sk_buff or xdp_buff (bpf_skb_output_proto, bpf_xdp_output_proto): GPL only.
    ...(
      [
        [111, 'skb_output', 'btf_skb'],
        [121, 'xdp_output', 'btf_xdp'],
      ] as const
    ).map(([id, name, buf]) =>
      P(id, name, [buf, 'map_ptr', 'anything', 'mem', 'const_size_or_zero'], 'integer', 'all', {
        gpl: true,
        mapTypes: [MapType.PERF_EVENT_ARRAY],
      }),
    ),
  ].map((h) => [h.id, h]),
);

/** A tp_btf or iterator program's prototype of helper `id` where tracing_prog_func_proto has its own. */
export const tracingProgProto = (id: number): HelperProto | undefined => TRACING_PROG.get(id);

/**
 * The helpers of this file each cgroup and socket type may call (Linux 6.18: cgroup_common_func_proto,
 * cgroup_current_func_proto, bpf_sk_base_func_proto and bpf_base_func_proto behind each type's own
 * table), checked against the running kernel with each type's expected attach type. A helper whose
 * scope is 'all' is not enough for these types: their tables leave out some of the base helpers'
 * neighbours, so each is listed by number.
 */
const BASE_SOCK = [
  1, 2, 3, 5, 6, 7, 8, 12, 14, 15, 16, 17, 22, 25, 35, 37, 42, 55, 80, 87, 88, 89, 105, 106, 109, 112, 113, 114, 115,
  93, 94, 117, 118, 120, 123, 125, 130, 131, 132, 133, 134, 164, 181, 182, 195, 208, 197, 198, 199, 200, 201, 202, 203,
  209, 141, 153, 154, 156, 157, 175, 180, 210, 211,
];
const LWT_OUT_HELPERS = [...BASE_SOCK, 24, 26, 28, 33, 34, 39, 160, ...SKC_IDS];
const OWN_TABLE_LIST: [number, Set<number>][] = [
  [CGROUP_SOCK, new Set([...BASE_SOCK, 46, 81, 107, 122, 160, 186, 187])],
  [CGROUP_SOCK_ADDR, new Set([...BASE_SOCK, 46, 81, 84, 85, 86, 99, 107, 108, 122, 160, 186, 187, ...SKC_IDS])],
  [CGROUP_SYSCTL, new Set([...BASE_SOCK, 81, 160, 186, 187])],
  [CGROUP_SOCKOPT, new Set([...BASE_SOCK, 81, 96, 107, 108, 122, 186, 187])],
  [SK_MSG, new Set([...BASE_SOCK, 60, 61, 62, 71, 107, 108, 122, 160, ...SKC_IDS])],
  [SK_LOOKUP, new Set([...BASE_SOCK, 86, 124, 160, ...SKC_IDS])],
  [SOCK_OPS, new Set([...BASE_SOCK, 46, 53, 59, 70, 81, 96, 107, 108, 122, 160, ...SKC_IDS])],
  // lwt_out_func_proto (lwt_in adds only lwt_push_encap, not modelled); lwt_xmit may change the packet.
  [LWT_IN, new Set(LWT_OUT_HELPERS)],
  [LWT_OUT, new Set(LWT_OUT_HELPERS)],
  [LWT_XMIT, new Set([...LWT_OUT_HELPERS, 9, 10, 11, 13, 20, 21, 23, 29, 30, 38, 40, 41, 43, 135])],
  // bpf_base_func_proto behind its own table: no perf_event_output; its get_socket_cookie takes a socket.
  [SK_REUSEPORT, new Set([...BASE_SOCK.filter((id) => id !== 25), 26, 46, 68, 82, 160])],
  // Linux 6.18's lwt_seg6local_func_proto: lwt_out's table (the seg6 helpers themselves are not modelled).
  [LWT_SEG6LOCAL, new Set(LWT_OUT_HELPERS)],
  // flow_dissector_func_proto: its own skb_load_bytes, then bpf_sk_base_func_proto (no perf_event_output).
  [FLOW_DISSECTOR, new Set([...BASE_SOCK.filter((id) => id !== 25), 26, 160, ...SKC_IDS])],
  // cgroup_dev_func_proto: the cgroup hooks' common and current-task helpers, then bpf_base_func_proto.
  [CGROUP_DEVICE, new Set([...BASE_SOCK, 81, 186, 187])],
  // netfilter: bpf_base_func_proto (no perf_event_output).
  [NETFILTER, new Set(BASE_SOCK.filter((id) => id !== 25))],
];
// Each type's table also has its hook's own helpers and bpf_base_func_proto's of hook-helpers.ts.
/** bpf_snprintf and bpf_trace_vprintk: bpf_base_func_proto's (for CAP_PERFMON), so in every type's table. */
const PRINTF_IDS: readonly number[] = [165, 177];
const OWN_TABLES: ReadonlyMap<number, ReadonlySet<number>> = new Map(
  OWN_TABLE_LIST.map(([t, ids]) => [
    t,
    new Set([...ids, ...EVERY_TABLE_IDS, ...PRINTF_IDS, ...(HOOK_HELPER_IDS.get(t) ?? [])]),
  ]),
);

/** The lwt types: their tables hand out the tc prototypes of the __sk_buff helpers. */
const LWT: readonly number[] = [LWT_IN, LWT_OUT, LWT_XMIT, LWT_SEG6LOCAL];

/**
 * enum bpf_attach_type: the hooks whose return value is not the syscall's error (inet ingress and egress
 * (0, the default, and 1), sock_ops, and the cgroup_sock_addr hooks that only rewrite the address they
 * report).
 */
const NO_RETVAL_HOOKS = [0, 1, 3, 19, 20, 51, 29, 30, 52, 31, 32, 53];

/**
 * May a program of `type` attached as `attach` call helper `id` (one `type` may call)? cgroup_common_func_proto
 * keeps bpf_get_retval and bpf_set_retval from the hooks whose return value is not the syscall's error (a
 * cgroup_device program loaded with no expected attach type has 0, inet ingress).
 */
export function helperAttachAllowed(id: number, type: number, attach: number | undefined): boolean {
  const hook = hookAttachAllowed(id, type, attach);
  if (hook !== undefined) return hook;
  if (id !== 186 && id !== 187) return true;
  return !NO_RETVAL_HOOKS.includes(attach ?? 0);
}

/** May a program of `type` call `h`? */
export function helperAllowed(h: HelperProto, type: number): boolean {
  // raw_tracepoint_writable programs have raw_tp's table (raw_tp_prog_func_proto); syscall programs
  // tracing_prog_func_proto, which of the helpers bpfkit lists gives them raw_tp's but bpf_get_attach_cookie
  // (a tracing link's), and their own.
  if (type === RAW_TP_WRITABLE) return helperAllowed(h, RAW_TRACEPOINT);
  if (type === SYSCALL)
    return typeof h.scope !== 'string' && h.scope.includes(SYSCALL)
      ? true
      : h.id !== 174 && helperAllowed(h, RAW_TRACEPOINT);
  const own = OWN_TABLES.get(type);
  // One of the listed helpers, in the prototype meant for this type: a listed scope, or every type's, or
  // for the lwt types the __sk_buff helpers' (get_cgroup_classid of the skb, not of the task), or
  // sk_reuseport's load_bytes pair.
  if (own) {
    if (!own.has(h.id)) return false;
    if (typeof h.scope !== 'string') return h.scope.includes(type);
    // sk_reuseport's load_bytes pair reads the skb behind its context, as the __sk_buff types' do.
    // the flow dissector's skb_load_bytes reads the skb behind its context.
    return (
      h.scope === 'all' ||
      LWT.includes(type) ||
      (type === SK_REUSEPORT && (h.id === 26 || h.id === 68)) ||
      (type === FLOW_DISSECTOR && h.id === 26)
    );
  }
  const tc = type === ProgType.SCHED_CLS || type === ProgType.SCHED_ACT;
  const skbRel = tc || type === ProgType.SOCKET_FILTER || type === ProgType.CGROUP_SKB;
  if (typeof h.scope !== 'string') return h.scope.includes(type);
  switch (h.scope) {
    case 'all':
      return true;
    case 'skb':
      return skbRel || type === ProgType.SK_SKB;
    case 'skb-rel':
      return skbRel;
    case 'tc':
      return tc;
    case 'tc+sk_skb':
      return tc || type === ProgType.SK_SKB;
    case 'xdp':
      return type === ProgType.XDP;
    case 'tc+xdp':
      return tc || type === ProgType.XDP;
  }
}
