/**
 * Partial loading, libbpf's autoload: load only the programs asked for, and what they need — programs they
 * tail-call through a prog array the object fills (`.values`). Programs left out are never resolved or
 * loaded, so one the kernel or the VM cannot take does not stop the others. Maps no kept program reaches
 * are left out too, in both engines alike (the VM does not model every map type the kernel has, and both
 * engines must show the same maps). libbpf would still create them; a caller that wants every map loads
 * every program.
 */
import type { MapSpec, ObjectSpec } from '../elf/spec.js';
import { InputError } from '../util/errors.js';

/** Options of {@link selectPrograms}. */
export interface SelectOptions {
  /** Keep every map of the object, not only those the kept programs reach (iproute2's tc creates them all). */
  allMaps?: boolean;
}

/** The spec with only `names` (and the programs they tail-call) and the maps they reach (or all, with allMaps). */
export function selectPrograms(spec: ObjectSpec, names: readonly string[], opts: SelectOptions = {}): ObjectSpec {
  const byName = new Map(spec.programs.map((p) => [p.name, p]));
  const mapsByName = new Map(spec.maps.map((m) => [m.name, m]));
  for (const n of names) {
    if (!byName.has(n)) {
      const there = spec.programs.map((p) => p.name).join(', ') || 'none';
      throw new InputError(`no program named '${n}' (programs: ${there})`, spec.path ?? 'object');
    }
  }
  const keep = new Set<string>();
  const maps = new Set<string>();
  const reachMap = (m: MapSpec | undefined, queue: string[]) => {
    if (!m || maps.has(m.name)) return;
    maps.add(m.name);
    for (const e of m.contents) {
      const v = e.value;
      if (v instanceof Uint8Array) continue;
      if ('program' in v) queue.push(v.program);
      else reachMap(mapsByName.get(v.map), queue);
    }
    // A struct_ops map loads with all of its programs, and each of them with the map.
    for (const member of m.structOps?.members ?? []) if (member.program) queue.push(member.program);
  };
  const structOpsOf = new Map<string, MapSpec[]>();
  for (const m of spec.maps)
    for (const member of m.structOps?.members ?? [])
      if (member.program) structOpsOf.set(member.program, [...(structOpsOf.get(member.program) ?? []), m]);
  const queue = [...names];
  while (queue.length > 0) {
    const n = queue.pop()!;
    if (keep.has(n)) continue;
    const p = byName.get(n);
    if (!p) continue;
    keep.add(n);
    for (const r of p.mapRefs) reachMap(mapsByName.get(r.map), queue);
    for (const m of structOpsOf.get(n) ?? []) reachMap(m, queue);
  }
  if (opts.allMaps) for (const m of spec.maps) maps.add(m.name);
  if (keep.size === spec.programs.length && maps.size === spec.maps.length) return spec;
  const keptMaps = spec.maps.filter((m) => maps.has(m.name));
  return {
    ...spec,
    programs: spec.programs.filter((p) => keep.has(p.name)),
    // Prog-array slots naming programs left out stay empty (as libbpf leaves slots of programs it did not load).
    maps: keptMaps.map((m) => ({
      ...m,
      contents: m.contents.filter(
        (e) => e.value instanceof Uint8Array || !('program' in e.value) || keep.has(e.value.program),
      ),
    })),
  };
}
