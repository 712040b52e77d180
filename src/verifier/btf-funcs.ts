/**
 * Which subprograms are global and what their prototypes promise, from an object's BTF func_info (the
 * kernel's btf_prepare_func_args). A global (non-static) function is verified once, on its own, with
 * arguments built from its prototype; a caller sees only that it returns a scalar.
 */
import { type Btf, type BtfType, BtfKind } from '../btf/index.js';
import type { ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { ProgType } from '../uapi/types.js';
import { declTags, objectBtf } from './btf-fields.js';

/** What one argument of a global function is, as the kernel builds it from the prototype. */
export type GlobalArg =
  | { kind: 'scalar' }
  | { kind: 'ctx' }
  /** A pointer to `size` bytes of scalars, or NULL (PTR_TO_MEM_OR_NULL). */
  | { kind: 'mem'; size: number }
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

/** The name of the context struct a program type's global functions may take a pointer to. */
function ctxTypeNames(progType: number): string[] {
  switch (progType) {
    case ProgType.SOCKET_FILTER:
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.CGROUP_SKB:
    case ProgType.SK_SKB:
      return ['__sk_buff'];
    case ProgType.XDP:
      return ['xdp_md'];
    case ProgType.KPROBE:
      return ['bpf_user_pt_regs_t', 'pt_regs'];
    case ProgType.PERF_EVENT:
      return ['bpf_perf_event_data'];
    case ProgType.RAW_TRACEPOINT:
      return ['bpf_raw_tracepoint_args'];
    default:
      return [];
  }
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
  // Any pointee of a known size is memory of that size (btf_resolve_size); void is not.
  const size = sizeOf(btf, t.sizeOrType);
  if (!size) return { kind: 'bad', message: `arg#${i} reference type('${pointee.t.name}') size cannot be determined` };
  return { kind: 'mem', size };
}

/** The global functions of a linked program (none when the object has no BTF func_info). */
export function globalFuncs(spec: ObjectSpec, prog: ProgramSpec, progType: number): GlobalFunc[] {
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
    // `__arg_ctx`, `__arg_nonnull`, `__arg_trusted`...: the kernel builds such an argument from its tag.
    for (const tag of declTags(btf, fi.typeId))
      if (tag.name.startsWith('arg:') && tag.component >= 0 && tag.component < g.args.length)
        g.args[tag.component] = {
          kind: 'bad',
          message: `arg#${tag.component} tagged '${tag.name}': bpfkit does not model __arg_* decl tags`,
        };
    // Linux 6.18 still refuses void global functions.
    if (!isScalar(ret)) g.bad = `Global function ${fn.name}() doesn't return scalar. Only those are supported.`;
    if (proto.members.length > 5) g.bad = `Function ${fn.name} has ${proto.members.length} > 5 args`;
    out.push(g);
  }
  return out;
}
