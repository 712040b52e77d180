/**
 * Calls in a sleepable program (BPF_F_SLEEPABLE: syscall programs, `.s` sections) that bpfkit models. A
 * sleepable program runs outside an RCU read section (in_rcu_cs is false unless it takes bpf_rcu_read_lock),
 * which changes the trust of what it loads: a walk to an RCU-protected field or a kptr load gives an
 * untrusted pointer there (memory.ts, map-fields.ts); inside a bpf_rcu_read_lock section (or under a spin
 * lock) they load as in any program, and bpf_rcu_read_unlock makes the RCU ones untrusted. So the BTF
 * pointers such a program holds are referenced ones (KF_ACQUIRE), trusted ones (bpf_get_current_task_btf),
 * RCU ones inside a section and untrusted ones, whose checks as kfunc arguments do not depend on the
 * section (is_trusted_reg, is_rcu_reg). A kfunc or a BTF helper argument given those, or no BTF pointer at
 * all, is checked as in any program; an allocated object (the program's own struct) is not modelled.
 * bpf_preempt_disable does not open an RCU read section for the verifier (in_rcu_cs), checked against Linux
 * 6.18 from a syscall program (test/verifier/kfunc-grammar.test.ts).
 */
import type { Env } from './env.js';
import type { Reg, State } from './state.js';

/** A register whose trust does not depend on an RCU read section (or that is no kernel object at all). */
export function sleepSafeReg(reg: Reg): boolean {
  if (reg.kind === 'alloc') return false;
  if (reg.kind !== 'btf_id') return true;
  return reg.ref !== 0 || reg.btf!.trust !== '';
}

/**
 * Why a kfunc call with argument registers `args` in a sleepable program is not modelled, or
 * undefined when it is (see above).
 */
export function sleepableKfuncUnmodelled(args: readonly Reg[]): string | undefined {
  const i = args.findIndex((r) => !sleepSafeReg(r));
  if (i >= 0) return `a kernel object pointer (R${i + 1}) given to a kfunc in a sleepable program`;
  return undefined;
}

/**
 * in_rcu_cs: a path runs in an RCU read section when its program is not sleepable, or it holds
 * bpf_rcu_read_lock or a bpf_spin_lock (not when it only disabled preemption).
 */
export function inRcuCs(env: Env, st: State): boolean {
  return !env.sleepable || !!st.rcu || !!st.lock;
}
