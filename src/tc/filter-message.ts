/**
 * cls_bpf filters as rtnetlink messages, both ways: the payload of RTM_NEWTFILTER / RTM_DELTFILTER for a
 * filter spec, and a dumped filter back into plain fields. No syscall here, so every byte is unit-tested.
 */
import { AttrWriter, parseAttrs, attrU32, cString } from '../kernel/netlink/codec.js';
import { encodeClassic, decodeClassic } from '../cbpf/codec.js';
import type { SockFilter } from '../cbpf/insn.js';
import { TCA, TCA_BPF, TCA_BPF_FLAG_ACT_DIRECT, TCA_CLS_FLAGS, ETH_P_ALL } from './uapi.js';
import { encodeTcMsg, decodeTcMsg, swap16 } from './tcmsg.js';
import type { BpfProgramRef } from './program-ref.js';
import { writeBpfActions, type BpfActionSpec } from './action-message.js';

/** Where a filter sits and how it is keyed: device, parent, priority, protocol, handle. */
export interface FilterKey {
  ifindex: number;
  /** The parent qdisc or class (clsactParent('ingress'), parseHandle('1:'), ...). */
  parent: number;
  /** pref/prio; 0 lets the kernel choose (49152 for the first, then one less each time). */
  prio?: number;
  /** ETH_P_* in host order (default ETH_P_ALL). */
  protocol?: number;
  /** Filter handle (default 0: the kernel picks 1, 2, ...). */
  handle?: number;
  /** Filter chain (TCA_CHAIN), when not 0. */
  chain?: number;
}

/** A cls_bpf filter to install. */
export interface BpfFilterSpec extends FilterKey {
  program: BpfProgramRef;
  /** direct-action (`da`): the program's return code is the verdict. */
  directAction?: boolean;
  /** Default class id (`classid`/`flowid`), returned when the program returns -1. */
  classid?: number;
  skipHw?: boolean;
  skipSw?: boolean;
  actions?: readonly BpfActionSpec[];
}

/** tcm_info of a filter: prio in the upper half, the protocol in network order in the lower. */
export const filterInfo = (prio: number, protocol: number): number => ((prio << 16) | swap16(protocol)) >>> 0;

/** The RTM_NEWTFILTER payload for `spec`. */
export function encodeBpfFilter(spec: BpfFilterSpec): Uint8Array {
  const w = new AttrWriter().raw(
    encodeTcMsg({
      ifindex: spec.ifindex,
      handle: spec.handle ?? 0,
      parent: spec.parent,
      info: filterInfo(spec.prio ?? 0, spec.protocol ?? ETH_P_ALL),
    }),
  );
  w.string(TCA.KIND, 'bpf');
  if (spec.chain) w.u32(TCA.CHAIN, spec.chain);
  w.begin(TCA.OPTIONS);
  const p = spec.program;
  if (p.kind === 'classic') {
    w.u16(TCA_BPF.OPS_LEN, p.insns.length).attr(TCA_BPF.OPS, encodeClassic(p.insns, 'little'));
  } else {
    w.u32(TCA_BPF.FD, p.fd).string(TCA_BPF.NAME, p.label);
  }
  if (spec.classid !== undefined) w.u32(TCA_BPF.CLASSID, spec.classid);
  if (spec.directAction) w.u32(TCA_BPF.FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
  const gen = (spec.skipHw ? TCA_CLS_FLAGS.SKIP_HW : 0) | (spec.skipSw ? TCA_CLS_FLAGS.SKIP_SW : 0);
  if (gen) w.u32(TCA_BPF.FLAGS_GEN, gen);
  if (spec.actions?.length) {
    w.begin(TCA_BPF.ACT);
    writeBpfActions(w, spec.actions);
    w.end();
  }
  w.end();
  return w.bytes();
}

/** The RTM_DELTFILTER (or GETTFILTER) payload naming a filter; fields left out widen the match, as in tc. */
export function encodeFilterKey(key: FilterKey, kind?: string): Uint8Array {
  const w = new AttrWriter().raw(
    encodeTcMsg({
      ifindex: key.ifindex,
      handle: key.handle ?? 0,
      parent: key.parent,
      info: key.prio || key.protocol ? filterInfo(key.prio ?? 0, key.protocol ?? 0) : 0,
    }),
  );
  if (kind) w.string(TCA.KIND, kind);
  if (key.chain) w.u32(TCA.CHAIN, key.chain);
  return w.bytes();
}

/** A filter as the kernel dumps it. cls_bpf fields are set for kind "bpf" only. */
export interface FilterEntry {
  ifindex: number;
  parent: number;
  handle: number;
  prio: number;
  protocol: number;
  kind: string;
  chain: number | undefined;
  /** False for the per-priority head entry the kernel sends before a priority's filters. */
  hasOptions: boolean;
  classid?: number;
  /** TCA_BPF_NAME: the label the loader gave ("bpf.o:[sec]"). */
  name?: string;
  directAction?: boolean;
  /** TCA_BPF_FLAGS_GEN (skip_hw, skip_sw, in_hw, not_in_hw). */
  genFlags?: number;
  /** Classic programs come back as instructions. */
  ops?: SockFilter[];
  /** eBPF programs come back as their id and tag. */
  progId?: number;
  tag?: string;
  /** Number of actions attached (TCA_BPF_ACT nests). */
  actionCount?: number;
}

/** Decode one RTM_NEWTFILTER message of a dump. */
export function decodeFilter(payload: Uint8Array): FilterEntry {
  const t = decodeTcMsg(payload);
  const attrs = parseAttrs(t.rest);
  const kind = attrs.has(TCA.KIND) ? cString(attrs.get(TCA.KIND)!) : '';
  const options = attrs.get(TCA.OPTIONS);
  const e: FilterEntry = {
    ifindex: t.ifindex,
    parent: t.parent,
    handle: t.handle,
    prio: t.info >>> 16,
    protocol: swap16(t.info & 0xffff),
    kind,
    chain: attrU32(attrs.get(TCA.CHAIN)),
    hasOptions: options !== undefined,
  };
  if (kind !== 'bpf' || !options) return e;
  const o = parseAttrs(options);
  e.classid = attrU32(o.get(TCA_BPF.CLASSID));
  if (o.has(TCA_BPF.NAME)) e.name = cString(o.get(TCA_BPF.NAME)!);
  e.directAction = ((attrU32(o.get(TCA_BPF.FLAGS)) ?? 0) & TCA_BPF_FLAG_ACT_DIRECT) !== 0;
  e.genFlags = attrU32(o.get(TCA_BPF.FLAGS_GEN));
  const ops = o.get(TCA_BPF.OPS);
  if (ops) e.ops = decodeClassic(ops, 'little');
  e.progId = attrU32(o.get(TCA_BPF.ID));
  const tag = o.get(TCA_BPF.TAG);
  if (tag) e.tag = Buffer.from(tag).toString('hex');
  const act = o.get(TCA_BPF.ACT);
  if (act) e.actionCount = [...parseAttrs(act).keys()].length;
  return e;
}
