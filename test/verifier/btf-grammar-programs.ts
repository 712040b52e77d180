/**
 * BTF pointer grammar programs for the oracle: tp_btf programs (BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP)
 * on tracepoints of the running kernel whose arguments are struct pointers, and iterator programs
 * (BPF_TRACE_ITER) on targets whose context holds them. Each program loads one or two
 * arguments, then walks them by the kernel's BTF: loads of every size at member offsets, misaligned,
 * inside nested structs, unions and arrays and past their ends; pointer fields followed to structs and to
 * non-structs (untrusted memory in 6.18); NULL checks, pointer arithmetic, stores (refused), spills and
 * fills, helper calls (probe_read_kernel, get_current_task_btf, task storage, strncmp) and kfunc calls
 * (task acquire/release, RCU lock/unlock, bpf_rdonly_cast), and returns. Deterministic (seeded) for a
 * given BTF: offsets and ids are the running kernel's.
 */
import { type Btf, BtfKind, type BtfType } from '../../src/btf/index.js';
import type { Instruction } from '../../src/isa/index.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { rng } from './boundary-programs.js';
import { kfuncProgram } from './kfunc-cases.js';

/**
 * One generated program: its tracepoint (`btf_trace_<tp>`), or for an iterator program (BPF_TRACE_ITER)
 * its target (`bpf_iter_<iter>`, then `tp` is empty), instructions and maps.
 */
export interface BtfGrammarProgram {
  name: string;
  tp: string;
  iter?: string;
  text: string;
  insns: Instruction[];
  maps: VerifierMap[];
}

/**
 * A task storage map (BPF_MAP_TYPE_TASK_STORAGE) with an 8-byte value, for bpf_task_storage_get, a
 * frozen read-only array holding "ab" (as .rodata), for bpf_strncmp's constant string, and a socket
 * storage map (BPF_MAP_TYPE_SK_STORAGE), for bpf_sk_storage_get.
 */
export const BTF_GRAMMAR_MAPS: VerifierMap[] = [
  { name: 'ts', type: 29, keySize: 4, valueSize: 8, maxEntries: 0, readOnly: false },
  {
    name: 'ro',
    type: 2,
    keySize: 4,
    valueSize: 8,
    maxEntries: 1,
    readOnly: true,
    frozenValue: new Uint8Array([0x61, 0x62, 0, 0, 0, 0, 0, 0]),
  },
  { name: 'ss', type: 24, keySize: 4, valueSize: 8, maxEntries: 0, readOnly: false },
];

/** Tracepoints with struct pointer arguments; the ones the running kernel lacks are skipped. */
const TPS = [
  'task_newtask',
  'sched_switch',
  'sched_wakeup',
  'sched_process_exec',
  'sched_process_fork',
  'sched_process_wait',
  'signal_deliver',
  'signal_generate',
  'kfree_skb',
  'consume_skb',
  'netif_receive_skb',
  'net_dev_queue',
  'sys_enter',
  'sys_exit',
  'inet_sock_set_state',
  'block_rq_issue',
  'mm_page_alloc',
  'kmem_cache_free',
  'cgroup_mkdir',
];

/**
 * How a program is loaded: BPF_TRACE_RAW_TP on the `btf_trace_<tp>` typedef, or BPF_TRACE_ITER on the
 * `bpf_iter_<target>` function; the id for the kernel, the name for bpfkit.
 */
export function btfGrammarTarget(
  btf: Btf,
  p: BtfGrammarProgram,
): { attachType: number; attachBtfId: number; attachBtfName: string } {
  if (p.iter) {
    const name = `bpf_iter_${p.iter}`;
    const id = btf.idsNamed(name).find((i) => btf.types[i]!.kind === BtfKind.FUNC)!;
    return { attachType: 28, attachBtfId: id, attachBtfName: name };
  }
  const name = `btf_trace_${p.tp}`;
  return { attachType: 23, attachBtfId: btf.byName(name, BtfKind.TYPEDEF)!.id, attachBtfName: name };
}

/** Iterator targets whose context holds BTF pointers (bpf_iter__task, ...). */
const ITERS = ['task', 'task_file', 'task_vma', 'bpf_map', 'cgroup', 'tcp', 'unix'];

/** The parameter types of FUNC `bpf_iter_<target>` (`meta` first), or undefined. */
function iterArgs(btf: Btf, target: string): number[] | undefined {
  const f = btf.idsNamed(`bpf_iter_${target}`).find((i) => btf.types[i]!.kind === BtfKind.FUNC);
  const proto = f === undefined ? undefined : btf.types[btf.types[f]!.sizeOrType];
  return proto?.kind === BtfKind.FUNC_PROTO ? proto.members.map((m) => m.type) : undefined;
}

