/**
 * Context grammar programs for the oracle: in every program type bpfkit models a context for (with the
 * attach types the cgroup and socket types take), one to three accesses of the context — loads and stores
 * of every size at every offset (aligned nine times in ten, now and then past the end), stores of
 * registers and constants, atomics, a load's result used as a pointer or compared with another as a
 * packet range. Most are refused, each at its own rule: the fuzz built on this grammar found narrow
 * reads inside `__sk_buff`'s last fields wrongly refused. Deterministic (seeded).
 */
import { MapType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { type BoundaryProgram, rng } from './boundary-programs.js';
import { sockProgram } from './sock-ptr-cases.js';

const MAPS: VerifierMap[] = [
  { name: 'a', type: MapType.ARRAY, keySize: 4, valueSize: 24, maxEntries: 4, readOnly: false },
];

/** [program type, attach types, bytes of context to fuzz over, a return value the type accepts]. */
const TYPES: [number, (number | undefined)[], number, number][] = [
  [1, [undefined], 192, 0], // socket_filter
  [3, [undefined], 192, 0], // sched_cls
  [4, [undefined], 192, 0], // sched_act
  [6, [undefined, 37], 24, 2], // xdp (and devmap)
  [8, [0, 1], 192, 1], // cgroup_skb ingress, egress
  [14, [4, 5], 192, 1], // sk_skb parser, verdict
  [2, [undefined], 176, 0], // kprobe
  [5, [undefined], 64, 0], // tracepoint
  [7, [undefined], 200, 0], // perf_event
  [17, [undefined], 64, 0], // raw_tracepoint
  [10, [undefined], 192, 0], // lwt_in
  [11, [undefined], 192, 0], // lwt_out
  [12, [undefined], 192, 0], // lwt_xmit
  [19, [undefined], 192, 0], // lwt_seg6local
  [9, [2, 12, 13, 34], 88, 1], // cgroup_sock
  [13, [3], 224, 1], // sock_ops
  [15, [6], 16, 1], // cgroup_device
  [16, [7], 80, 1], // sk_msg
  [18, [8, 9, 10, 11, 14, 15, 19, 20, 29, 30, 31, 32], 80, 1], // cgroup_sock_addr
  [21, [39], 72, 1], // sk_reuseport (migrate)
  [22, [17], 192, 0], // flow_dissector
  [23, [18], 12, 1], // cgroup_sysctl
  [25, [21, 22], 48, 1], // cgroup_sockopt
  [30, [36], 80, 1], // sk_lookup
];

const BYTES = { u8: 1, u16: 2, u32: 4, u64: 8 } as const;

/** `count` context grammar programs from `seed`. */
export function contextGrammarPrograms(count: number, seed = 0xc7e8): BoundaryProgram[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const SZ = () => pick(['u8', 'u16', 'u32', 'u64'] as const);
  const out: BoundaryProgram[] = [];
  for (let n = 0; n < count; n++) {
    const [type, attachTypes, size, ret] = pick(TYPES);
    const attachType = pick(attachTypes);
    const at = (sz: keyof typeof BYTES) => {
      const b = BYTES[sz];
      let o = Math.floor(r() * (size / b)) * b;
      if (r() < 0.08) o += pick([1, 2, 3, 4]);
      if (r() < 0.05) o = size + pick([0, 4, 8]);
      return o;
    };
    const snippets: (() => string)[] = [
      () => {
        const sz = SZ();
        return `r2 = *(${sz} *)(r6 + ${at(sz)})`;
      },
      () => {
        const sz = SZ();
        return `r3 = *(${sz} *)(r6 + ${at(sz)})\nr0 = *(u8 *)(r3 + 0)`;
      },
      () => {
        const sz = pick(['u32', 'u64'] as const);
        return `r3 = *(${sz} *)(r6 + ${at(sz)})\nr4 = *(${sz} *)(r6 + ${at(sz)})\nr5 = r3\nr5 += 8\nif r5 > r4 goto +1\nr0 = *(u8 *)(r3 + 0)`;
      },
      () => {
        const sz = SZ();
        return `*(${sz} *)(r6 + ${at(sz)}) = ${pick(['r2', 'r7', '0', '1', 'r6', 'r10'])}`;
      },
      () => {
        const sz = SZ();
        return `*(${sz} *)(r6 + ${at(sz)}) = ${pick([0, 1, 7])}`;
      },
      () =>
        `r3 = *(u64 *)(r6 + ${8 * Math.floor(r() * 24)})\nif r3 == 0 goto +1\nr0 = *(u32 *)(r3 + ${pick([0, 4, 8])})`,
      () => `r2 = *(${SZ()} *)(r6 + ${at('u32')})\nr2 &= 7\nr7 = r6\nr7 += r2`,
      () => `lock *(u32 *)(r6 + ${at('u32')}) += r7`,
    ];
    const body: string[] = [];
    for (let i = 0, len = 1 + Math.floor(r() * 3); i < len; i++) body.push(pick(snippets)());
    const text = ['r6 = r1', 'r7 = 1', 'r2 = 0', ...body, `r0 = ${ret}`, 'exit'].join('\n');
    out.push({
      name: `context-grammar-${n}`,
      type,
      insns: sockProgram(text),
      maps: MAPS,
      ...(attachType !== undefined ? { attachType } : {}),
    });
  }
  return out;
}
