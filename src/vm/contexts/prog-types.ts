/**
 * The program types the VM runs and how: packet programs (socket filter, tc classifier/action, cgroup_skb, XDP) get
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
    case ProgType.CGROUP_SKB:
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

/**
 * A short reading of a return value for the program's type (CLI output). tc programs may run as
 * classifiers or with direct-action, so both readings are given where they differ.
 */
export function describeRetval(type: number, retval: number): string {
  const s = retval | 0;
  switch (type) {
    case ProgType.XDP:
      return ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'][retval] ?? 'unknown XDP action';
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT: {
      const act: Record<number, string> = {
        [-1]: 'TC_ACT_UNSPEC / default classid',
        0: 'TC_ACT_OK / no match',
        1: 'TC_ACT_RECLASSIFY',
        2: 'TC_ACT_SHOT',
        3: 'TC_ACT_PIPE',
        4: 'TC_ACT_STOLEN',
        5: 'TC_ACT_QUEUED',
        6: 'TC_ACT_REPEAT',
        7: 'TC_ACT_REDIRECT',
        8: 'TC_ACT_TRAP',
      };
      return act[s] ?? `classid ${(retval >>> 16).toString(16)}:${(retval & 0xffff).toString(16)}`;
    }
    case ProgType.SOCKET_FILTER:
      return retval === 0 ? 'drop' : `accept ${retval >>> 0} bytes`;
    default:
      return '';
  }
}
