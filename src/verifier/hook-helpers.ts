/**
 * Helpers that belong to one hook (Linux 6.18): a socket's options (bpf_setsockopt, bpf_getsockopt), bpf_bind,
 * the sk_msg data helpers and the sysctl helpers. Their prototypes differ by program type (the socket is the
 * context's, or a socket pointer), and some program types hand them out only to some attach types, so each
 * comes with the types and hooks that may call it. Every rule here was checked on the running kernel
 * (test/verifier/hook-helpers.test.ts).
 */
import type { ArgType, HelperProto, RetType } from './helpers.js';
import { type Btf, BtfKind } from '../btf/index.js';
import type { State } from './state.js';

const PERF_EVENT = 7;
const CGROUP_SKB = 8;
const SOCK_OPS = 13;
const SK_MSG = 16;
const CGROUP_SOCK_ADDR = 18;
const CGROUP_SYSCTL = 23;
const CGROUP_SOCKOPT = 25;

/** enum bpf_attach_type: the connect hooks of cgroup_sock_addr and the setsockopt hook of cgroup_sockopt. */
const INET4_CONNECT = 10;
const INET6_CONNECT = 11;
const CGROUP_SETSOCKOPT = 22;

const H = (
  id: number,
  name: string,
  args: ArgType[],
  scope: number[],
  extra: Partial<HelperProto> = {},
): HelperProto => ({
  id,
  name,
  args,
  ret: 'integer' satisfies RetType,
  scope,
  ...extra,
});

/** (level, optname, optval, optlen): setsockopt reads optval (MEM_RDONLY), getsockopt fills it (ARG_PTR_TO_UNINIT_MEM). */
const SET_OPT: ArgType[] = ['anything', 'anything', 'mem', 'const_size'];
const GET_OPT: ArgType[] = ['anything', 'anything', 'uninit_mem', 'const_size'];
/** (ctx, start, end or len, flags): the sk_msg helpers that move the message's data. */
const MSG_DATA: ArgType[] = ['ctx', 'anything', 'anything', 'anything'];

/**
 * The prototypes, one entry per group of program types. sock_ops and cgroup_sock_addr take the socket
 * behind their context (bpf_sock_ops_*sockopt, bpf_sock_addr_*sockopt); cgroup_sockopt takes a socket pointer
 * (bpf_sk_*sockopt, ARG_PTR_TO_BTF_ID_SOCK_COMMON: its context's `sk`). The msg helpers may move the
 * message, so its packet pointers are stale after them (bpf_helper_changes_pkt_data).
 */
