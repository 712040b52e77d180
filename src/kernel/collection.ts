/**
 * loadKernelCollection: an ObjectSpec into the kernel. Order matters:
 *  1. BTF (optional: maps name their key/value types with it; a refusal just drops the type info);
 *  2. maps — inner-map templates first, pinned maps reused when compatible, initial contents written,
 *     .rodata frozen so the verifier can treat it as constant;
 *  3. programs — each lddw that names a map gets the map's fd (PSEUDO_MAP_FD) or fd + offset
 *     (PSEUDO_MAP_VALUE), then BPF_PROG_LOAD;
 *  4. prog-array slots (`.values` naming programs), now that the programs have fds.
 * Any failure closes what was created so far. close() closes everything, detaching links it made.
 */
import os from 'node:os';
import { existsSync, rmSync, rmdirSync } from 'node:fs';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/spec.js';
import type { Collection } from '../engine/types.js';
import type { KernelLoadOptions } from '../engine/options.js';
import { checkByteOrder, validateSpec } from '../engine/validate-spec.js';
import { byName } from '../engine/by-name.js';
import { BpfkitError, EnvironmentError, UsageError } from '../util/errors.js';
import { encodeProgram } from '../isa/codec.js';
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from '../isa/opcodes.js';
import { MapType, ProgType } from '../uapi/types.js';
import { loadBtf, closeBtf } from './btf-load.js';
import { createMap } from './map-ops.js';
import { PermissionError } from './errors.js';
import { isRoot, lockdownMode } from './lockdown.js';
import { KernelMap } from './kernel-map.js';
import { KernelProgram } from './kernel-program.js';
import { loadProgram } from './prog-load.js';
import { encodeBtfExtInfo, needsFuncInfo, subprogramStarts, synthesizeFuncBtf } from './func-info.js';
import { getPinned, mapInfo, pinObject, closeFd } from './objects.js';
import { attachTcx, attachXdp, type KernelLink } from './links.js';
import { interfaceIndex } from './libc.js';
import { track, untrack } from './lifecycle.js';
import { possibleCpus } from './cpus.js';
import { createStructOpsMap, registerStructOps, type StructOpsRegistration } from './struct-ops.js';

/** Where maps with LIBBPF_PIN_BY_NAME pinning are pinned and reused, unless `pinPath` says otherwise. */
export const DEFAULT_PIN_PATH = '/sys/fs/bpf/bpfkit';

export type { KernelLoadOptions } from '../engine/options.js';

/** An object loaded into the kernel: its programs and maps as fds, closed together by `close()`. */
export class KernelCollection implements Collection {
  readonly engine = 'kernel' as const;
  readonly programs = new Map<string, KernelProgram>();
  readonly maps = new Map<string, KernelMap>();
  readonly links: KernelLink[] = [];
  /** struct_ops maps registered by attachStructOps (unregistered on close unless disconnected). */
  readonly structOps: StructOpsRegistration[] = [];
  /** BTF object fd, or -1 when the object has none or the kernel refused it. */
  btfFd = -1;
  /** Why the kernel refused the object's BTF, when it did (the collection loaded without it). */
  btfError: string | undefined;
  /** Map pins this load created (removed again if the load fails). */
  readonly createdPins: string[] = [];
  /** A pin directory this collection owns (KernelLoadOptions.privatePinPath): close() removes it. */
  privatePinDir: string | undefined;
  private closed = false;

  constructor(readonly spec: ObjectSpec) {
    track(this);
  }

  /** The program called `name`; throws naming the programs there are when none is. */
  program(name: string): KernelProgram {
    return byName(this.programs, 'program', name);
  }

  /** The map called `name`; throws naming the maps there are when none is. */
  map(name: string): KernelMap {
    return byName(this.maps, 'map', name);
  }

  /** Attach a SCHED_CLS program to tcx ingress/egress of an interface; detached on close() unless pinned. */
  attachTc(program: string, ifname: string, direction: 'ingress' | 'egress' = 'ingress'): KernelLink {
    const link = attachTcx(this.program(program).fd, interfaceIndex(ifname), direction);
    this.links.push(link);
    return link;
  }

