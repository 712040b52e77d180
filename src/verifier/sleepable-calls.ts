/**
 * Calls in a sleepable program (BPF_F_SLEEPABLE: syscall programs, `.s` sections) that bpfkit models. A
 * sleepable program runs outside an RCU read section (in_rcu_cs is false unless it takes bpf_rcu_read_lock),
 * which changes the trust of what it loads: a walk to an RCU-protected field or a kptr load gives an
 * untrusted pointer there. bpfkit models kptr loads nowhere in a sleepable program (map-fields.ts), and
 * walks only outside any RCU section (memory.ts: they load untrusted pointers), so the BTF pointers such a
 * program holds are referenced ones (KF_ACQUIRE), trusted ones (bpf_get_current_task_btf) and untrusted
 * ones, whose trust is the same inside an RCU read section or not (is_trusted_reg; an untrusted pointer is
 * never trusted nor RCU). A kfunc or a BTF helper argument given only those, or no BTF pointer at all, is
 * checked as in any program; any other BTF pointer, and the RCU and preemption sections themselves, are
 * not modelled.
 */
import { isSectionKfunc } from './kfunc-sections.js';
import type { Reg } from './state.js';

/** A register whose trust does not depend on an RCU read section (or that is no kernel object at all). */
export function sleepSafeReg(reg: Reg): boolean {
  if (reg.kind === 'alloc') return false;
  if (reg.kind !== 'btf_id') return true;
  return reg.ref !== 0 || reg.btf!.trust === 'trusted' || reg.btf!.trust === 'untrusted';
}

/**
 * Why a call of kfunc `name` with argument registers `args` in a sleepable program is not modelled, or
 * undefined when it is (see above).
 */
export function sleepableKfuncUnmodelled(name: string, args: readonly Reg[]): string | undefined {
  if (isSectionKfunc(name)) return 'an RCU or preemption section in a sleepable program';
  const i = args.findIndex((r) => !sleepSafeReg(r));
  if (i >= 0) return `a kernel object pointer (R${i + 1}) given to a kfunc in a sleepable program`;
  return undefined;
}
