/**
 * The pointer fields of the kernel's allow lists (BTF_TYPE_SAFE_RCU and BTF_TYPE_SAFE_RCU_OR_NULL in
 * verifier.c) that bpfkit models, and fields of the same structs the lists leave out: what a load of one
 * gives when walked from a trusted or RCU pointer in a program that runs in an RCU read section
 * (check_ptr_to_btf_access). Each was checked on Linux 6.18 from a tp_btf program
 * (test/verifier/hook-helpers.test.ts); a field of a listed struct that is not here stays not modelled.
 */

/** 'rcu': MEM_RCU, never NULL; 'rcu_or_null': MEM_RCU | PTR_MAYBE_NULL; 'unlisted': untrusted, as any other walk. */
export type ListedTrust = 'rcu' | 'rcu_or_null' | 'unlisted';

/** [struct, field, the struct it points to, what the load gives]. */
const FIELDS: readonly (readonly [string, string, string, ListedTrust])[] = [
  ['task_struct', 'cgroups', 'css_set', 'rcu'],
  ['task_struct', 'cpus_ptr', 'cpumask', 'rcu'],
  ['task_struct', 'real_parent', 'task_struct', 'rcu'],
  ['task_struct', 'group_leader', 'task_struct', 'rcu'],
  // __rcu in the source, but not on the list (and this kernel's BTF carries no __rcu tag).
  ['task_struct', 'parent', 'task_struct', 'unlisted'],
  ['cgroup', 'kn', 'kernfs_node', 'rcu'],
  ['cgroup', 'old_dom_cgrp', 'cgroup', 'unlisted'],
  ['css_set', 'dfl_cgrp', 'cgroup', 'rcu'],
  // skb->sk and req->sk are not RCU-protected, but the sockets programs see are freed after a grace period.
  ['sk_buff', 'sk', 'sock', 'rcu_or_null'],
  ['request_sock', 'sk', 'sock', 'rcu_or_null'],
];
const BY_FIELD: ReadonlyMap<string, readonly [string, ListedTrust]> = new Map(
  FIELDS.map(([s, f, t, trust]) => [`${s}.${f}`, [t, trust] as const]),
);

/**
 * What loading `struct`'s pointer `field` (pointing to a struct named `target`) gives from a trusted or RCU
 * pointer, or undefined when bpfkit does not know.
 */
export function listedFieldTrust(struct: string, field: string, target: string): ListedTrust | undefined {
  const f = BY_FIELD.get(`${struct}.${field}`);
  return f && f[0] === target ? f[1] : undefined;
}
