/**
 * The program types of a BCC source's untyped functions, given at load (BCC's `load_func(name,
 * BPF.SOCKET_FILTER)`): each function the rewrite put in section `bcc/NAME` takes the type named for it;
 * one named for nothing is kept out of a whole-object load and refused by name, never loaded as some
 * other type.
 */
import { programTypeByName, progTypeName } from '../../elf/section-types.js';
import type { ObjectSpec, ProgramSpec } from '../../elf/spec.js';
import { InputError } from '../../util/errors.js';
import { UNTYPED_SECTION_PREFIX } from './rewrite.js';

/**
 * The spec with the untyped BCC functions typed: `types` maps a function name to a program type as
 * bpftool or BCC names it (`socket_filter`, `SOCKET_FILTER`, `sched_cls`, `xdp`...) or a libbpf section
 * name (`socket`, `tc`, `tracepoint/syscalls/sys_enter_openat`).
 */
export function applyBccTypes(spec: ObjectSpec, types: Record<string, string> = {}): ObjectSpec {
  const untyped = new Set(spec.programs.filter((p) => p.section.startsWith(UNTYPED_SECTION_PREFIX)).map((p) => p.name));
  for (const name of Object.keys(types)) {
    if (untyped.has(name)) continue;
    const p = spec.programs.find((q) => q.name === name);
    throw new InputError(
      p
        ? `types: ${name} already has a type from its name or macro (${progTypeName(p.type)}, section ${p.section})`
        : `types: no program function ${name} (programs: ${spec.programs.map((q) => q.name).join(', ') || 'none'})`,
    );
  }
  const programs = spec.programs.map((p): ProgramSpec => {
    if (!untyped.has(p.name)) return p;
    const given = types[p.name];
    if (given === undefined)
      return {
        ...p,
        autoload: false,
        unsupported: `program ${p.name} has no type: BCC loads it with load_func(name, type); give it as types: { ${p.name}: 'socket_filter' } (or xdp, sched_cls, ...)`,
      };
    const st = programTypeByName(given);
    if (!st || st.unsupported) throw new InputError(`types: ${p.name}: unknown program type '${given}'`);
    const typed: ProgramSpec = { ...p, section: given, type: st.type };
    if (st.attachType !== undefined) typed.attachType = st.attachType;
    if (st.flags) typed.flags = st.flags;
    if (st.attachBtf) typed.attachBtf = st.attachBtf;
    return typed;
  });
  return { ...spec, programs };
}
