/**
 * Offsets of kernel struct members from the running kernel's BTF, for programs that walk kernel
 * structures with bpf_probe_read_kernel and no CO-RE: the offsets are computed here and handed to clang
 * as -D definitions, so the object is built for this kernel only (the compile cache keys on them).
 */
import { BtfKind, type Btf } from '../btf/btf.js';
import { InputError } from '../util/errors.js';

/** Byte offset of `member` in struct `struct`, looking through anonymous struct and union members. */
export function memberOffset(btf: Btf, struct: string, member: string): number {
  const t = btf.byName(struct, BtfKind.STRUCT) ?? btf.byName(struct, BtfKind.UNION);
  if (!t) throw new InputError(`the kernel's BTF has no struct ${struct}`);
  const found = find(btf, t.id, member);
  if (found === undefined) throw new InputError(`the kernel's BTF has no member ${member} in struct ${struct}`);
  return found / 8;
}

function find(btf: Btf, id: number, member: string): number | undefined {
  const t = btf.resolve(id);
  for (const m of t.members) {
    const bitOffset = t.kindFlag ? m.offset & 0xffffff : m.offset;
    if (m.name === member) return bitOffset;
    if (m.name === '') {
      const inner = btf.resolve(m.type);
      if (inner.kind === BtfKind.STRUCT || inner.kind === BtfKind.UNION) {
        const r = find(btf, inner.id, member);
        if (r !== undefined) return bitOffset + r;
      }
    }
  }
  return undefined;
}

/**
 * How many arguments tracepoint `name` passes to a raw tracepoint program, from the kernel's
 * `btf_trace_<name>` typedef (a pointer to the probe's prototype, whose first parameter is the
 * tracepoint's private data, not an argument). A program may read only that many: the kernel refuses
 * to attach one that reads further.
 */
export function rawTracepointArgs(btf: Btf, name: string): number {
  const t = btf.byName(`btf_trace_${name}`, BtfKind.TYPEDEF);
  if (!t) throw new InputError(`the kernel's BTF has no tracepoint ${name} (btf_trace_${name})`);
  const ptr = btf.resolve(t.id);
  const proto = ptr.kind === BtfKind.PTR ? btf.resolve(ptr.sizeOrType) : undefined;
  if (proto?.kind !== BtfKind.FUNC_PROTO) throw new InputError(`btf_trace_${name} is not a pointer to a prototype`);
  return proto.members.length - 1;
}