export const HOOK_HELPER_PROTOS: readonly HelperProto[] = [
  H(49, 'setsockopt', ['ctx', ...SET_OPT], [SOCK_OPS, CGROUP_SOCK_ADDR]),
  H(57, 'getsockopt', ['ctx', ...GET_OPT], [SOCK_OPS, CGROUP_SOCK_ADDR]),
  H(49, 'setsockopt', ['sock_btf', ...SET_OPT], [CGROUP_SOCKOPT]),
  H(57, 'getsockopt', ['sock_btf', ...GET_OPT], [CGROUP_SOCKOPT]),
  // bpf_bind(ctx, addr, addr_len): the address is read (MEM_RDONLY).
  H(64, 'bind', ['ctx', 'mem', 'const_size'], [CGROUP_SOCK_ADDR]),
  H(63, 'msg_pull_data', MSG_DATA, [SK_MSG], { changesPacket: true }),
  H(90, 'msg_push_data', MSG_DATA, [SK_MSG], { changesPacket: true }),
  H(91, 'msg_pop_data', MSG_DATA, [SK_MSG], { changesPacket: true }),
  // The sysctl helpers: the name is written into buf (ARG_PTR_TO_MEM | MEM_WRITE on 6.18), the values
  // filled in (ARG_PTR_TO_UNINIT_MEM), the new value read (MEM_RDONLY).
  H(101, 'sysctl_get_name', ['ctx', 'mem_rw', 'const_size', 'anything'], [CGROUP_SYSCTL]),
  H(102, 'sysctl_get_current_value', ['ctx', 'uninit_mem', 'const_size'], [CGROUP_SYSCTL]),
  H(103, 'sysctl_get_new_value', ['ctx', 'uninit_mem', 'const_size'], [CGROUP_SYSCTL]),
  H(104, 'sysctl_set_new_value', ['ctx', 'mem', 'const_size'], [CGROUP_SYSCTL]),
  // A socket's cgroup (cg_skb_func_proto only): any socket pointer, not NULL (ARG_PTR_TO_BTF_ID_SOCK_COMMON).
  H(128, 'sk_cgroup_id', ['sock_btf'], [CGROUP_SKB]),
  H(129, 'sk_ancestor_cgroup_id', ['sock_btf', 'anything'], [CGROUP_SKB]),
  // sock_ops's TCP header options: the option searched for is written back (MEM_WRITE), the one stored read;
  // storing may move the packet (bpf_helper_changes_pkt_data).
  H(142, 'load_hdr_opt', ['ctx', 'mem_rw', 'const_size', 'anything'], [SOCK_OPS]),
  H(143, 'store_hdr_opt', ['ctx', 'mem', 'const_size', 'anything'], [SOCK_OPS], { changesPacket: true }),
  H(144, 'reserve_hdr_opt', ['ctx', 'anything', 'anything'], [SOCK_OPS]),
  // perf_event's branch records (pe_prog_func_proto), into a buffer or NULL with size 0; GPL only.
  H(119, 'read_branch_records', ['ctx', 'mem_or_null', 'const_size_or_zero', 'anything'], [PERF_EVENT], { gpl: true }),
  // Every type's on 6.18 (bpf_base_func_proto, as copy_from_user; 6.12 had them in the tracing types'
  // table): a struct printed by BTF into a buffer (the struct_ptr read), and a task's user memory copied
  // (it may sleep; a BTF task, GPL only).
  { ...H(149, 'snprintf_btf', ['mem_rw', 'const_size', 'mem', 'const_size', 'anything'], []), scope: 'all' },
  {
    ...H(191, 'copy_from_user_task', ['uninit_mem', 'const_size_or_zero', 'anything', 'btf_task', 'anything'], []),
    scope: 'all',
    gpl: true,
    mightSleep: true,
  },
  // bpf_copy_from_user(dst, size, user_ptr): every type's on 6.18 (bpf_base_func_proto), but it may sleep.
  { ...H(148, 'copy_from_user', ['uninit_mem', 'const_size_or_zero', 'anything'], []), scope: 'all', mightSleep: true },
];

/**
 * Helpers a tp_btf program gets from raw_tp's table (tracing_prog_func_proto has no prototype of its own
 * for them), beyond the first ones calls.ts lists: bpf_tracing_func_proto's and bpf_base_func_proto's
 * whose prototype and checks do not depend on the program type (Linux 6.18 lets tp_btf and iterator
 * programs call each: test/verifier/tp-helpers-cases.ts). The tail call, the map queue helpers,
 * perf_event_read(_value), current_task_under_cgroup, map_lookup_percpu_elem, strtoul and
 * get_ns_current_pid_tgid among them; the spin lock too, as BPF_PROG_TYPE_TRACING is not one of the
 * tracing types check_map_prog_compatibility keeps from a locked map. bpf_get_func_ip is looked up, then
 * refused without a trampoline (calls.ts).
 */
export const TP_BTF_MORE: readonly number[] = [
  12, 22, 37, 42, 55, 87, 88, 89, 93, 94, 105, 106, 109, 117, 118, 120, 123, 148, 149, 165, 173, 177, 191, 195, 197,
  198, 199, 200, 201, 202, 203, 208,
];

/**
 * Helpers Linux 6.18 refuses tp_btf and iterator programs (`program of this type cannot use helper`):
 * neither tracing_prog_func_proto nor raw_tp's table (bpf_tracing_func_proto, bpf_base_func_proto) has
 * them, read from the kernel by loading a call of each (test/verifier/tp-helpers.test.ts asks it again).
 * Left out: bpf_probe_write_user, which the tracing table has unless the kernel is locked down (it was
 * here); the seq_file helpers, the function-argument helpers and bpf_get_attach_cookie, which calls.ts
 * refuses by their own rules.
 */
