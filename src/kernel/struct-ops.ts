/**
 * struct_ops maps in the kernel, in libbpf's order: the map is created with the kernel's value type
 * (BPF_MAP_CREATE with btf_vmlinux_value_type_id, the object's BTF as btf_fd) before the programs load;
 * registering it (bpf_map__attach_struct_ops) writes key 0 — the kernel wrapper's bytes with each bound
 * program's fd in its function-pointer slot — which registers a `.struct_ops` map by itself, and a
 * `.struct_ops.link` one (BPF_F_LINK) once BPF_LINK_CREATE(attach_type BPF_STRUCT_OPS) names the map.
 * Unregistering deletes key 0 (plain maps) or drops the link.
 */
import type { MapSpec } from '../elf/spec.js';
import { AttachType } from '../uapi/types.js';
import { EnvironmentError } from '../util/errors.js';
import { errnoName } from './libc.js';
import { Cmd, bpfRaw, kernelError, withAttr } from './bpf-syscall.js';
import { BPF_ATTR, setU32 } from './abi/index.js';
import { createMap } from './map-ops.js';
import { KernelMap } from './kernel-map.js';
import { KernelLink } from './links.js';
import { MapError } from '../engine/errors.js';
import { track, untrack } from './lifecycle.js';

/** Create a struct_ops map laid out by src/loader (MapSpec.structOps.kernel) with the object's BTF `btfFd`. */
export function createStructOpsMap(spec: MapSpec, btfFd: number, btfError: string | undefined): KernelMap {
  const kernel = spec.structOps?.kernel;
  if (!kernel)
    throw new EnvironmentError(
      `struct_ops map '${spec.name}' was not laid out for this kernel (load it through loadCollection, which matches it against the kernel's BTF)`,
    );
  if (btfFd < 0)
    throw new EnvironmentError(
      `struct_ops map '${spec.name}' needs the object's BTF in the kernel, which refused it: ${btfError ?? 'the object has no BTF'}`,
    );
  const info = {
    name: spec.name,
    type: spec.type,
    keySize: 4,
    valueSize: kernel.value.length,
    maxEntries: 1,
    flags: spec.flags,
  };
  const fd = createMap({ ...info, btfFd, btfVmlinuxValueTypeId: kernel.valueTypeId });
  return new KernelMap(fd, info);
}

/**
 * A registered struct_ops map (libbpf's bpf_map__attach_struct_ops): `close()` unregisters it — deletes
 * the plain map's value, or drops the link (which unregisters unless pinned) — and `disconnect()` leaves it
 * registered when this process ends, as `bpftool struct_ops register` does.
 */
export class StructOpsRegistration {
  private done = false;
  constructor(
    /** The struct_ops map's name in the object. */
    readonly name: string,
    private readonly map: KernelMap,
    /** The BPF link of a `.struct_ops.link` map; undefined for a plain `.struct_ops` map. */
    readonly link: KernelLink | undefined,
  ) {
    track(this);
  }

  /** Pin the link (`.struct_ops.link` maps only) so the registration outlives this process. */
  pin(path: string): void {
    if (!this.link)
      throw new EnvironmentError(
        `struct_ops map '${this.name}' is registered without a link (.struct_ops): nothing to pin`,
      );
    this.link.pin(path);
  }

  /** Forget the registration without undoing it: a plain map stays registered, a pinned link stays attached. */
  disconnect(): void {
    if (this.done) return;
    this.done = true;
    untrack(this);
    this.link?.close(); // only our fd: a pinned link lives on, an unpinned one goes (the kernel's rule)
  }

  /** Unregister: delete key 0 of a plain map, drop our link of a link-based one. */
  close(): void {
    if (this.done) return;
    this.done = true;
    untrack(this);
    if (this.link) {
      this.link.close();
      return;
    }
    try {
      this.map.delete(new Uint8Array(4));
    } catch (err) {
      // Already unregistered by someone else (bpftool struct_ops unregister), or the map is closed.
      if (!(err instanceof MapError) || (err.errno !== 'ENOENT' && err.errno !== 'EBADF')) throw err;
    }
  }
}

/** Register struct_ops map `spec` (created as `map`) with the programs' fds; see StructOpsRegistration. */
export function registerStructOps(
  spec: MapSpec,
  map: KernelMap,
  programFd: (name: string) => number,
): StructOpsRegistration {
  const kernel = spec.structOps!.kernel!;
  const value = kernel.value.slice();
  const view = new DataView(value.buffer);
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const slot of kernel.programSlots) view.setBigUint64(slot.offset, BigInt(programFd(slot.program)), little);
  try {
    map.update(new Uint8Array(4), value);
  } catch (err) {
    // As libbpf: a link-based map whose value is already set (EBUSY) can still get a link of its own.
    if (!(spec.structOps!.link && err instanceof MapError && err.errno === 'EBUSY')) throw describe(err, spec);
  }
  if (!spec.structOps!.link) return new StructOpsRegistration(spec.name, map, undefined);
  const { size, fields: f } = BPF_ATTR.link_create;
  const r = withAttr(size, (a) => {
    setU32(a.view, f.map_fd, map.fd);
    setU32(a.view, f.attach_type, AttachType.STRUCT_OPS);
    return bpfRaw(Cmd.LINK_CREATE, a);
  });
  if (r < 0) {
    const name = errnoName(-r);
    if (name === 'EEXIST' || name === 'EBUSY')
      throw kernelError(-r, `registering struct_ops '${spec.name}' (a struct_ops of that name is already registered)`);
    throw kernelError(-r, `registering struct_ops '${spec.name}' (BPF_LINK_CREATE)`);
  }
  return new StructOpsRegistration(spec.name, map, new KernelLink(r, `struct_ops ${spec.name}`));
}

/** The kernel's refusal of a registration, said as what it is. */
function describe(err: unknown, spec: MapSpec): unknown {
  if (!(err instanceof MapError)) return err;
  if (err.errno === 'EBUSY')
    return new EnvironmentError(`registering struct_ops '${spec.name}': this map is registered already (EBUSY)`);
  if (err.errno === 'EEXIST')
    return new EnvironmentError(
      `registering struct_ops '${spec.name}': the kernel already has one of that name (EEXIST); unregister it first`,
    );
  return new EnvironmentError(
    `registering struct_ops '${spec.name}' (${spec.structOps!.typeName}): the kernel refused its value (${err.errno}); the kernel log (dmesg) may say why`,
  );
}
