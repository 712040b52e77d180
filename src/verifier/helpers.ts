/**
 * Helper prototypes (the kernel's bpf_func_proto) for the helpers bpfkit's VM implements, with the
 * kernel's numbers, argument types and the program types that may call each. A call to any other helper
 * is refused by name: bpfkit cannot check its arguments, so it must not claim the kernel would accept it.
 */
import { MapType, ProgType } from '../uapi/types.js';

/** Argument types (the kernel's enum bpf_arg_type, the ones these helpers use). */
export type ArgType =
  | 'anything'
  | 'ctx'
  | 'map_ptr'
  | 'map_key'
  | 'map_value'
  /** Memory the helper reads, sized by the next argument. */
  | 'mem'
  /** Like mem, may be NULL with size 0. */
  | 'mem_or_null'
  /** Memory the helper writes, sized by the next argument (may be uninitialized). */
  | 'uninit_mem'
  /** A map value's worth of memory the helper writes (pop/peek). */
  | 'uninit_map_value'
  | 'const_size'
  | 'const_size_or_zero'
  /** Ring buffer reservation size: a known constant. */
  | 'alloc_size'
  | 'ringbuf_mem'
  | 'func'
  | 'stack_or_null';

/** What a helper returns. */
export type RetType = 'integer' | 'void' | 'map_value_or_null' | 'ringbuf_mem_or_null';

/** One helper's prototype. */
export interface HelperProto {
  id: number;
  name: string;
  args: ArgType[];
  ret: RetType;
  /** Packet data may move: every packet pointer is invalid after the call. */
  changesPacket?: boolean;
  /**
   * bpf_func_proto.pkt_access: the helper takes packet pointers for its memory arguments. Without it a
   * packet pointer in any argument but an `anything` is "helper access to the packet is not allowed".
   */
  pktAccess?: boolean;
  /** Map types the map argument may have (undefined: the lookup family's set). */
  mapTypes?: number[];
  /**
   * Which program types may call it: skb = any __sk_buff type, skb-rel = socket filter, tc, cgroup_skb,
   * tc+sk_skb = tc and sk_skb programs.
   */
  scope: 'all' | 'skb' | 'skb-rel' | 'tc' | 'tc+sk_skb' | 'xdp' | 'tc+xdp';
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
  scope: HelperProto['scope'],
  extra: Partial<HelperProto> = {},
): HelperProto => ({ id, name, args, ret, scope, ...extra });

const LIST: HelperProto[] = [
  P(1, 'map_lookup_elem', ['map_ptr', 'map_key'], 'map_value_or_null', 'all', {
    mapTypes: [...LOOKUP_MAPS, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS],
    pktAccess: true,
  }),
  P(2, 'map_update_elem', ['map_ptr', 'map_key', 'map_value', 'anything'], 'integer', 'all', {
    mapTypes: LOOKUP_MAPS,
    pktAccess: true,
  }),
  P(3, 'map_delete_elem', ['map_ptr', 'map_key'], 'integer', 'all', { mapTypes: LOOKUP_MAPS, pktAccess: true }),
  P(5, 'ktime_get_ns', [], 'integer', 'all'),
  P(6, 'trace_printk', ['mem', 'const_size'], 'integer', 'all'),
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
  // A tail call may run a program that moves the packet; if it returns, packet pointers are stale (Linux ≥ 6.13).
  P(12, 'tail_call', ['ctx', 'map_ptr', 'anything'], 'void', 'all', {
    mapTypes: [MapType.PROG_ARRAY],
    changesPacket: true,
  }),
  P(13, 'clone_redirect', ['ctx', 'anything', 'anything'], 'integer', 'tc', { changesPacket: true }),
  P(14, 'get_current_pid_tgid', [], 'integer', 'all'),
  P(15, 'get_current_uid_gid', [], 'integer', 'all'),
  P(18, 'skb_vlan_push', ['ctx', 'anything', 'anything'], 'integer', 'tc', { changesPacket: true }),
  P(19, 'skb_vlan_pop', ['ctx'], 'integer', 'tc', { changesPacket: true }),
  P(23, 'redirect', ['anything', 'anything'], 'integer', 'tc+xdp'),
  P(25, 'perf_event_output', ['ctx', 'map_ptr', 'anything', 'mem', 'const_size_or_zero'], 'integer', 'all', {
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
  P(88, 'map_pop_elem', ['map_ptr', 'uninit_map_value'], 'integer', 'all', {
    mapTypes: [MapType.QUEUE, MapType.STACK],
    pktAccess: true,
  }),
  P(89, 'map_peek_elem', ['map_ptr', 'uninit_map_value'], 'integer', 'all', {
    mapTypes: [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER],
    pktAccess: true,
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
];

/** The prototypes by helper number. */
export const HELPER_PROTOS: ReadonlyMap<number, HelperProto> = new Map(LIST.map((h) => [h.id, h]));

/** Helpers whose map argument must be of their own map types, by map type (check_map_func_compatibility's other half). */
export const MAP_ONLY_WITH: ReadonlyMap<number, readonly number[]> = new Map([
  [MapType.PROG_ARRAY, [12]],
  [MapType.PERF_EVENT_ARRAY, [25]],
  [MapType.RINGBUF, [130, 131, 134]],
  [MapType.QUEUE, [87, 88, 89]],
  [MapType.STACK, [87, 88, 89]],
  [MapType.BLOOM_FILTER, [87, 89]],
]);

/** May a program of `type` call `h`? */
export function helperAllowed(h: HelperProto, type: number): boolean {
  const tc = type === ProgType.SCHED_CLS || type === ProgType.SCHED_ACT;
  const skbRel = tc || type === ProgType.SOCKET_FILTER || type === ProgType.CGROUP_SKB;
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
