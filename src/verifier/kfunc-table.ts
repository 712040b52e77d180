/**
 * Facts about the kfuncs bpfkit models, which the kernel's BTF does not carry: each one's flags (the
 * BTF_ID_FLAGS of kernel/bpf/helpers.c and cpumask.c) and the id set it is registered in, and which
 * program types each set is registered for (register_btf_kfunc_id_set, mapped to hooks by btf.c's
 * bpf_prog_type_to_kfunc_hook). The program types were checked on Linux 6.18 by loading a call of
 * each set's kfuncs in every program type bpfkit models.
 */
import { ProgType } from '../uapi/types.js';

/** KF_ACQUIRE: returns a pointer that carries a new reference. */
export const KF_ACQUIRE = 1 << 0;
/** KF_RELEASE: gives back the reference its pointer argument carries (implies trusted arguments). */
export const KF_RELEASE = 1 << 1;
/** KF_RET_NULL: the returned pointer may be NULL. */
export const KF_RET_NULL = 1 << 2;
/** KF_TRUSTED_ARGS: pointer arguments must be referenced or trusted, never NULL. */
export const KF_TRUSTED_ARGS = 1 << 4;
/** KF_SLEEPABLE: only a sleepable program may call it, and not inside an RCU or non-preemptible section. */
export const KF_SLEEPABLE = 1 << 5;
/** KF_RCU: pointer arguments may also be RCU pointers, never NULL. */
export const KF_RCU = 1 << 7;

/**
 * The id sets: `generic` (generic_kfunc_set, helpers.c), `common` (common_kfunc_set, every program type),
 * `cpumask` (cpumask_kfunc_set, cpumask.c), `sock_addr` (bpf_kfunc_set_sock_addr, net/core/filter.c).
 */
export type KfuncSet = 'generic' | 'common' | 'cpumask' | 'sock_addr' | 'tcp_ca';

/** A modelled kfunc: its set and flags. */
export interface KfuncFacts {
  set: KfuncSet;
  flags: number;
}

const A = KF_ACQUIRE;
const R = KF_RELEASE;
const N = KF_RET_NULL;
const T = KF_TRUSTED_ARGS;
const C = KF_RCU;

/** The kfuncs bpfkit models, by name. Every other kfunc call is reported as not modelled. */
export const KFUNCS: ReadonlyMap<string, KfuncFacts> = new Map<string, KfuncFacts>([
  // generic_kfunc_set: tasks and cgroups by reference.
  ['bpf_task_acquire', { set: 'generic', flags: A | C | N }],
  ['bpf_task_release', { set: 'generic', flags: R }],
  ['bpf_task_from_pid', { set: 'generic', flags: A | N }],
  ['bpf_task_from_vpid', { set: 'generic', flags: A | N }],
  ['bpf_cgroup_acquire', { set: 'generic', flags: A | C | N }],
  ['bpf_cgroup_release', { set: 'generic', flags: R }],
  ['bpf_cgroup_ancestor', { set: 'generic', flags: A | C | N }],
  ['bpf_cgroup_from_id', { set: 'generic', flags: A | N }],
  ['bpf_task_under_cgroup', { set: 'generic', flags: C }],
  ['bpf_task_get_cgroup1', { set: 'generic', flags: A | C | N }],
  // common_kfunc_set: casts and sections.
  // No flags in the sources, but Linux 6.18 refuses a NULL context as a trusted argument's.
  ['bpf_cast_to_kern_ctx', { set: 'common', flags: T }],
  ['bpf_rdonly_cast', { set: 'common', flags: 0 }],
  ['bpf_rcu_read_lock', { set: 'common', flags: 0 }],
  ['bpf_rcu_read_unlock', { set: 'common', flags: 0 }],
  ['bpf_preempt_disable', { set: 'common', flags: 0 }],
  ['bpf_preempt_enable', { set: 'common', flags: 0 }],
  // A string copied from user memory (dst, dst__sz, unsafe_ptr__ign, flags): sleepable (kfunc.ts).
  ['bpf_copy_from_user_str', { set: 'common', flags: KF_SLEEPABLE }],
  // bpf_kfunc_set_sock_addr: no flags in the sources, but Linux 6.18 refuses a NULL first argument as
  // trusted ("Possibly NULL pointer passed to trusted arg0"), so it is written trusted here.
  ['bpf_sock_addr_set_sun_path', { set: 'sock_addr', flags: T }],
  // cpumask_kfunc_set.
  ['bpf_cpumask_create', { set: 'cpumask', flags: A | N }],
  ['bpf_cpumask_release', { set: 'cpumask', flags: R }],
  ['bpf_cpumask_acquire', { set: 'cpumask', flags: A | T }],
  ...[
    'first',
    'first_zero',
    'first_and',
    'set_cpu',
    'clear_cpu',
    'test_cpu',
    'test_and_set_cpu',
    'test_and_clear_cpu',
    'setall',
    'clear',
    'and',
    'or',
    'xor',
    'equal',
    'intersects',
    'subset',
    'empty',
    'full',
    'copy',
    'any_distribute',
    'any_and_distribute',
    'weight',
  ].map((op): [string, KfuncFacts] => [`bpf_cpumask_${op}`, { set: 'cpumask', flags: C }]),
  // bpf_tcp_ca_kfunc_set (net/ipv4/bpf_tcp_ca.c) and tcp_cubic's set, registered for struct_ops, no flags:
  // struct-ops.ts's programs pass them their trusted socket.
  ...[
    'tcp_reno_ssthresh',
    'tcp_reno_cong_avoid',
    'tcp_reno_undo_cwnd',
    'tcp_slow_start',
    'tcp_cong_avoid_ai',
    'cubictcp_init',
    'cubictcp_recalc_ssthresh',
    'cubictcp_cong_avoid',
    'cubictcp_state',
    'cubictcp_cwnd_event',
    'cubictcp_acked',
  ].map((name): [string, KfuncFacts] => [name, { set: 'tcp_ca', flags: 0 }]),
]);