  /** Attach an XDP program to an interface through a link. */
  attachXdp(program: string, ifname: string, flags = 0): KernelLink {
    const link = attachXdp(this.program(program).fd, interfaceIndex(ifname), flags);
    this.links.push(link);
    return link;
  }

  /**
   * Register struct_ops map `name` (a `.struct_ops` or `.struct_ops.link` variable) with the kernel, as
   * libbpf's bpf_map__attach_struct_ops: its value, with the programs' fds, goes into key 0, and a
   * `.struct_ops.link` map gets its BPF link. close() on the result (or on the collection) unregisters it.
   */
  attachStructOps(name: string): StructOpsRegistration {
    const spec = this.spec.maps.find((m) => m.name === name);
    const map = this.map(name);
    if (!spec?.structOps) throw new BpfkitError(`map '${name}' is not a struct_ops map`, 2);
    const reg = registerStructOps(spec, map, (p) => this.program(p).fd);
    this.structOps.push(reg);
    return reg;
  }

  /**
   * Pin every program and map under `dir` (bpffs): dir/<program>, dir/<map>, named as libbpf's
   * bpf_object__pin_programs / bpf_object__pin_maps (what `bpftool prog loadall ... pinmaps` makes) name
   * them: an internal map under its kernel name, so `.rodata` of xdp_disp.o pins as `xdp_disp_rodata`.
   */
  pinAll(dir: string): string[] {
    const pinned: string[] = [];
    try {
      for (const [name, p] of this.programs) {
        pinObject(p.fd, `${dir}/${name}`);
        pinned.push(`${dir}/${name}`);
      }
      const kernelNames = new Map(this.spec.maps.map((m) => [m.name, m.kernelName]));
      for (const [name, m] of this.maps) {
        const file = pinName(kernelNames.get(name) ?? name);
        const path = `${dir}/${file}`;
        if (this.programs.has(file)) continue; // a program of that name took the file
        pinObject(m.fd, path);
        pinned.push(path);
      }
    } catch (err) {
      // All or nothing: remove the pins made before the failure.
      for (const p of pinned) rmSync(p, { force: true });
      throw err;
    }
    return pinned;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    untrack(this);
    for (const r of this.structOps.splice(0)) r.close(); // before the maps and programs they hold
    for (const l of this.links.splice(0)) l.close();
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) m.close();
    if (this.btfFd >= 0) closeBtf(this.btfFd);
    this.btfFd = -1;
    // Last, once nothing of ours holds it: a signal or exit closes live collections, so this runs then too.
    if (this.privatePinDir !== undefined) rmSync(this.privatePinDir, { recursive: true, force: true });
  }
}

/**
 * bpffs file names, sanitized as libbpf sanitizes pin names: bpffs refuses names with a '.', so the
 * internal map "hooks.rodata" pins as "hooks_rodata" (leading dots dropped: no hidden files).
 */
function pinName(name: string): string {
  return name.replace(/^\.+/, '').replace(/[./]/g, '_') || 'map';
}

/**
 * Load an ObjectSpec into the kernel: BTF, then maps (pinned ones reused), map references patched, programs
 * loaded, prog-array slots filled. Needs CAP_BPF; a refusal throws VerifierError with the log.
 */
export function loadKernelCollection(spec: ObjectSpec, opts: KernelLoadOptions = {}): KernelCollection {
  validateSpec(spec);
  checkByteOrder(spec, os.endianness() === 'LE' ? 'little' : 'big', 'this kernel');
  // The default directory is shared and never removed: a privatePinPath without a pinPath of its own was
  // dropped, leaving the pins behind after close() without a word.
  if (opts.privatePinPath && opts.pinPath === undefined)
    throw new UsageError(
      'privatePinPath needs a pinPath of its own (the default pin directory is shared, and close() never removes it)',
    );
  const coll = new KernelCollection(spec);
  const pinDir = opts.pinPath ?? process.env.BPFKIT_PIN_PATH ?? DEFAULT_PIN_PATH;
  const pinDirExisted = existsSync(pinDir);
  // Owned from the start, so an interrupted or failed load removes the directory too.
  if (opts.privatePinPath && opts.pinPath !== undefined) coll.privatePinDir = opts.pinPath;
  try {
    loadInto(coll, spec, opts);
    return coll;
  } catch (err) {
    coll.close();
    // A failed load leaves nothing behind: not even the map pins it made (pins it reused stay), nor the
    // directories made for them, when they are left empty.
    for (const p of coll.createdPins) rmSync(p, { force: true });
    if (!pinDirExisted) removeIfEmpty(pinDir);
    throw err;
  }
}

