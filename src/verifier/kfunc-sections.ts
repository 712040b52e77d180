/**
 * Sections a path opens with a kfunc and must close before the program ends (Linux 6.18): an RCU read
 * section (bpf_rcu_read_lock / bpf_rcu_read_unlock, not nested) and preemption disabled
 * (bpf_preempt_disable / bpf_preempt_enable, nested by count). verifier.c's check_kfunc_call opens and
 * closes them; check_resource_leak refuses an exit or a packet load (LD_ABS/IND) inside one. Closing an
 * RCU section makes the RCU pointers of the path untrusted (they may be freed once it ends).
 */
import { internBtfPtr } from './btf-ptr.js';
import { rcuUnlockUnmodelled } from './local-kptr.js';
import { Rejection } from './reject.js';
import { type State, forEachReg } from './state.js';
import type { Btf } from '../btf/index.js';

/** The kfuncs that open or close a section, by name. */
export type SectionKfunc = 'bpf_rcu_read_lock' | 'bpf_rcu_read_unlock' | 'bpf_preempt_disable' | 'bpf_preempt_enable';

/** Is this kfunc one that opens or closes a section? */
export const isSectionKfunc = (name: string): name is SectionKfunc =>
  name === 'bpf_rcu_read_lock' ||
  name === 'bpf_rcu_read_unlock' ||
  name === 'bpf_preempt_disable' ||
  name === 'bpf_preempt_enable';

/**
 * The call of a section kfunc (check_kfunc_call, after the arguments): nested RCU locks and unmatched
 * unlocks or enables are refused; an RCU unlock turns every MEM_RCU pointer of the path (registers and
 * spills, every frame) into a non-NULL untrusted one.
 */
export function sectionCall(btf: Btf, st: State, pc: number, name: SectionKfunc): void {
  switch (name) {
    case 'bpf_rcu_read_lock':
      if (st.rcu) throw new Rejection(pc, `nested rcu read lock (kernel function ${name})`);
      st.rcu = true;
      return;
    case 'bpf_rcu_read_unlock':
      if (!st.rcu) throw new Rejection(pc, `unmatched rcu read unlock (kernel function ${name})`);
      {
        // A loaded kptr of the program's own struct would become untrusted: not modelled (local-kptr.ts).
        const why = rcuUnlockUnmodelled(st);
        if (why) throw new Rejection(pc, why);
      }
      forEachReg(st, (r) =>
        r.kind === 'btf_id' && r.btf?.trust === 'rcu'
          ? { ...r, nullable: false, btf: internBtfPtr(btf, r.btf.id, 'untrusted') }
          : r,
      );
      delete st.rcu;
      return;
    case 'bpf_preempt_disable':
      st.preempt = (st.preempt ?? 0) + 1;
      return;
    case 'bpf_preempt_enable':
      if (!st.preempt) throw new Rejection(pc, `unmatched attempt to enable preemption (kernel function ${name})`);
      if (st.preempt === 1) delete st.preempt;
      else st.preempt--;
      return;
  }
}

/**
 * check_resource_leak, after the spin lock and the references: `what` (the main program's exit, a packet
 * load) cannot end the program inside an RCU read section or with preemption disabled.
 */
export function sectionLeak(st: State, pc: number, what: string): void {
  if (st.rcu) throw new Rejection(pc, `${what} cannot be used inside bpf_rcu_read_lock-ed region`);
  if (st.preempt) throw new Rejection(pc, `${what} cannot be used inside bpf_preempt_disable-ed region`);
}

/**
 * What bpfkit does not model inside a section: a tail call or a global function call (the kernel refuses
 * both in some sections, in words bpfkit has not checked). Returns the reason, or undefined outside any.
 */
export function sectionUnmodelled(st: State, what: string): string | undefined {
  if (!st.rcu && !st.preempt) return undefined;
  const section = st.rcu ? 'an RCU read section' : 'a bpf_preempt_disable-ed region';
  return `${what} inside ${section}: bpfkit does not model it`;
}
