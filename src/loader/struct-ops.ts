/**
 * struct_ops maps against the running kernel, as libbpf's bpf_map__init_kern_struct_ops does it: the
 * kernel's struct of the same name (`tcp_congestion_ops`; a `___flavor` suffix dropped) and its wrapper
 * `bpf_struct_ops_<name>` in the kernel's BTF; the map value is the wrapper, its `data` member laid out by
 * the KERNEL struct's members matched by name. Function pointers become slots for program fds (filled
 * when the kernel engine registers the map), each program gets attach_btf_id = the kernel struct and
 * expected_attach_type = the member's index; other members are copied when their sizes match. A member
 * the kernel lacks is dropped when it is zero and refused otherwise; a size or kind mismatch, a bitfield,
 * a program bound to two different members: refused, in one line naming map and member.
 */
import type { MapSpec, ObjectSpec, ProgramSpec, StructOpsKernelSpec } from '../elf/spec.js';
import { BtfKind, type Btf, type BtfType } from '../btf/btf.js';
import { essentialName } from '../btf/index.js';
import { EnvironmentError, InputError } from '../util/errors.js';
import type { KernelEnv } from './kernel-env.js';

/** The prefix of the kernel's map-value wrapper of each struct_ops type (kernel/bpf/bpf_struct_ops.c). */
const VALUE_PREFIX = 'bpf_struct_ops_';

/** The VM has no kernel structs to register with: a struct_ops map is refused, naming it, before anything loads. */
export function refuseStructOpsInVm(spec: ObjectSpec): void {
  const m = spec.maps.find((x) => x.structOps);
  if (m)
    throw new InputError(
      `struct_ops map '${m.name}' (struct ${m.structOps!.typeName}) registers with the kernel: load it with the kernel engine, the VM has no struct_ops`,
      spec.path ?? 'object',
    );
}

/** Lay every struct_ops map out for the running kernel and give its programs their attach ids. */
export function resolveStructOps(spec: ObjectSpec, env: KernelEnv): ObjectSpec {
  const ops = spec.maps.filter((m) => m.structOps && !m.structOps.kernel);
  if (ops.length === 0) return spec;
  const source = spec.path ?? 'object';
  const present = new Set(spec.programs.map((p) => p.name));
  // A partial load (tc's kernel.programs keeps every map) may hold a struct_ops map none of whose programs
  // were asked for: leave it out, as libbpf leaves out what it does not load.
  const dropped = new Set<string>();
  for (const m of ops) {
    // `?.struct_ops` maps are not created (libbpf's autocreate off; bpfkit has no switch to turn it on).
    if (m.structOps!.autocreate === false) {
      dropped.add(m.name);
      continue;
    }
    const progs = m.structOps!.members.flatMap((x) => (x.program ? [x.program] : []));
    if (progs.length > 0 && !progs.some((p) => present.has(p))) dropped.add(m.name);
  }
  const attach = new Map<string, { typeId: number; index: number; map: string; member: string }>();
  const maps: MapSpec[] = [];
  for (const m of spec.maps) {
    if (dropped.has(m.name)) continue;
    if (!m.structOps || m.structOps.kernel) {
      maps.push(m);
      continue;
    }
    const btf = env.btf();
    if (!btf)
      throw new EnvironmentError(
        `${source}: struct_ops map '${m.name}' needs the kernel's BTF (/sys/kernel/btf/vmlinux), which this kernel does not publish`,
      );
    const kernel = layOut(m, btf, source, present);
    for (const slot of kernel.slots) {
      const seen = attach.get(slot.program);
      if (seen && (seen.typeId !== kernel.spec.typeId || seen.index !== slot.index))
        throw new InputError(
          `program '${slot.program}' is member '${slot.member}' of '${m.name}' and member '${seen.member}' of '${seen.map}': a struct_ops program serves one member of one struct type`,
          `${source}: struct_ops map '${m.name}'`,
        );
      attach.set(slot.program, { typeId: kernel.spec.typeId, index: slot.index, map: m.name, member: slot.member });
    }
    maps.push({
      ...m,
      valueSize: kernel.spec.value.length,
      structOps: { ...m.structOps, kernel: kernel.spec },
    });
  }
  // Programs that only maps left out point at are left out with them (libbpf turns their autoload off).
  const onlyDropped = new Set<string>();
  for (const m of ops)
    for (const x of m.structOps!.members)
      if (x.program && dropped.has(m.name) && !attach.has(x.program)) onlyDropped.add(x.program);
  const programs = spec.programs
    .filter((p) => !onlyDropped.has(p.name))
    .map((p): ProgramSpec => {
      const a = attach.get(p.name);
      return a ? { ...p, attachBtfId: a.typeId, attachType: a.index } : p;
    });
  return { ...spec, maps, programs };
}