/** Remove directory `dir` when it is empty (rmdir refuses one with anything in it). */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or never made: leave it
  }
}

function loadInto(coll: KernelCollection, spec: ObjectSpec, opts: KernelLoadOptions): void {
  if (spec.btf && spec.btf.length > 0) {
    // src/elf already filled in the DATASEC sizes and offsets clang leaves at 0 (ObjectSpec.btf is loadable).
    const r = loadBtf(spec.btf);
    if (r.fd >= 0) coll.btfFd = r.fd;
    else coll.btfError = r.error?.log.trim().split('\n').pop() ?? 'refused';
  }

  // Maps of maps last: the maps they hold must exist when their slots are written. Then spec order again.
  const pinPath = opts.pinPath ?? process.env.BPFKIT_PIN_PATH ?? DEFAULT_PIN_PATH;
  for (const m of spec.maps)
    if (!isMapOfMaps(m.type))
      coll.maps.set(
        m.name,
        m.structOps
          ? createStructOpsMap(m, coll.btfFd, coll.btfError)
          : createSpecMap(coll, m, pinPath, opts.mapPinPath),
      );
  for (const m of spec.maps)
    if (isMapOfMaps(m.type)) coll.maps.set(m.name, createSpecMap(coll, m, pinPath, opts.mapPinPath));
  const created = new Map(coll.maps);
  coll.maps.clear();
  for (const m of spec.maps) coll.maps.set(m.name, created.get(m.name)!);

  const wanted = opts.programs ? new Set(opts.programs) : undefined;
  for (const p of spec.programs) {
    if (wanted && !wanted.has(p.name)) continue;
    if (p.type === ProgType.UNSPEC) {
      throw new EnvironmentError(
        `program '${p.name}' in section '${p.section}': unknown program type (name the section like libbpf: socket, tc, xdp, ...)`,
      );
    }
    const patched = patchMapRefs(p, coll);
    const insns = encodeProgram(patched, spec.endian); // the host's byte order (checkByteOrder)
    // The object's func_info/line_info when its BTF loaded (as libbpf: verifier logs show source lines,
    // global functions are checked against their prototypes). Otherwise callbacks (bpf_loop...) still
    // need func_info: describe the linked program's functions ourselves.
    let funcBtfFd = -1;
    let funcInfo: Uint8Array | undefined;
    let lineInfo: Uint8Array | undefined;
    if (p.funcInfo && p.funcInfo.length > 0 && coll.btfFd >= 0) {
      ({ funcInfo, lineInfo } = encodeBtfExtInfo(p.funcInfo, p.lineInfo));
    } else if (needsFuncInfo(patched)) {
      const synth = synthesizeFuncBtf(subprogramStarts(patched));
      const r = loadBtf(synth.btf);
      if (r.fd < 0)
        throw new EnvironmentError(
          `program '${p.name}' uses a callback, which needs BTF, and the kernel refused ours: ${r.error?.log.trim() ?? ''}`,
        );
      funcBtfFd = r.fd;
      funcInfo = synth.funcInfo;
    }
    let loaded;
    try {
      loaded = loadProgram({
        name: p.name,
        type: p.type,
        insns,
        license: p.license || spec.license || 'GPL',
        kernelVersion: p.kernelVersion || spec.kernelVersion,
        ...(p.attachType !== undefined ? { expectedAttachType: p.attachType } : {}),
        ...(p.attachBtfId !== undefined ? { attachBtfId: p.attachBtfId } : {}),
        ...(p.flags ? { progFlags: p.flags } : {}),
        ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
        ...(funcInfo ? { btfFd: funcBtfFd >= 0 ? funcBtfFd : coll.btfFd, funcInfo } : {}),
        ...(lineInfo && lineInfo.length > 0 ? { lineInfo } : {}),
      });
    } finally {
      if (funcBtfFd >= 0) closeBtf(funcBtfFd); // the program keeps its own reference
    }
    coll.programs.set(p.name, new KernelProgram(loaded.fd, p.name, p.type, loaded.log));
  }
  if (wanted) {
    for (const n of wanted)
      if (!coll.programs.has(n)) throw new BpfkitError(`no program named '${n}' in ${spec.path ?? 'the object'}`);
  }

  // Prog-array slots name programs: fill them now that programs have fds.
  for (const m of spec.maps) {
    const map = coll.maps.get(m.name)!;
    for (const e of m.contents) {
      if (e.value instanceof Uint8Array || !('program' in e.value)) continue;
      const prog = coll.programs.get(e.value.program);
      if (!prog) continue; // not among opts.programs (validateSpec made sure the object has it)
      map.update(e.key, u32(prog.fd));
    }
  }
}

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

