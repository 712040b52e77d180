/**
 * bpf_find_vma (helper 180): calls its callback with the task's memory area holding an address, or not at
 * all. The walk treats it as bpf_loop's callback (calls.ts: each return goes back to the call, which may
 * call it again, as the kernel's push_callback_call does for every synchronous callback). What the
 * callback receives is set_find_vma_callback_state's: r1 the caller's r1 (the task), r2 a plain
 * PTR_TO_BTF_ID to struct vm_area_struct at offset 0, r3 the caller's r4 (the context, a stack pointer or
 * NULL), r4 and r5 unset; it returns 0 or 1.
 */
import { BtfKind } from '../btf/index.js';
import type { Env } from './env.js';
import { internBtfPtr } from './btf-ptr.js';
import { Rejection } from './reject.js';
import { NOT_INIT, type Reg, ptrReg } from './state.js';

/** BPF_FUNC_find_vma. */
export const FIND_VMA = 180;

/**
 * The callback's r1-r3 for a bpf_find_vma call whose r1 (already checked as a task) is `task` and whose
 * context argument is `ctx`. A referenced task (one the program acquired) is not modelled: the callback
 * would hold a copy of the caller's reference, which it may not release, a rule bpfkit does not follow.
 */
export function findVmaCallbackArgs(env: Env, pc: number, task: Reg, ctx: Reg | undefined): Reg[] {
  if (task.ref !== 0)
    throw new Rejection(
      pc,
      'bpf_find_vma given a referenced task: bpfkit does not model its callback holding the reference',
    );
  const btf = env.tpBtf?.btf ?? env.kernelBtf;
  const vma = btf?.byName('vm_area_struct', BtfKind.STRUCT);
  if (!btf || !vma) throw new Rejection(pc, "bpf_find_vma: bpfkit finds no struct vm_area_struct in the kernel's BTF");
  return [task, ptrReg('btf_id', { btf: internBtfPtr(btf, vma.id, '') }), ctx ?? NOT_INIT];
}