/**
 * The cgroup hook's program types on Linux 6.18 (sock_ops among them): a set registered for any one of
 * them (the generic set for cgroup_skb, bpf_kfunc_set_sock_addr for cgroup_sock_addr) is callable from all.
 */
export const CGROUP_TYPES: readonly number[] = [
  ProgType.CGROUP_SKB,
  ProgType.CGROUP_SOCK,
  ProgType.CGROUP_DEVICE,
  ProgType.CGROUP_SOCK_ADDR,
  23, // cgroup_sysctl
  25, // cgroup_sockopt
  ProgType.SOCK_OPS,
];

/** The tracing hook's program types: tracing (tp_btf, iterators), tracepoint, perf_event, lsm (29). */
export const TRACING_TYPES: readonly number[] = [26, ProgType.TRACEPOINT, ProgType.PERF_EVENT, 29];

/** struct_ops (27) and syscall (31): hooks of their own, which the generic and cpumask sets are registered for. */
const OWN_HOOK_TYPES: readonly number[] = [27, 31];

/** Program types whose hook holds the generic set: sched_cls, xdp, the cgroup hook, the tracing hook, struct_ops, syscall. */
const GENERIC_TYPES: ReadonlySet<number> = new Set([
  ProgType.SCHED_CLS,
  ProgType.XDP,
  ...CGROUP_TYPES,
  ...TRACING_TYPES,
  ...OWN_HOOK_TYPES,
]);

/** cpumask_kfunc_set is registered for tracing, struct_ops and syscall. */
const CPUMASK_TYPES: ReadonlySet<number> = new Set([...TRACING_TYPES, ...OWN_HOOK_TYPES]);

/** bpf_kfunc_set_sock_addr: the cgroup hook. */
const SOCK_ADDR_TYPES: ReadonlySet<number> = new Set(CGROUP_TYPES);

/** May a program of this type call a kfunc of this set (btf_kfunc_id_set_contains)? */
export function kfuncSetAllowed(set: KfuncSet, progType: number): boolean {
  if (set === 'common') return true;
  if (set === 'tcp_ca') return progType === OWN_HOOK_TYPES[0];
  const types = set === 'generic' ? GENERIC_TYPES : set === 'cpumask' ? CPUMASK_TYPES : SOCK_ADDR_TYPES;
  return types.has(progType);
}
