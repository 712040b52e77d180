/**
 * The program types the VM runs and how: packet programs (socket filter, tc classifier/action, XDP) get
 * their kernel context; any other type runs in "memory" mode (r1 = the input bytes, r2 = their length,
 * like the conformance suite), with the helpers every type may call.
 */
import { ProgType, nameOf } from '../../uapi/types.js';

export type ContextKind = 'skb' | 'xdp' | 'memory';

export function contextKind(type: number): ContextKind {
  switch (type) {
    case ProgType.SOCKET_FILTER:
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
      return 'skb';
    case ProgType.XDP:
      return 'xdp';
    default:
      return 'memory';
  }
}

export function progTypeLabel(type: number): string {
  return nameOf(ProgType, type);
}

/** tc(8) classifier return codes (cls_bpf without direct-action). */
export function describeClassifierResult(retval: number): string {
  const r = retval | 0;
  if (r === 0) return 'no match';
  if (r === -1) return 'match, default classid';
  return `match, classid ${(retval >>> 16).toString(16)}:${(retval & 0xffff).toString(16)}`;
}

/** tc direct-action verdicts (include/uapi/linux/pkt_cls.h). */
export const TcAction: Record<number, string> = {
  [-1]: 'TC_ACT_UNSPEC', 0: 'TC_ACT_OK', 1: 'TC_ACT_RECLASSIFY', 2: 'TC_ACT_SHOT', 3: 'TC_ACT_PIPE', 4: 'TC_ACT_STOLEN',
  5: 'TC_ACT_QUEUED', 6: 'TC_ACT_REPEAT', 7: 'TC_ACT_REDIRECT', 8: 'TC_ACT_TRAP',
};

export const XdpAction: Record<number, string> = { 0: 'XDP_ABORTED', 1: 'XDP_DROP', 2: 'XDP_PASS', 3: 'XDP_TX', 4: 'XDP_REDIRECT' };

/** A one-word reading of a return value for the program's type (for CLI output). */
export function describeRetval(type: number, retval: number): string {
  switch (type) {
    case ProgType.XDP:
      return XdpAction[retval] ?? 'unknown XDP action';
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
      return TcAction[retval | 0] ?? describeClassifierResult(retval);
    case ProgType.SOCKET_FILTER:
      return retval === 0 ? 'drop' : `keep ${retval >>> 0} bytes`;
    default:
      return '';
  }
}
