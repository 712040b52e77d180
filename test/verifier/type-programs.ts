/**
 * Context access for socket_filter, sched_cls, cgroup_skb, sk_skb, kprobe, tracepoint, raw_tracepoint
 * and perf_event — a read of every size at every 4th offset (and a few odd ones), word and double-word
 * writes, the value each type may return, for the __sk_buff types the `sk` pointer (null check, moves,
 * spills, loads), and for cgroup_skb and sk_skb a packet read and write behind a data_end check.
 */
import { ProgType } from '../../src/uapi/types.js';
import { build, type BoundaryProgram } from './boundary-programs.js';

const SIZES = ['u8', 'u16', 'u32', 'u64'] as const;

/** Every program of the family, deterministic. */
export function programTypePrograms(): BoundaryProgram[] {
  const out: BoundaryProgram[] = [];
  const add = (name: string, type: number, text: string) => out.push({ name, type, insns: build(text), maps: [] });
  const types = [
    [ProgType.CGROUP_SKB, 'cgroup_skb', 196],
    [ProgType.SK_SKB, 'sk_skb', 196],
    [ProgType.KPROBE, 'kprobe', 176],
    [ProgType.TRACEPOINT, 'tracepoint', 72],
    [ProgType.RAW_TRACEPOINT, 'raw_tp', 104],
    [ProgType.PERF_EVENT, 'perf_event', 192],
    [ProgType.SOCKET_FILTER, 'socket_filter', 196],
    [ProgType.SCHED_CLS, 'sched_cls', 196],
  ] as const;
  for (const [type, label, limit] of types) {
    const offsets: number[] = [];
    for (let off = 0; off < limit; off += 4) offsets.push(off);
    offsets.push(-4096, -9, -8, 1, 2, 3, 6, 170, 181, 2048, 8184, 8188, 8192);
    for (const off of offsets) {
      for (const size of SIZES)
        add(`${label}-read-${off}-${size}`, type, `r0 = *(${size} *)(r1 + ${off})\nr0 = 0\nexit`);
      for (const size of ['u32', 'u64'])
        add(`${label}-write-${off}-${size}`, type, `r2 = 1\n*(${size} *)(r1 + ${off}) = r2\nr0 = 0\nexit`);
    }
    if (label === 'socket_filter' || label === 'sched_cls' || label === 'cgroup_skb' || label === 'sk_skb') {
      // __sk_buff->sk: sock_common_or_null, to null-check before use, never to move.
      const sk = 'r2 = *(u64 *)(r1 + 168)';
      add(`${label}-sk-deref-unchecked`, type, `${sk}\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit`);
      add(`${label}-sk-null-check`, type, `${sk}\nif r2 == 0 goto +1\nr0 = 1\nr0 = 0\nexit`);
      add(`${label}-sk-arith`, type, `${sk}\nif r2 == 0 goto +1\nr2 += 4\nr0 = 0\nexit`);
      add(`${label}-sk-arith-unchecked`, type, `${sk}\nr2 += 4\nr0 = 0\nexit`);
      add(`${label}-sk-spill`, type, `${sk}\n*(u64 *)(r10 - 8) = r2\nr3 = *(u64 *)(r10 - 8)\nr0 = 0\nexit`);
      add(`${label}-sk-write`, type, `r2 = 0\n*(u64 *)(r1 + 168) = r2\nr0 = 0\nexit`);
      add(`${label}-sk-return`, type, `r0 = *(u64 *)(r1 + 168)\nexit`);
      add(`${label}-sk-scalar-use`, type, `${sk}\nr2 &= 1\nr0 = 0\nexit`);
    }
    // The verdict a program returns: cgroup_skb's must be 0 or 1 (ingress); the others return anything.
    for (const [what, ret] of [
      ['zero', 'r0 = 0'],
      ['one', 'r0 = 1'],
      ['two', 'r0 = 2'],
      ['minus', 'r0 = -1'],
      ['masked', 'r0 = *(u32 *)(r1 + 0)\nr0 &= 1'],
      ['masked3', 'r0 = *(u32 *)(r1 + 0)\nr0 &= 3'],
      ['unknown', 'r0 = *(u32 *)(r1 + 0)'],
      ['pointer', 'r0 = r10'],
    ])
      add(`${label}-return-${what}`, type, `${ret}\nexit`);
    if (type === ProgType.CGROUP_SKB || type === ProgType.SK_SKB) {
      for (const write of [false, true])
        add(
          `${label}-packet-${write ? 'write' : 'read'}`,
          type,
          `
          r2 = *(u32 *)(r1 + 76)
          r3 = *(u32 *)(r1 + 80)
          r4 = r2
          r4 += 4
          if r4 > r3 goto +2
          ${write ? '*(u32 *)(r2 + 0) = 1' : 'r0 = *(u32 *)(r2 + 0)'}
          r0 = 0
          r0 = 1
          exit`,
        );
    }
  }
  return out;
}
