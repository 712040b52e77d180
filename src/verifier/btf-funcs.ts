/**
 * Which subprograms are global and what their prototypes promise, from an object's BTF func_info (the
 * kernel's btf_prepare_func_args). A global (non-static) function is verified once, on its own, with
 * arguments built from its prototype; a caller sees only that it returns a scalar.
 */
import { type Btf, type BtfType, BtfKind } from '../btf/index.js';
import type { ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { ProgType } from '../uapi/types.js';
import { declTags, objectBtf } from './btf-fields.js';
import type { TrustedArg } from './trusted-args.js';

/** What one argument of a global function is, as the kernel builds it from the prototype. */
export type GlobalArg =
  | { kind: 'scalar' }
  | { kind: 'ctx' }
  /** A pointer to `size` bytes of scalars, or NULL (PTR_TO_MEM_OR_NULL); `nonnull` (`arg:nonnull`): never NULL. */
  | { kind: 'mem'; size: number; nonnull?: boolean }
  /** A struct bpf_dynptr pointer: an initialized dynptr the function may only read (dynptr-kfunc.ts). */
  | { kind: 'dynptr' }
  /** A kernel struct pointer tagged `arg:trusted` (trusted-args.ts). */
  | TrustedArg
  /** A prototype the kernel refuses, with its words. */
  | { kind: 'bad'; message: string };

/** A global function: its first slot, name and arguments. */
export interface GlobalFunc {
  pc: number;
  name: string;
  args: GlobalArg[];
  /** Why the kernel refuses the prototype as a whole (a return type it does not support). */
  bad?: string;
}

const BTF_FUNC_GLOBAL = 1;
const MODIFIERS: number[] = [BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG];

/**
 * The name of the context struct a program type's global functions may take a pointer to (btf_is_prog_ctx_type:
 * the user-side context type of bpf_types.h, for every type CTX_STRUCT lists; kprobes also the
 * bpf_user_pt_regs_t typedef).
 */
function ctxTypeNames(progType: number): string[] {
  if (progType === ProgType.KPROBE) return ['bpf_user_pt_regs_t', 'pt_regs'];
  const s = CTX_STRUCT.get(progType);
  return s ? [s] : [];
}

/** Follow typedefs and qualifiers; returns the type and whether a typedef of one of `names` was crossed. */
function resolve(btf: Btf, id: number, names: string[] = []): { t: BtfType; named: boolean } {
  let named = false;
  for (let hops = 0; hops < 32; hops++) {
    const t = btf.types[id]!;
    if (!t || !MODIFIERS.includes(t.kind)) return { t: t ?? btf.types[0]!, named };
    if (t.kind === BtfKind.TYPEDEF && names.includes(t.name)) named = true;
    id = t.sizeOrType;
  }
  return { t: btf.types[0]!, named };
}

const isScalar = (t: BtfType) => t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64;

/** The size of a sized type, or undefined. */
function sizeOf(btf: Btf, id: number): number | undefined {
  const { t } = resolve(btf, id);
  if (isScalar(t) || t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) return t.sizeOrType || undefined;
  if (t.kind === BtfKind.ARRAY) {
    const e = sizeOf(btf, t.array!.type);
    return e === undefined ? undefined : e * t.array!.nelems;
  }
  if (t.kind === BtfKind.PTR) return 8;
  return undefined;
}

function argOf(btf: Btf, typeId: number, progType: number, i: number, fname: string): GlobalArg {
  const ctxNames = ctxTypeNames(progType);
  const { t } = resolve(btf, typeId);
  if (isScalar(t)) return { kind: 'scalar' };
  if (t.kind !== BtfKind.PTR) return { kind: 'bad', message: `arg#${i} type is not a scalar or pointer in ${fname}()` };
  const pointee = resolve(btf, t.sizeOrType, ctxNames);
  if (pointee.named || (pointee.t.kind === BtfKind.STRUCT && ctxNames.includes(pointee.t.name))) return { kind: 'ctx' };
  // btf_prepare_func_args: a struct bpf_dynptr pointer is a dynptr argument (ARG_PTR_TO_DYNPTR | MEM_RDONLY),
  // not memory.
  if (pointee.t.kind === BtfKind.STRUCT && pointee.t.name === 'bpf_dynptr') return { kind: 'dynptr' };
  // Any pointee of a known size is memory of that size (btf_resolve_size); void is not.
  const size = sizeOf(btf, t.sizeOrType);
  if (!size) return { kind: 'bad', message: `arg#${i} reference type('${pointee.t.name}') size cannot be determined` };
  return { kind: 'mem', size };
}

/** BPF_TRACE_RAW_TP, BPF_TRACE_ITER: the tracing attach types whose `__arg_ctx` rules bpfkit knows. */
const TRACE_RAW_TP = 23;
const TRACE_ITER = 28;

/**
 * The struct a program type's context is, as its global functions name it (the user-side context types of
 * the kernel's bpf_types.h); a type not listed here is not modelled for `__arg_ctx`.
 */
const CTX_STRUCT: ReadonlyMap<number, string> = new Map([
  [ProgType.SOCKET_FILTER, '__sk_buff'],
  [ProgType.SCHED_CLS, '__sk_buff'],
  [ProgType.SCHED_ACT, '__sk_buff'],
  [ProgType.CGROUP_SKB, '__sk_buff'],
  [ProgType.SK_SKB, '__sk_buff'],
  [ProgType.LWT_IN, '__sk_buff'],
  [ProgType.LWT_OUT, '__sk_buff'],
  [ProgType.LWT_XMIT, '__sk_buff'],
  [ProgType.XDP, 'xdp_md'],
  [ProgType.CGROUP_SOCK, 'bpf_sock'],
  [ProgType.CGROUP_SOCK_ADDR, 'bpf_sock_addr'],
  [ProgType.SOCK_OPS, 'bpf_sock_ops'],
  [ProgType.SK_MSG, 'sk_msg_md'],
  [ProgType.PERF_EVENT, 'bpf_perf_event_data'],
  [ProgType.RAW_TRACEPOINT, 'bpf_raw_tracepoint_args'],
  [23, 'bpf_sysctl'], // cgroup_sysctl
  [25, 'bpf_sockopt'], // cgroup_sockopt
  [ProgType.SK_REUSEPORT, 'sk_reuseport_md'],
  [30, 'bpf_sk_lookup'], // sk_lookup
]);

/**
 * An argument tagged `__arg_ctx` (btf_validate_prog_ctx_type): a pointer to void, to the program type's
 * context struct, or to what a type's special cases allow (kprobes: pt_regs or the bpf_user_pt_regs_t
 * typedef; raw tracepoints and tp_btf: u64; tracepoints: anything). Returns the kernel's refusal, or
 * undefined when the pointer is fine.
 */
function ctxTagFault(
  btf: Btf,
  typeId: number,
  progType: number,
  attachType: number | undefined,
  i: number,
): string | undefined {
  const ptr = resolve(btf, typeId).t;
  if (ptr.kind !== BtfKind.PTR) return `arg#${i} has pointer tag, but is not a pointer type`;
  // Kprobes and perf events may name the bpf_user_pt_regs_t typedef itself.
  if (
    (progType === ProgType.KPROBE || progType === ProgType.PERF_EVENT) &&
    resolve(btf, ptr.sizeOrType, ['bpf_user_pt_regs_t']).named
  )
    return undefined;
  const t = resolve(btf, ptr.sizeOrType).t;
  if (t.id === 0) return undefined; // void *
  if (!t.name) return `arg#${i} type doesn't have a name`;
  const isStruct = t.kind === BtfKind.STRUCT;
  const u64 = t.kind === BtfKind.INT && t.sizeOrType === 8;
  switch (progType) {
    case ProgType.TRACEPOINT:
      return undefined;
    case ProgType.KPROBE:
    case ProgType.PERF_EVENT:
      // On x86-64 bpf_user_pt_regs_t is struct pt_regs.
      if (isStruct && t.name === 'pt_regs') return undefined;
      break;
    case ProgType.RAW_TRACEPOINT:
      if (u64) return undefined;
      break;
    case 26: // tracing
      if (attachType === TRACE_RAW_TP && ((isStruct && t.name === 'bpf_raw_tracepoint_args') || u64)) return undefined;
      if (attachType === TRACE_ITER && isStruct && t.name.startsWith('bpf_iter__')) return undefined;
      return `arg#${i} tagged 'arg:ctx' in a tracing program: bpfkit does not model its context types`;
  }
  const want = CTX_STRUCT.get(progType);
  if (!want) return `arg#${i} tagged 'arg:ctx' for program type ${progType}: bpfkit does not model its context type`;
  if (!isStruct || t.name !== want) return `arg#${i} should be \`struct ${want} *\``;
  return undefined;
}

/**
 * `arg:nonnull` alone on a pointer to sized memory (btf_prepare_func_args's generic user data pointer): the
 * same memory argument, never NULL. Anything else so tagged (the context, a dynptr, a non-pointer, a size
 * the kernel cannot determine) is left to the caller as not modelled.
 */
function nonnullMemArg(btf: Btf, typeId: number, progType: number, i: number): GlobalArg | undefined {
  const arg = argOf(btf, typeId, progType, i, '');
  if (arg.kind !== 'mem') return undefined;
  const pointee = resolve(btf, resolve(btf, typeId).t.sizeOrType).t;
  if (pointee.name === 'bpf_dynptr') return undefined;
  return { ...arg, nonnull: true };
}

/**
 * An argument's `arg:` decl tags (btf_prepare_func_args), which take precedence over its type: `ctx`
 * alone makes it the context. `nonnull`, `nullable`, `trusted` and `arena` are not modelled; a tag the
 * kernel does not know is refused.
 */
function taggedArg(
  btf: Btf,
  typeId: number,
  tags: readonly string[],
  progType: number,
  attachType: number | undefined,
  i: number,
): GlobalArg {
  const known = ['ctx', 'trusted', 'nonnull', 'nullable', 'arena'];
  if (tags.some((x) => !known.includes(x))) return { kind: 'bad', message: `arg#${i} has unsupported set of tags` };
  if (tags.length === 1 && tags[0] === 'nonnull') {
    const nonnull = nonnullMemArg(btf, typeId, progType, i);
    if (nonnull) return nonnull;
  }
  if (tags.includes('trusted') && !tags.includes('ctx')) {
    const trusted = trustedArg(btf, typeId, tags, progType, i);
    if (trusted) return trusted;
  }
  if (!tags.includes('ctx'))
    return { kind: 'bad', message: `arg#${i} tagged 'arg:${tags.join(',')}': bpfkit does not model this decl tag` };
  const isPtr = resolve(btf, typeId).t.kind === BtfKind.PTR;
  if (isPtr && tags.some((x) => x !== 'ctx'))
    return { kind: 'bad', message: `arg#${i} has invalid combination of tags` };
  const fault = ctxTagFault(btf, typeId, progType, attachType, i);
  return fault ? { kind: 'bad', message: fault } : { kind: 'ctx' };
}

/**
 * `arg:trusted`, maybe with `arg:nullable` (btf_prepare_func_args, in its order of checks): on a pointer to
 * a struct other than the context or a dynptr, not with `arg:nonnull`. Other shapes (a pointer to a union,
 * to void, `arg:arena` too) are left to the caller as not modelled.
 */
function trustedArg(
  btf: Btf,
  typeId: number,
  tags: readonly string[],
  progType: number,
  i: number,
): GlobalArg | undefined {
  const t = resolve(btf, typeId).t;
  if (t.kind !== BtfKind.PTR) return { kind: 'bad', message: `arg#${i} has pointer tag, but is not a pointer type` };
  const plain = argOf(btf, typeId, progType, i, '');
  if (plain.kind === 'ctx' || plain.kind === 'dynptr')
    return { kind: 'bad', message: `arg#${i} has invalid combination of tags` };
  if (tags.includes('nonnull')) return { kind: 'bad', message: `arg#${i} has invalid combination of tags` };
  if (tags.some((x) => x !== 'trusted' && x !== 'nullable')) return undefined;
  const pointee = resolve(btf, t.sizeOrType).t;
  if (pointee.kind !== BtfKind.STRUCT || !pointee.name) return undefined;
  return { kind: 'trusted', struct: pointee.name, nullable: tags.includes('nullable') };
}

/** The global functions of a linked program (none when the object has no BTF func_info). */
export function globalFuncs(spec: ObjectSpec, prog: ProgramSpec, progType: number, attachType?: number): GlobalFunc[] {
  if (!spec.btf || !prog.funcInfo) return [];
  const btf = objectBtf(spec.btf);
  if (!btf) return [];
  const out: GlobalFunc[] = [];
  for (const fi of prog.funcInfo) {
    if (fi.pc === 0) continue;
    const fn = btf.types[fi.typeId];
    if (!fn || fn.kind !== BtfKind.FUNC || fn.vlen !== BTF_FUNC_GLOBAL) continue;
    const proto = btf.types[fn.sizeOrType];
    if (!proto || proto.kind !== BtfKind.FUNC_PROTO) continue;
    const ret = resolve(btf, proto.sizeOrType).t;
    const g: GlobalFunc = {
      pc: fi.pc,
      name: fn.name,
      args: proto.members.map((m, i) => argOf(btf, m.type, progType, i, fn.name)),
    };
    // `__arg_ctx`, `__arg_nonnull`, `__arg_trusted`...: the kernel builds such an argument from its tags.
    const tags = declTags(btf, fi.typeId).filter((x) => x.name.startsWith('arg:'));
    proto.members.forEach((m, i) => {
      const mine = tags.filter((x) => x.component === i).map((x) => x.name.slice(4));
      if (mine.length) g.args[i] = taggedArg(btf, m.type, mine, progType, attachType, i);
    });
    // Linux 6.18 still refuses void global functions.
    if (!isScalar(ret)) g.bad = `Global function ${fn.name}() doesn't return scalar. Only those are supported.`;
    if (proto.members.length > 5) g.bad = `Function ${fn.name} has ${proto.members.length} > 5 args`;
    out.push(g);
  }
  return out;
}

/**
 * The subprograms (first slots; the program's own function left out) whose BTF prototype returns neither
 * an integer nor an enum: Linux 6.18 refuses a tail call or an LD_ABS/IND in such a function, whose early
 * return would hand its caller an integer where it expects something else.
 */
export function nonIntSubprogs(spec: ObjectSpec, prog: ProgramSpec): number[] {
  if (!spec.btf || !prog.funcInfo) return [];
  const btf = objectBtf(spec.btf);
  if (!btf) return [];
  const out: number[] = [];
  for (const fi of prog.funcInfo) {
    const fn = btf.types[fi.typeId];
    const proto = fn?.kind === BtfKind.FUNC ? btf.types[fn.sizeOrType] : undefined;
    if (fi.pc === 0 || proto?.kind !== BtfKind.FUNC_PROTO) continue;
    if (!isScalar(resolve(btf, proto.sizeOrType).t)) out.push(fi.pc);
  }
  return out;
}
