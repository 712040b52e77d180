/**
 * BPF iterator programs (BPF_PROG_TYPE_TRACING with BPF_TRACE_ITER, section `iter/<target>`): the context
 * is the `bpf_iter_<target>` function's arguments as u64s (btf_ctx_access), `meta` a trusted `struct
 * bpf_iter_meta` whose `seq` is a trusted `seq_file` (the kernel's BTF_TYPE_SAFE_TRUSTED list), the target's
 * pointers typed by its `ctx_arg_info` (PTR_TO_BTF_ID_OR_NULL, some PTR_TRUSTED) — a table bpfkit carries,
 * checked target by target against Linux 6.18; the seq_file helpers (bpf_seq_printf, bpf_seq_write,
 * bpf_seq_printf_btf), which only iterators get; a return value of 0 or 1. A target not in the table, a
 * pointer argument the table does not name, a seq_file argument other than `meta->seq`: not modelled.
 */
import { type Btf, BtfKind } from '../btf/index.js';
import type { HelperProto } from './helpers.js';
import { Rejection } from './reject.js';
import type { Reg } from './state.js';

/** BPF_TRACE_ITER: the expected attach type of iterator programs. */
export const TRACE_ITER = 28;

/**
 * The iterator targets bpfkit models: for each, the pointer arguments its ctx_arg_info names (0-based,
 * `meta` is 0), all PTR_TO_BTF_ID_OR_NULL, and whether PTR_TRUSTED too. Read off Linux 6.18 by loading
 * `r0 = ctx[i]; exit` and reading the type the kernel's refusal names (test/verifier/iter.test.ts).
 * bpf_map_elem, bpf_sk_storage_map and sockmap (PTR_TO_BUF key/value) are left out.
 */
const TARGETS: ReadonlyMap<string, ReadonlyMap<number, 'trusted' | ''>> = new Map([
  ['task', new Map([[1, 'trusted']])],
  [
    'task_file',
    new Map([
      [1, ''],
      [3, ''],
    ]),
  ],
  [
    'task_vma',
    new Map([
      [1, ''],
      [2, ''],
    ]),
  ],
  ['bpf_map', new Map([[1, 'trusted']])],
  ['bpf_link', new Map([[1, '']])],
  ['tcp', new Map([[1, 'trusted']])],
  ['udp', new Map([[1, 'trusted']])],
  ['unix', new Map([[1, '']])],
  ['netlink', new Map([[1, '']])],
  ['ipv6_route', new Map([[1, '']])],
  ['ksym', new Map([[1, '']])],
  ['cgroup', new Map([[1, 'trusted']])],
] as [string, ReadonlyMap<number, 'trusted' | ''>][]);

/** An iterator program's target: the `bpf_iter_<target>` FUNC's parameters and its ctx_arg_info. */
export interface IterTarget {
  /** The target's pointer arguments (ctx_arg_info), NULL-able, and their trust. */
  ptrs: ReadonlyMap<number, 'trusted' | ''>;
}

/**
 * The target of an iterator program: FUNC `bpf_iter_<target>` (by name when known, else by the id a
 * loader resolved), whose first parameter is `struct bpf_iter_meta *meta`. Returns a reason instead when
 * bpfkit cannot read it, or does not model the target.
 */
export function iterTarget(
  btf: Btf,
  id: number | undefined,
  funcName: string | undefined,
): { name: string; args: number[]; argNames: string[]; iter: IterTarget } | string {
  const fid = funcName
    ? btf.idsNamed(funcName).find((i) => btf.types[i]!.kind === BtfKind.FUNC)
    : id !== undefined && btf.types[id]?.kind === BtfKind.FUNC
      ? id
      : undefined;
  const f = fid === undefined ? undefined : btf.types[fid];
  if (!f || !f.name.startsWith('bpf_iter_'))
    return `the attach target (${funcName ?? `btf_id ${id}`}) is not a bpf_iter_ function of the kernel's BTF given to bpfkit`;
  const ptrs = TARGETS.get(f.name.slice('bpf_iter_'.length));
  if (!ptrs) return `iterator target ${f.name}: bpfkit does not model its context (ctx_arg_info)`;
  const proto = btf.types[f.sizeOrType];
  if (!proto || proto.kind !== BtfKind.FUNC_PROTO || proto.members.length < 1)
    return `${f.name} is not a function with a meta argument`;
  return {
    name: f.name,
    args: proto.members.map((m) => m.type),
    argNames: proto.members.map((m) => m.name),
    iter: { ptrs },
  };
}

/**
 * The helpers only iterators get (tracing_prog_func_proto with BPF_TRACE_ITER), GPL-only, the seq_file
 * first: bpf_seq_printf (the format is ARG_PTR_TO_MEM, checked at run time, as is the data's length),
 * bpf_seq_write and bpf_seq_printf_btf. The seq_file argument is checked by seqFileArg, so it is
 * `anything` here.
 */
const SEQ_HELPERS: ReadonlyMap<number, HelperProto> = new Map([
  [
    126,
    {
      id: 126,
      name: 'seq_printf',
      args: ['anything', 'mem', 'const_size', 'mem_or_null', 'const_size_or_zero'],
      ret: 'integer',
      gpl: true,
      scope: 'all',
    },
  ],
  [
    127,
    {
      id: 127,
      name: 'seq_write',
      args: ['anything', 'mem', 'const_size_or_zero'],
      ret: 'integer',
      gpl: true,
      scope: 'all',
    },
  ],
  [
    150,
    {
      id: 150,
      name: 'seq_printf_btf',
      args: ['anything', 'mem', 'const_size_or_zero', 'anything'],
      ret: 'integer',
      gpl: true,
      scope: 'all',
    },
  ],
] as [number, HelperProto][]);

/** The prototype of a seq_file helper `id`, for an iterator program; undefined for any other helper. */
export function iterHelperProto(id: number): HelperProto | undefined {
  return SEQ_HELPERS.get(id);
}

/**
 * The seq_file argument of a seq helper (ARG_PTR_TO_BTF_ID of seq_file): bpfkit accepts the trusted
 * `meta->seq` at offset 0 and reports anything else as not modelled (the kernel's refusals of other
 * pointers are not carried).
 */
export function seqFileArg(pc: number, name: string, reg: Reg): void {
  if (
    reg.kind === 'btf_id' &&
    reg.btf?.name === 'seq_file' &&
    reg.btf.trust === 'trusted' &&
    !reg.nullable &&
    reg.off === 0 &&
    reg.s.t.mask === 0n &&
    reg.s.t.value === 0n
  )
    return;
  throw new Rejection(pc, `R1 passed to bpf_${name}: bpfkit models only meta->seq as its seq_file`);
}
