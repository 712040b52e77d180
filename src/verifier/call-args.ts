/**
 * How many registers a call passes as arguments, as the kernel's get_call_summary says it for register
 * liveness (compute_live_registers): a helper's prototype's arguments, a kfunc's BTF prototype's
 * parameters. A register past them is dead at the call (the call overwrites r1-r5), so states that differ
 * only there prune: without it every call would keep r1-r5 alive and far fewer paths would.
 */
import type { Instruction } from '../isa/instruction.js';
import { type Btf, BtfKind } from '../btf/index.js';
import { helperAllowed, helperAttachAllowed, helperProto } from './helpers.js';
import { KFUNCS, kfuncSetAllowed } from './kfunc-table.js';

/**
 * The arguments of the helper (src 0) or kernel kfunc (src 2, off 0) a call names for a program of
 * `type` loaded for `attach`, or undefined when the kernel would not know them either (a helper the type
 * or hook does not have, a kfunc not in `kernelBtf`, a module's kfunc) or bpfkit cannot tell (no kernel
 * BTF): then r1-r5.
 */
export function callArgCount(
  call: Instruction,
  type: number,
  attach: number | undefined,
  kernelBtf: Btf | undefined,
): number | undefined {
  if (call.src === 0) {
    const proto = helperProto(call.imm, type);
    return proto && helperAllowed(proto, type) && helperAttachAllowed(call.imm, type, attach)
      ? proto.args.length
      : undefined;
  }
  if (call.src !== 2 || call.off !== 0 || !kernelBtf) return undefined;
  const func = kernelBtf.types[call.imm];
  const proto = func?.kind === BtfKind.FUNC ? kernelBtf.types[func.sizeOrType] : undefined;
  // fetch_kfunc_meta fails for a kfunc the program's type may not call (its set is not registered for
  // the type): r1-r5 then. bpfkit knows the sets of the kfuncs in its table; a call of another kfunc the
  // type may not call is refused where reached, before any state there could prune it.
  const facts = KFUNCS.get(func?.name ?? '');
  if (facts && !kfuncSetAllowed(facts.set, type)) return undefined;
  return proto?.kind === BtfKind.FUNC_PROTO ? proto.vlen : undefined;
}