function isMapOfMaps(type: number): boolean {
  return type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS;
}

function sameShape(fd: number, m: MapSpec): string | undefined {
  const info = mapInfo(fd);
  const diffs: string[] = [];
  if (info.type !== m.type) diffs.push(`type ${info.type} != ${m.type}`);
  if (info.keySize !== m.keySize) diffs.push(`key size ${info.keySize} != ${m.keySize}`);
  if (info.valueSize !== m.valueSize) diffs.push(`value size ${info.valueSize} != ${m.valueSize}`);
  if (info.maxEntries !== m.maxEntries) diffs.push(`max entries ${info.maxEntries} != ${m.maxEntries}`);
  // As iproute2's pinned-map check: flags (BPF_F_NO_PREALLOC, BPF_F_RDONLY...) are part of the shape.
  if (info.flags !== m.flags) diffs.push(`flags 0x${info.flags.toString(16)} != 0x${m.flags.toString(16)}`);
  return diffs.length ? diffs.join(', ') : undefined;
}

/** Map types libbpf creates without BTF key/value types (the kernel refuses them, or ignores them). */
const NO_BTF_TYPES: ReadonlySet<number> = new Set([
  MapType.PERF_EVENT_ARRAY,
  MapType.CGROUP_ARRAY,
  MapType.STACK_TRACE,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.DEVMAP,
  MapType.DEVMAP_HASH,
  MapType.CPUMAP,
  MapType.XSKMAP,
  MapType.SOCKMAP,
  MapType.SOCKHASH,
  MapType.QUEUE,
  MapType.STACK,
  MapType.ARENA,
]);

/**
 * libbpf's fix-ups before BPF_MAP_CREATE: a perf event array with max_entries 0 gets one slot per possible
 * CPU; a ring buffer's size is rounded up to a power-of-two number of pages (what the kernel insists on).
 */
export function withLibbpfDefaults(spec: MapSpec, pageSize = PAGE_SIZE, cpus: () => number = possibleCpus): MapSpec {
  if (spec.type === MapType.PERF_EVENT_ARRAY && spec.maxEntries === 0) return { ...spec, maxEntries: cpus() };
  if ((spec.type === MapType.RINGBUF || spec.type === MapType.USER_RINGBUF) && spec.maxEntries > 0) {
    const n = spec.maxEntries;
    if (n % pageSize === 0 && isPowerOfTwo(n / pageSize)) return spec;
    for (let size = pageSize; size <= 0xffffffff; size *= 2) if (size > n) return { ...spec, maxEntries: size };
  }
  return spec;
}

const PAGE_SIZE = 4096;
const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

