/**
 * The checks every engine makes before it loads an ObjectSpec. A spec that names a map it does not define,
 * has two maps of one name, or puts a program into a map of maps is wrong whichever engine loads it, so
 * it is refused here, once, with one error class (`SpecError`, exit 2) and one message — not by the VM
 * one way and by the kernel engine (or the kernel's EINVAL) another. What an engine alone cannot do (a
 * helper the VM lacks, a program the verifier refuses) stays with that engine.
 */
import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { OP_LDDW } from '../isa/opcodes.js';
import { MapType } from '../uapi/types.js';
import { InputError } from '../util/errors.js';
import { mapSizeFault } from './map-limits.js';

/** A fault of the spec itself (exit 2), prefixed with the object's path when it has one. */
export class SpecError extends InputError {}

const isMapOfMaps = (type: number) => type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS;
const isPerCpu = (type: number) =>
  type === MapType.PERCPU_ARRAY || type === MapType.PERCPU_HASH || type === MapType.LRU_PERCPU_HASH;

/** Throw a SpecError for the first fault in `spec`; return quietly when there is none. */
export function validateSpec(spec: ObjectSpec): void {
  const fail = (message: string): never => {
    throw new SpecError(message, spec.path);
  };
  const maps = new Map<string, MapSpec>();
  for (const m of spec.maps) {
    if (maps.has(m.name)) fail(`two maps are named '${m.name}'`);
    maps.set(m.name, m);
    if (isMapOfMaps(m.type) && !m.innerMap) fail(`map '${m.name}' is a map of maps without an inner map template`);
    // Sizes no kernel would create: refused here, before the VM allocates or the kernel says EINVAL.
    for (const each of m.innerMap ? [m, m.innerMap] : [m]) {
      const fault = mapSizeFault(each);
      if (fault) fail(`map '${each.name}': ${fault}`);
    }
  }
  const programs = new Set<string>();
  for (const p of spec.programs) {
    if (programs.has(p.name)) fail(`two programs are named '${p.name}'`);
    programs.add(p.name);
    // Never run a CO-RE program at its compiled offsets: src/loader relocates it first (applyCore).
    if (p.coreRelos && p.coreRelos.length > 0)
      fail(
        `program '${p.name}' has ${p.coreRelos.length} CO-RE relocation(s) nobody applied (load through loadCollection, which resolves them against a target BTF)`,
      );
    // Nor with externs (.ksyms, kfuncs) nobody resolved: their instructions still hold placeholders.
    if (p.externRefs && p.externRefs.length > 0)
      fail(
        `program '${p.name}' uses ${p.externRefs.length} extern symbol(s) nobody resolved (load through loadCollection, which resolves them against the running kernel)`,
      );
  }
  for (const m of spec.maps) checkContents(m, maps, programs, fail);
  for (const p of spec.programs) checkMapRefs(p, maps, fail);
}

function checkContents(
  m: MapSpec,
  maps: ReadonlyMap<string, MapSpec>,
  programs: ReadonlySet<string>,
  fail: (message: string) => never,
): void {
  for (const e of m.contents) {
    if (e.key.length !== m.keySize)
      fail(`map '${m.name}': an initial key has ${e.key.length} bytes, the map's keys have ${m.keySize}`);
    const v = e.value;
    if (v instanceof Uint8Array) {
      // Per-CPU maps take one value per CPU, a count the spec cannot know.
      if (!isPerCpu(m.type) && v.length !== m.valueSize)
        fail(`map '${m.name}': an initial value has ${v.length} bytes, the map's values have ${m.valueSize}`);
    } else if ('program' in v) {
      if (m.type !== MapType.PROG_ARRAY)
        fail(`map '${m.name}': only a prog array holds programs, and it names program '${v.program}'`);
      if (!programs.has(v.program))
        fail(`map '${m.name}': initial value names program '${v.program}', which the object does not define`);
    } else {
      if (!isMapOfMaps(m.type)) fail(`map '${m.name}': only a map of maps holds maps, and it names map '${v.map}'`);
      const inner = maps.get(v.map);
      if (!inner) fail(`map '${m.name}': initial value names map '${v.map}', which the object does not define`);
      // The kernel does not nest maps of maps (bpf_map_meta_alloc); this also refuses a map holding itself.
      if (isMapOfMaps(inner.type))
        fail(`map '${m.name}': initial value names map '${v.map}', itself a map of maps (they do not nest)`);
    }
  }
}

function checkMapRefs(p: ProgramSpec, maps: ReadonlyMap<string, MapSpec>, fail: (message: string) => never): void {
  if (p.mapRefs.length === 0) return;
  const lddwAt = new Set(p.insns.filter((i) => i.code === OP_LDDW).map((i) => i.pc));
  for (const ref of p.mapRefs) {
    const m = maps.get(ref.map);
    if (!m) fail(`program '${p.name}' refers to map '${ref.map}', which the object does not define`);
    if (!lddwAt.has(ref.pc))
      fail(`program '${p.name}': the reference to map '${ref.map}' at pc ${ref.pc} is not on an lddw`);
    if (ref.kind === 'value') {
      // The kernel gives direct value addresses of array maps only (map_direct_value_addr).
      if (m.type !== MapType.ARRAY)
        fail(`program '${p.name}' takes the address of a value of map '${ref.map}', which is not an array`);
      if (ref.offset < 0 || ref.offset >= m.valueSize)
        fail(`program '${p.name}': offset ${ref.offset} is outside the ${m.valueSize}-byte value of map '${ref.map}'`);
    }
  }
}

/**
 * Refuse a spec whose byte order is not the one `runner` executes (the VM: little-endian; the kernel:
 * the host's), with the same class and wording on both engines.
 */
export function checkByteOrder(spec: ObjectSpec, wanted: 'little' | 'big', runner: string): void {
  if (spec.endian === wanted) return;
  throw new SpecError(
    `the object is ${spec.endian}-endian but ${runner} runs ${wanted}-endian programs (build it with -target bpf${wanted === 'little' ? 'el' : 'eb'})`,
    spec.path,
  );
}
