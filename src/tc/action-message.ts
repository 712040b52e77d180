/**
 * act_bpf as netlink attributes: one nest per action (numbered from 1 in execution order) holding
 * TCA_ACT_KIND "bpf" and TCA_ACT_OPTIONS { TCA_ACT_BPF_PARMS (struct tc_act_bpf), the program (FD + NAME, or
 * OPS_LEN + OPS for classic BPF) }. The `action` verb of the struct is what happens after the program when
 * it returns TC_ACT_UNSPEC: ok, pipe (the default, as tc's), drop, reclassify, continue.
 */
import type { AttrWriter } from '../kernel/netlink/codec.js';
import { UsageError } from '../util/errors.js';
import { encodeClassic } from '../cbpf/codec.js';
import { TCA_ACT, TCA_ACT_BPF, TC_ACT } from './uapi.js';
import type { BpfProgramRef } from './program-ref.js';

/** One `action bpf …` of a filter. */
export interface BpfActionSpec {
  program: BpfProgramRef;
  /** TC_ACT_* applied when the program returns TC_ACT_UNSPEC (default TC_ACT_PIPE). */
  verdict?: number;
}

/** The verbs tc accepts after an action, as TC_ACT_* codes. */
export const ACTION_VERBS: Record<string, number> = {
  ok: TC_ACT.OK,
  pass: TC_ACT.OK,
  pipe: TC_ACT.PIPE,
  drop: TC_ACT.SHOT,
  shot: TC_ACT.SHOT,
  reclassify: TC_ACT.RECLASSIFY,
  continue: TC_ACT.UNSPEC,
};

/** Size of struct tc_act_bpf (tc_gen: index, capab, action, refcnt, bindcnt). */
const TC_ACT_BPF_SIZE = 20;

/** Append the actions as nests 1..n into `w` (the caller opened TCA_BPF_ACT or TCA_ACT_TAB). */
export function writeBpfActions(w: AttrWriter, actions: readonly BpfActionSpec[]): void {
  actions.forEach((a, i) => {
    w.begin(i + 1)
      .string(TCA_ACT.KIND, 'bpf')
      .begin(TCA_ACT.OPTIONS);
    const parms = new Uint8Array(TC_ACT_BPF_SIZE);
    new DataView(parms.buffer).setInt32(8, a.verdict ?? TC_ACT.PIPE, true);
    w.attr(TCA_ACT_BPF.PARMS, parms);
    const p = a.program;
    if (p.kind === 'classic') {
      w.u16(TCA_ACT_BPF.OPS_LEN, p.insns.length).attr(TCA_ACT_BPF.OPS, encodeClassic(p.insns, 'little'));
    } else {
      w.u32(TCA_ACT_BPF.FD, p.fd).string(TCA_ACT_BPF.NAME, p.label);
    }
    w.end().end();
  });
}

/** A verb word as a TC_ACT_* code, or a UsageError listing the verbs. */
export function parseVerb(word: string): number {
  const v = ACTION_VERBS[word];
  if (v === undefined) throw new UsageError(`unknown action verb '${word}' (${Object.keys(ACTION_VERBS).join(', ')})`);
  return v;
}