/** The argument types of `btf_trace_<tp>` (its proto's parameters after the context), or undefined. */
function tpArgs(btf: Btf, tp: string): number[] | undefined {
  const td = btf.byName(`btf_trace_${tp}`, BtfKind.TYPEDEF);
  if (!td) return undefined;
  const ptr = btf.resolve(td.id);
  if (ptr.kind !== BtfKind.PTR) return undefined;
  const proto = btf.resolve(ptr.sizeOrType);
  if (proto.kind !== BtfKind.FUNC_PROTO) return undefined;
  return proto.members.slice(1).map((m) => m.type);
}

/** `count` BTF pointer grammar programs from `seed`, by the kernel's BTF `btf`. */
export function btfGrammarPrograms(btf: Btf, count: number, seed = 0xb7f6): BtfGrammarProgram[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const tps = [
    ...TPS.map((tp) => ({ tp, iter: undefined, args: tpArgs(btf, tp) })),
    ...ITERS.map((it) => ({ tp: '', iter: it, args: iterArgs(btf, it) })),
  ].filter((x): x is { tp: string; iter: string | undefined; args: number[] } => x.args !== undefined);
  const res = (id: number): BtfType => btf.resolve(id);
  const isAgg = (t: BtfType) => t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION;
  /** The struct a pointer type points at, or undefined. */
  const pointee = (id: number): BtfType | undefined => {
    const t = res(id);
    if (t.kind !== BtfKind.PTR) return undefined;
    const p = res(t.sizeOrType);
    return isAgg(p) ? p : undefined;
  };
  const SIZES = ['u8', 'u16', 'u32', 'u64'] as const;
  const BYTES = { u8: 1, u16: 2, u32: 4, u64: 8 } as const;
  /** A load size for a scalar of `n` bytes (its own nine times in ten). */
  const sizeFor = (n: number) => {
    const own = SIZES.find((s) => BYTES[s] === n);
    return own && r() < 0.9 ? own : pick(SIZES);
  };
  /**
   * A place inside aggregate `t`, by descending into members (nested structs, unions, arrays): its byte
   * offset and the type found there (id 0 for a random offset that is no member's start).
   */
  const place = (t: BtfType, depth = 0): { off: number; type: number } => {
    if (r() < 0.08 || t.members.length === 0) {
      const off = r() < 0.5 ? Math.floor(r() * Math.max(t.sizeOrType, 1)) : t.sizeOrType + pick([-1, 0, 4, 8]);
      return { off, type: 0 };
    }
    const m = pick(t.members);
    const off = Math.floor((t.kindFlag ? m.offset & 0xffffff : m.offset) / 8);
    const mt = res(m.type);
    if (isAgg(mt) && depth < 3 && r() < 0.8) {
      const inner = place(mt, depth + 1);
      return { off: off + inner.off, type: inner.type };
    }
    if (mt.kind === BtfKind.ARRAY && mt.array) {
      const el = mt.array.type;
      const es = btf.sizeOf(el);
      const n = mt.array.nelems;
      const i = r() < 0.85 ? Math.floor(r() * Math.max(n, 1)) : n + pick([0, 1, 3]);
      const et = res(el);
      if (isAgg(et) && depth < 3 && r() < 0.6) {
        const inner = place(et, depth + 1);
        return { off: off + i * es + inner.off, type: inner.type };
      }
      return { off: off + i * es, type: el };
    }
    return { off, type: m.type };
  };
  const out: BtfGrammarProgram[] = [];
  for (let n = 0; n < count; n++) {
    const { tp, iter, args } = pick(tps);
    // Registers the program has put a BTF pointer in, and the struct the generator thinks each points at.
    const regs = new Map<string, BtfType | undefined>();
    const lines: string[] = ['r9 = r1'];
    let refs = 0;
    const argLoad = (reg: string) => {
      const i = Math.floor(r() * args.length);
      const off = r() < 0.97 ? 8 * i : pick([8 * args.length, 4, 8 * i + 4, -8]);
      const sz = r() < 0.97 ? 'u64' : pick(['u32', 'u8']);
      lines.push(`${reg} = *(${sz} *)(r9 + ${off})`);
      regs.set(reg, pointee(args[i]!));
    };
    argLoad('r6');
    if (r() < 0.4) argLoad('r7');
    const ptrReg = () => pick([...regs.keys()]);
    const anyReg = () => pick([...regs.keys(), ...regs.keys(), 'r0', 'r8']);
    const ops: (() => void)[] = [
      // A load from a member (any depth), its value kept in r8 or, for a pointer field, followed.
      () => {
        const src = ptrReg();
        const t = regs.get(src);
        if (!t) {
          lines.push(`r8 = *(${pick(SIZES)} *)(${src} + ${pick([0, 1, 4, 8, 16])})`);
          return;
        }
        const p = place(t);
        const pt = p.type ? res(p.type) : undefined;
        if (pt?.kind === BtfKind.PTR) {
          const dst = pick(['r6', 'r7', 'r8']);
          lines.push(
            `${dst} = *(${r() < 0.92 ? 'u64' : pick(['u32', 'u8'])} *)(${src} + ${p.off + (r() < 0.05 ? 1 : 0)})`,
          );
          const to = res(pt.sizeOrType);
          regs.set(dst, isAgg(to) ? to : undefined);
          if (r() < 0.6) lines.push(`if ${dst} == 0 goto out`);
          return;
        }
        const sz = pt ? sizeFor(Math.min(btf.sizeOf(p.type), 8)) : pick(SIZES);
        const off = p.off + (r() < 0.06 ? pick([1, 2, 3]) : 0);
        lines.push(`r8 = *(${sz} *)(${src} + ${off})`);
        regs.delete('r8');
      },
      // A pointer field read at a misaligned or wrong size, or any 8 bytes followed as a pointer.
      () => {
        const src = ptrReg();
        lines.push(`r2 = *(u64 *)(${src} + ${8 * Math.floor(r() * 16) + (r() < 0.2 ? 4 : 0)})`);
        lines.push(`r0 = *(${pick(SIZES)} *)(r2 + ${pick([0, 4, 8])})`);
      },
      // NULL checks.
      () => lines.push(`if ${ptrReg()} ${pick(['==', '!='])} 0 goto out`),
      // Pointer arithmetic: constants, variables, 32-bit, masks, subtraction of two pointers.
      () => {
        const d = ptrReg();
        const k = pick([
          `${d} += ${pick([8, 16, 1, -8, 4096])}`,
          `call 7\nr2 = r0\nr2 &= ${pick([255, 7])}\n${d} += r2`,
          `r2 = 8\n${d} += r2`,
          `${d} -= ${pick([8, 1])}`,
          `w${d.slice(1)} += 8`,
          `${d} &= ${pick([-8, 7])}`,
          `r2 = ${d}\nr2 -= ${ptrReg()}`,
        ]);
        lines.push(k);
      },
      // Stores (refused: the kernel's structs are not the program's to write).
      () => {
        const d = ptrReg();
        const t = regs.get(d);
        const off = t ? place(t).off : 0;
        lines.push(r() < 0.5 ? `*(u64 *)(${d} + ${off}) = r8` : `*(u32 *)(${d} + ${off}) = ${pick([0, 1])}`);
      },
      // Spills and fills, at 8 and at 4 bytes.
      () => {
        const d = ptrReg();
        const o = pick([8, 16]);
        if (r() < 0.8) lines.push(`*(u64 *)(r10 - ${o}) = ${d}\n${d} = *(u64 *)(r10 - ${o})`);
        else lines.push(`*(u32 *)(r10 - ${o}) = w${d.slice(1)}\n${d} = *(u64 *)(r10 - ${o})`);
      },
      // bpf_probe_read_kernel(fp-16, 8, ptr + k), the result read.
      () => {
        lines.push(
          `r1 = r10\nr1 += -16\nr2 = ${pick([8, 16, 4])}\nr3 = ${ptrReg()}\nr3 += ${pick([0, 8])}\ncall 113\nr0 = *(u64 *)(r10 - 16)`,
        );
      },
      // bpf_get_current_task_btf: a trusted task in r7.
      () => {
        lines.push('call 158\nr7 = r0');
        regs.set('r7', btf.byName('task_struct', BtfKind.STRUCT));
      },
      // bpf_task_storage_get(map, task, 0, flags).
      () => {
        lines.push(
          `r1 = map 0\nr2 = ${anyReg()}\nr3 = 0\nr4 = ${pick([0, 1])}\ncall 156\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)`,
        );
      },
      // bpf_strncmp(ptr, n, "ab"), the string in the frozen array (now and then on the stack: refused).
      () => {
        const str = r() < 0.85 ? 'r3 = map_value 1+0' : 'r3 = r10\nr3 += -8';
        lines.push(`r1 = ${ptrReg()}\nr2 = ${pick([4, 8, 1])}\n${str}\ncall 182`);
      },
      // Task acquire and release (released on the not-NULL path so no reference leaks, most times).
      () => {
        refs++;
        lines.push(
          `r1 = ${ptrReg()}\ncall kfunc bpf_task_acquire\nif r0 == 0 goto nr${refs}\nr1 = r0\n${r() < 0.9 ? 'call kfunc bpf_task_release' : 'r0 = 0'}\nnr${refs}:`,
        );
      },
      // An RCU read section around a walk.
      () => {
        lines.push('call kfunc bpf_rcu_read_lock');
        const src = ptrReg();
        lines.push(`r8 = *(u64 *)(${src} + ${8 * Math.floor(r() * 8)})`);
        if (r() < 0.9) lines.push('call kfunc bpf_rcu_read_unlock');
      },
      // Sign-extending loads of a member, and atomics on one (refused).
      () => {
        const src = ptrReg();
        const t = regs.get(src);
        const off = t ? place(t).off : pick([0, 8]);
        lines.push(
          r() < 0.7
            ? `r8 = *(${pick(['s8', 's16', 's32'])} *)(${src} + ${off})`
            : `lock *(${pick(['u32', 'u64'])} *)(${src} + ${off}) += r8`,
        );
      },
      // bpf_task_pt_regs(task), bpf_get_task_stack(task, fp-16, 16, 0), probe_read_kernel_str.
      () => {
        lines.push(
          pick([
            `r1 = ${ptrReg()}\ncall 175\nr0 = *(u64 *)(r0 + ${pick([0, 8, 160])})`,
            `r1 = ${ptrReg()}\nr2 = r10\nr2 += -16\nr3 = 16\nr4 = 0\ncall 141`,
            `r1 = r10\nr1 += -16\nr2 = 8\nr3 = ${ptrReg()}\ncall 115`,
          ]),
        );
      },
      // bpf_seq_write(meta->seq, ptr, 8): an iterator's helper (refused elsewhere).
      () => lines.push(`r1 = *(u64 *)(r9 + 0)\nr1 = *(u64 *)(r1 + 0)\nr2 = ${ptrReg()}\nr3 = 8\ncall 127`),
      // Socket helpers: bpf_sk_storage_get(map, ptr, 0, 0), bpf_skc_to_tcp_sock(ptr) then a read.
      () =>
        lines.push(
          pick([
            `r1 = map 2\nr2 = ${ptrReg()}\nr3 = 0\nr4 = 0\ncall 107\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)`,
            `r1 = ${ptrReg()}\ncall 137\nif r0 == 0 goto out\nr0 = *(u32 *)(r0 + ${pick([0, 8, 1000, 4096])})`,
          ]),
        ),
      // A spilled pointer filled back in part, or spilled misaligned.
      () => {
        const d = ptrReg();
        lines.push(
          r() < 0.6
            ? `*(u64 *)(r10 - 16) = ${d}\nr8 = *(${pick(['u32', 'u16', 'u8'])} *)(r10 - ${pick([16, 12])})`
            : `*(u64 *)(r10 - 20) = ${d}\nr8 = *(u64 *)(r10 - 20)`,
        );
        regs.delete('r8');
      },
      // Pointer comparisons, and writes of a pointer into the context (refused).
      () => lines.push(pick([`if ${ptrReg()} > ${ptrReg()} goto out`, `*(u64 *)(r9 + 0) = ${ptrReg()}`])),
      // bpf_get_current_task (a scalar) cast to a task.
      () => {
        lines.push('call 35\nr1 = r0\nr2 = btfid(task_struct)\ncall kfunc bpf_rdonly_cast\nr7 = r0');
        regs.set('r7', btf.byName('task_struct', BtfKind.STRUCT));
      },
      // bpf_rdonly_cast to a struct, to 0 (untrusted memory), or to a non-struct.
      () => {
        const to = pick(['btfid(task_struct)', 'btfid(sk_buff)', '0', 'btfid(file)']);
        const d = pick(['r6', 'r7']);
        lines.push(`r1 = ${anyReg()}\nr2 = ${to}\ncall kfunc bpf_rdonly_cast\n${d} = r0`);
        regs.set(d, to === '0' ? undefined : btf.byName(/\((\w+)\)/.exec(to)![1]!, BtfKind.STRUCT));
      },
    ];
    // Calls clobber r1-r5 and r0: make sure the tracked registers survive (r6, r7, r8 are callee-saved).
    lines.push('r8 = 0', 'r0 = 0', '*(u64 *)(r10 - 8) = 25185', '*(u64 *)(r10 - 16) = 0');
    for (let i = 0, len = 1 + Math.floor(r() * 5); i < len; i++) pick(ops)();
    // One exit, reached by the NULL checks' jumps too (so no label is dead code); r0 is always set.
    lines.push(r() < 0.1 ? `r0 = ${ptrReg()}` : 'r0 = 0', 'out:', 'exit');
    const text = lines.join('\n');
    out.push({
      name: `btf-grammar-${n}`,
      tp,
      ...(iter ? { iter } : {}),
      text,
      insns: kfuncProgram(btf, text),
      maps: BTF_GRAMMAR_MAPS,
    });
  }
  return out;
}