function createSpecMap(
  coll: KernelCollection,
  spec: MapSpec,
  pinPath: string,
  mapPinPath?: KernelLoadOptions['mapPinPath'],
): KernelMap {
  const m = withLibbpfDefaults(spec);
  const info = {
    name: m.name,
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
  };
  const pinPathOf = m.pinning !== 'none' ? (mapPinPath?.(m) ?? `${pinPath}/${pinName(m.name)}`) : undefined;
  if (pinPathOf) {
    const fd = getPinned(pinPathOf);
    if (fd !== undefined) {
      const diff = sameShape(fd, m);
      if (diff) {
        closeFd(fd);
        throw new EnvironmentError(
          `map pinned at ${pinPathOf} does not match '${m.name}' (${diff}); remove the pin to recreate it`,
        );
      }
      return new KernelMap(fd, info); // reused as is: its contents belong to whoever pinned it
    }
  }
  let innerFd = 0;
  if (isMapOfMaps(m.type)) {
    const t = m.innerMap!; // validateSpec: every map of maps has its template
    innerFd = createMap({
      name: `${t.name || m.name}.inner`,
      type: t.type,
      keySize: t.keySize,
      valueSize: t.valueSize,
      maxEntries: t.maxEntries,
      flags: t.flags,
      ...(t.numaNode ? { numaNode: t.numaNode } : {}),
      // With its BTF, as libbpf creates it: the kernel compares the template's BTF record (spin lock,
      // timer, kptr, list head fields) with each inner map's on update, and one without BTF has none, so
      // every `.values` slot naming a map with such fields would fail with EINVAL.
      ...(coll.btfFd >= 0 && !NO_BTF_TYPES.has(t.type)
        ? { btfFd: coll.btfFd, btfKeyTypeId: t.btfKeyTypeId, btfValueTypeId: t.btfValueTypeId }
        : {}),
    });
  }
  let fd: number;
  try {
    fd = createMap({
      name: m.kernelName ?? m.name,
      type: m.type,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
      innerMapFd: innerFd,
      // numa_node, as libbpf passes it: the kernel allocates there (BPF_F_NUMA_NODE), or refuses a node
      // that is not online — dropping it put the map on node 0 without a word.
      ...(m.numaNode ? { numaNode: m.numaNode } : {}),
      ...(m.mapExtra ? { mapExtra: BigInt(m.mapExtra) } : {}),
      ...(coll.btfFd >= 0 && !NO_BTF_TYPES.has(m.type)
        ? { btfFd: coll.btfFd, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId }
        : {}),
    });
  } catch (err) {
    // An arena (6.9) refused to root while lockdown is on: this kernel's policy, said as prog-load says it.
    if (m.type !== MapType.ARENA || !(err instanceof PermissionError) || !isRoot()) throw err;
    const lockdown = lockdownMode();
    if (!lockdown) throw err;
    throw new EnvironmentError(
      `creating map '${m.name}' (arena): not supported by this kernel (lockdown: ${lockdown}; ${err.errno})`,
    );
  } finally {
    if (innerFd > 0) closeFd(innerFd); // the outer map keeps what it needs of the template
  }
  const map = new KernelMap(fd, info);
  try {
    for (const e of m.contents) {
      if (e.value instanceof Uint8Array) {
        map.update(e.key, e.value);
      } else if ('map' in e.value) {
        map.update(e.key, u32(coll.maps.get(e.value.map)!.fd)); // validateSpec: a plain map of the object
      }
    }
    if (m.frozen) map.freeze();
    if (pinPathOf) {
      pinObject(fd, pinPathOf);
      coll.createdPins.push(pinPathOf);
    }
  } catch (err) {
    map.close();
    throw err;
  }
  return map;
}

/** Copy a program's instructions with every map reference pointing at the loaded map. */
function patchMapRefs(p: ProgramSpec, coll: KernelCollection) {
  const insns = p.insns.map((i) => ({ ...i }));
  if (p.mapRefs.length === 0) return insns;
  const byPc = new Map<number, number>();
  insns.forEach((i, idx) => byPc.set(i.pc, idx));
  for (const ref of p.mapRefs) {
    const idx = byPc.get(ref.pc);
    const insn = idx === undefined ? undefined : insns[idx];
    // validateSpec made sure each reference is on an lddw and names a map of the object.
    const map = coll.maps.get(ref.map)!;
    insn!.imm = map.fd;
    if (ref.kind === 'fd') {
      insn!.src = BPF_PSEUDO_MAP_FD;
      insn!.imm2 = 0;
    } else {
      insn!.src = BPF_PSEUDO_MAP_VALUE;
      insn!.imm2 = ref.offset;
    }
  }
  return insns;
}