export const TP_BTF_REFUSED: ReadonlySet<number> = new Set([
  9, 10, 11, 13, 18, 19, 20, 21, 23, 24, 26, 28, 29, 30, 31, 32, 33, 34, 38, 39, 40, 41, 43, 44, 47, 48, 49, 50, 51, 52,
  53, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 81, 82, 83, 84,
  85, 86, 90, 91, 92, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 110, 116, 119, 122, 124, 128, 129, 135, 142, 143,
  144, 145, 146, 151, 152, 155, 159, 160, 161, 163, 166, 167, 168, 179, 186, 187, 189, 190, 192, 193, 204, 205, 206,
  207,
]);

/** The helpers of this file in bpf_base_func_proto, so in every program type's table. */
export const EVERY_TABLE_IDS: readonly number[] = [148, 149, 191];

/**
 * check_helper_call's refusals of a helper that may sleep (before its arguments): in a program that is not
 * sleepable, then inside bpf_rcu_read_lock (active_rcu_lock), then with preemption disabled.
 */
export function mightSleepFault(proto: HelperProto, sleepable: boolean, st: State): string | undefined {
  if (!proto.mightSleep) return undefined;
  if (!sleepable) return 'helper call might sleep in a non-sleepable prog';
  if (st.rcu) return `sleepable helper bpf_${proto.name}#${proto.id} in rcu_read_lock region`;
  if (st.preempt) return `sleepable helper bpf_${proto.name}#${proto.id} in non-preemptible region`;
  return undefined;
}

/** The helper numbers each program type's own table gets from this file (helpers.ts's OWN_TABLES). */
export const HOOK_HELPER_IDS: ReadonlyMap<number, readonly number[]> = new Map(
  [SOCK_OPS, SK_MSG, CGROUP_SOCK_ADDR, CGROUP_SYSCTL, CGROUP_SOCKOPT].map((t) => [
    t,
    HOOK_HELPER_PROTOS.filter((h) => (h.scope as number[]).includes(t)).map((h) => h.id),
  ]),
);

/**
 * May a program of `type` loaded for hook `attach` call helper `id`, where the hook matters (undefined:
 * it does not)? sock_addr_func_proto gives bpf_bind to the inet connect hooks only (not unix connect);
 * cg_sockopt_func_proto gives the socket option helpers to the setsockopt hook only. cgroup_sock_addr's option helpers are
 * every hook's on 6.18 (6.12 left out the unix getpeername and getsockname hooks).
 */
export function hookAttachAllowed(id: number, type: number, attach: number | undefined): boolean | undefined {
  if (type === CGROUP_SOCK_ADDR && id === 64) return attach === INET4_CONNECT || attach === INET6_CONNECT;
  if (type === CGROUP_SOCKOPT && (id === 49 || id === 57)) return attach === CGROUP_SETSOCKOPT;
  return undefined;
}

/**
 * Why a program naming a kernel variable or function (an `__ksym` ldimm64, BPF_PSEUDO_BTF_ID) is not modelled: the
 * kernel looks the variable's address up in its symbol table at load (and refuses one it lacks: this
 * kernel has no address for a few per-CPU variables the selftests name), then types the register by the
 * variable's BTF. `btf`, the kernel's, names the variable when given.
 */
export function ksymUnmodelled(btfId: number, btf: Btf | undefined): string {
  const t = btf?.types[btfId];
  // A kfunc's address (bpf_ksym_exists) is a ksym too: the BTF says a function.
  const what = t?.kind === BtfKind.FUNC ? 'function' : 'variable';
  return `ldimm64 of kernel ${what} ${t?.name ? `'${t.name}' ` : ''}(btf_id ${btfId}): bpfkit does not model ksyms (whether the kernel finds its address, and its type: struct, per-CPU or plain memory)`;
}

/**
 * The tcp and unix iterators' own socket option helpers (bpf_iter_tcp_get_func_proto,
 * bpf_iter_unix_get_func_proto): bpf_sk_setsockopt and bpf_sk_getsockopt, which take a socket by BTF id.
 * `target` is the iterator's `bpf_iter_<target>` function name.
 */
export function iterSockoptProto(target: string, id: number): HelperProto | undefined {
  if (target !== 'bpf_iter_tcp' && target !== 'bpf_iter_unix') return undefined;
  if (id === 49) return H(49, 'setsockopt', ['sock_btf', ...SET_OPT], []);
  if (id === 57) return H(57, 'getsockopt', ['sock_btf', ...GET_OPT], []);
  return undefined;
}
