/**
 * Which context fields a program type may read or write, and what a load of each gives (the kernel's
 * is_valid_access callbacks for __sk_buff and xdp_md). Fields bpfkit has not modelled are refused, so a
 * program that touches one is reported rather than wrongly accepted.
 */
import { ProgType } from '../uapi/types.js';
import type { RegKind } from './state.js';

/** A context access the program type allows: what the loaded register becomes. */
export interface CtxField {
  kind: RegKind;
}

const SKB_SIZE = 192;
const XDP_MD_SIZE = 24;

// struct __sk_buff offsets (include/uapi/linux/bpf.h).
const SKB = {
  len: 0,
  mark: 8,
  queueMapping: 12,
  priority: 32,
  tcIndex: 44,
  cb0: 48,
  cbEnd: 68,
  tcClassid: 72,
  data: 76,
  dataEnd: 80,
  napiId: 84,
  family: 88,
  localPortEnd: 140,
  dataMeta: 140,
  flowKeys: 144,
  tstamp: 152,
  wireLen: 160,
  gsoSegs: 164,
  sk: 168,
  gsoSize: 176,
  tstampType: 180,
  hwtstamp: 184,
};

/** Program types whose context bpfkit models. */
export function ctxModelled(type: number): boolean {
  return (
    type === ProgType.SOCKET_FILTER ||
    type === ProgType.SCHED_CLS ||
    type === ProgType.SCHED_ACT ||
    type === ProgType.XDP
  );
}

const narrowOk = (off: number, size: number) => size <= 4 && (size & (size - 1)) === 0 && off % size === 0;

function skbAccess(type: number, off: number, size: number, write: boolean): CtxField | undefined {
  if (off < 0 || off >= SKB_SIZE || off % size !== 0) return undefined;
  const tc = type === ProgType.SCHED_CLS || type === ProgType.SCHED_ACT;
  const inCb = off >= SKB.cb0 && off < SKB.cbEnd;
  if (write) {
    const writable =
      inCb || (tc && (off === SKB.mark || off === SKB.priority || off === SKB.tcIndex || off === SKB.tcClassid));
    if (!writable || (size !== 4 && !(inCb && size <= 8 && off + size <= SKB.cbEnd))) return undefined;
    return { kind: 'scalar' };
  }
  if (off >= SKB.data && off < SKB.data + 4) return tc && size === 4 && off === SKB.data ? { kind: 'pkt' } : undefined;
  if (off >= SKB.dataEnd && off < SKB.dataEnd + 4)
    return tc && size === 4 && off === SKB.dataEnd ? { kind: 'pkt_end' } : undefined;
  if (off >= SKB.dataMeta && off < SKB.dataMeta + 4)
    return tc && size === 4 && off === SKB.dataMeta ? { kind: 'pkt_meta' } : undefined;
  // Fields bpfkit leaves out: socket addresses and ports, flow keys, timestamps, sk, past gso_segs.
  if (off >= SKB.family && off < SKB.localPortEnd) return undefined;
  if (off === SKB.gsoSegs || off === SKB.gsoSize) return narrowOk(off, size) ? { kind: 'scalar' } : undefined;
  if (tc && off === SKB.wireLen) return narrowOk(off, size) ? { kind: 'scalar' } : undefined;
  if (tc && (off === SKB.tstamp || off === SKB.hwtstamp)) return size === 8 ? { kind: 'scalar' } : undefined;
  if (off >= SKB.flowKeys) return undefined;
  if (!tc && off === SKB.tcClassid) return undefined;
  if (inCb)
    return size <= 8 && off + size <= SKB.cbEnd && (size === 8 ? off % 8 === 0 : true) ? { kind: 'scalar' } : undefined;
  return narrowOk(off, size) ? { kind: 'scalar' } : undefined;
}

function xdpAccess(off: number, size: number, write: boolean): CtxField | undefined {
  if (write || off < 0 || off >= XDP_MD_SIZE - 4 || size !== 4 || off % 4 !== 0) return undefined;
  if (off === 0) return { kind: 'pkt' };
  if (off === 4) return { kind: 'pkt_end' };
  if (off === 8) return { kind: 'pkt_meta' };
  return { kind: 'scalar' };
}

/** The field a program of `type` reaches at ctx+off with `size` bytes, or undefined when the kernel refuses it. */
export function ctxAccess(type: number, off: number, size: number, write: boolean): CtxField | undefined {
  if (type === ProgType.XDP) return xdpAccess(off, size, write);
  if (ctxModelled(type)) return skbAccess(type, off, size, write);
  return undefined;
}