interface LaidOut {
  spec: StructOpsKernelSpec;
  slots: { program: string; index: number; member: string }[];
}

function layOut(m: MapSpec, btf: Btf, source: string, present: Set<string>): LaidOut {
  const ops = m.structOps!;
  const where = `${source}: struct_ops map '${m.name}'`;
  const name = essentialName(ops.typeName);
  const wrapper = structNamed(btf, `${VALUE_PREFIX}${name}`);
  const struct = structNamed(btf, name);
  if (!wrapper || !struct)
    throw new InputError(
      `the kernel's BTF (vmlinux) has no struct_ops type 'struct ${name}'${wrapper ? '' : ` (no 'struct ${VALUE_PREFIX}${name}')`}: the kernel lacks it, or a module defines it, which bpfkit does not load against`,
      where,
    );
  const dataMember = wrapper.members.find((x) => x.type === struct.id);
  if (!dataMember) throw new InputError(`'struct ${wrapper.name}' holds no 'struct ${name}'`, where);
  const value = new Uint8Array(wrapper.sizeOrType);
  const base = dataMember.offset / 8;
  const slots: LaidOut['slots'] = [];
  const programSlots: StructOpsKernelSpec['programSlots'] = [];
  for (const member of ops.members) {
    const at = `${where}, member '${member.name}'`;
    const bytes = ops.data.subarray(member.offset, member.offset + member.size);
    const index = struct.members.findIndex((x) => x.name === member.name);
    if (index < 0) {
      if (member.program === undefined && bytes.every((b) => b === 0)) continue; // as libbpf: zero, skipped
      throw new InputError(`the kernel's 'struct ${name}' has no member '${member.name}', and the object sets it`, at);
    }
    const kmember = struct.members[index]!;
    if (member.bitfieldBits || kmember.size)
      throw new InputError('bitfield members are not supported (libbpf refuses them too)', at);
    const ktype = btf.resolve(kmember.type);
    if (ktype.kind !== member.kind)
      throw new InputError(
        `the object's member is a ${kindName(member.kind)}, the kernel's a ${kindName(ktype.kind)}`,
        at,
      );
    const offset = base + kmember.offset / 8;
    if (member.kind === BtfKind.PTR) {
      // Pointers hold programs or nothing; a pointer the object set without a program would be an address.
      if (member.program === undefined || !present.has(member.program)) continue;
      if (btf.resolve(ktype.sizeOrType).kind !== BtfKind.FUNC_PROTO)
        throw new InputError(`the kernel's member is not a function pointer`, at);
      slots.push({ program: member.program, index, member: member.name });
      programSlots.push({ offset, program: member.program });
      continue;
    }
    const ksize = btf.sizeOf(kmember.type);
    if (ksize !== member.size)
      throw new InputError(`its size is ${member.size} bytes in the object and ${ksize} in the kernel`, at);
    value.set(bytes, offset);
  }
  return { spec: { typeId: struct.id, valueTypeId: wrapper.id, value, programSlots }, slots };
}

function structNamed(btf: Btf, name: string): BtfType | undefined {
  for (const id of btf.idsNamed(name)) if (btf.types[id]!.kind === BtfKind.STRUCT) return btf.types[id];
  return undefined;
}

const kindName = (kind: number): string =>
  Object.entries(BtfKind)
    .find(([, v]) => v === kind)?.[0]
    .toLowerCase() ?? `kind ${kind}`;
