/**
 * The common shape of every VM map. A map has two faces:
 *  - the program face (used by helpers, on the hot path): keys and values are read from a byte array at an
 *    offset, results are slab offsets or negative errno numbers, nothing is allocated;
 *  - the userspace face (the BpfMap interface of src/engine/types.ts): copies in and out, MapError on failure.
 *
 * Values live in `slab`, a Uint8Array the VM maps into program memory as one region; a lookup from a
 * program returns base + offset, so a program writing through the pointer changes the map, as in the kernel.
 */
import type { BpfMap } from '../../engine/types.js';
import { MapError, Errno } from '../../engine/errors.js';
import type { MapSpec } from '../../elf/spec.js';
import { UpdateFlag } from '../../uapi/types.js';
import { iterateEntries, iterateKeys } from '../../engine/map-iteration.js';

export const E = Errno;

export interface MapOptions {
  /** Number of CPUs per-CPU maps hold a value for. */
  cpus: number;
  /** VM handle (the "fd" userspace and prog-array updates use). */
  handle: number;
}

export const roundUp8 = (n: number): number => (n + 7) & ~7;

/**
 * A map in the VM, behind the same BpfMap interface as the kernel's maps. Its values live in one slab that
 * programs see through VM memory, so a pointer from a lookup writes into the map, as in the kernel.
 */
export abstract class VmMap implements BpfMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly fd: number;
  readonly cpus: number;
  /** Storage of values programs can point into; undefined when programs never get value pointers. */
  slab: Uint8Array | undefined = undefined;
  /** Distance between two values in `slab` (value size rounded up to 8, like the kernel's elem_size). */
  stride = 0;
  /** Values per key in the slab: `cpus` for per-CPU maps, else 1. */
  readonly valuesPerKey: number = 1;
  /** Programs may read but not write values (frozen .rodata, BPF_F_RDONLY_PROG). */
  progReadOnly = false;
  /** Userspace may no longer write (BPF_MAP_FREEZE; .rodata after its initial contents). */
  frozen = false;
  /** The program face of the map may only be used by helpers for these kinds (set by subclasses). */
  closed = false;

  /** Maps are made by the collection loader from the object's map specs. @internal */
  constructor(
    spec: Pick<MapSpec, 'name' | 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'>,
    opts: MapOptions,
  ) {
    this.name = spec.name;
    this.type = spec.type;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    this.flags = spec.flags;
    this.fd = opts.handle;
    this.cpus = opts.cpus;
  }

  // ---- program face: override what the map type supports ----

  /** Offset in `slab` of the value for key kb[ko..], for `cpu` (per-CPU maps); -1 when absent. */
  progLookup(_kb: Uint8Array, _ko: number, _cpu: number): number {
    return -1;
  }
  /** Insert/replace from a program: 0 or -errno. */
  progUpdate(_kb: Uint8Array, _ko: number, _vb: Uint8Array, _vo: number, _flags: number, _cpu: number): number {
    return -E.EINVAL;
  }
  /** Delete from a program: 0 or -errno. */
  progDelete(_kb: Uint8Array, _ko: number): number {
    return -E.EINVAL;
  }

  /** Offset of a key's value for `cpu` without refreshing LRU recency (bpf_for_each_map_elem). */
  progLookupNoTouch(key: Uint8Array, cpu: number): number {
    const off = this.peekOffset(key, 0);
    return off < 0 ? off : off + (this.valuesPerKey > 1 ? cpu * this.stride : 0);
  }

  /** Userspace lookups use this (LRU maps override it so that a dump does not refresh recency). */
  protected peekOffset(kb: Uint8Array, ko: number): number {
    return this.progLookup(kb, ko, 0);
  }

  // ---- userspace face ----

  protected fail(errno: string, op: string, detail?: string): never {
    throw new MapError(errno, this.name, op, detail);
  }
  protected check(rc: number, op: string): void {
    if (rc < 0) {
      const name = Object.entries(E).find(([, v]) => v === -rc)?.[0] ?? `errno ${-rc}`;
      this.fail(name, op);
    }
  }
  protected checkKey(key: Uint8Array, op: string): void {
    if (key.length !== this.keySize)
      this.fail('EINVAL', op, `key is ${key.length} bytes, the map's keys are ${this.keySize}`);
  }
  protected checkValue(value: Uint8Array, op: string): void {
    if (value.length !== this.valueSize) {
      this.fail('EINVAL', op, `value is ${value.length} bytes, the map's values are ${this.valueSize}`);
    }
  }

  /** The value under `key` (a copy; per-CPU maps: every CPU's, each padded to 8 bytes), or undefined. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    const off = this.peekOffset(key, 0);
    if (off < 0 || !this.slab) return undefined;
    if (this.valuesPerKey > 1) {
      // Per-CPU maps: the bpf(2) buffer layout, each CPU's value padded to 8 bytes.
      const out = new Uint8Array(this.stride * this.cpus);
      out.set(this.slab.subarray(off, off + this.stride * this.cpus));
      return out;
    }
    return this.slab.slice(off, off + this.valueSize);
  }

  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    this.checkKey(key, 'lookup');
    const off = this.peekOffset(key, 0);
    if (off < 0 || !this.slab) return undefined;
    const out: Uint8Array[] = [];
    for (let c = 0; c < this.valuesPerKey; c++)
      out.push(this.slab.slice(off + c * this.stride, off + c * this.stride + this.valueSize));
    return out;
  }

  update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    this.checkKey(key, 'update');
    if (this.frozen) this.fail('EPERM', 'update', 'the map is frozen (read-only for userspace)');
    if (this.valuesPerKey > 1) {
      if (value.length === this.valueSize) return this.updatePerCpu(key, Array(this.cpus).fill(value), flags);
      if (value.length === this.stride * this.cpus) {
        const vals: Uint8Array[] = [];
        for (let c = 0; c < this.cpus; c++)
          vals.push(value.subarray(c * this.stride, c * this.stride + this.valueSize));
        return this.updatePerCpu(key, vals, flags);
      }
    }
    this.checkValue(value, 'update');
    this.check(this.progUpdate(key, 0, value, 0, flags, 0), 'update');
  }

  /** Per-CPU maps: set one value per possible CPU. */
  updatePerCpu(key: Uint8Array, values: Uint8Array[], flags: number = UpdateFlag.ANY): void {
    this.checkKey(key, 'update');
    if (this.valuesPerKey === 1) {
      if (values.length !== 1) this.fail('EINVAL', 'update', 'not a per-CPU map');
      return this.update(key, values[0]!, flags);
    }
    if (values.length !== this.cpus)
      this.fail('EINVAL', 'update', `wants ${this.cpus} values (one per CPU), got ${values.length}`);
    for (const v of values) this.checkValue(v, 'update');
    this.check(this.progUpdate(key, 0, values[0]!, 0, flags, 0), 'update');
    const off = this.peekOffset(key, 0);
    for (let c = 0; c < this.cpus; c++) this.slab!.set(values[c]!, off + c * this.stride);
  }

  /** Remove `key`; false when it was not there. */
  delete(key: Uint8Array): boolean {
    this.checkKey(key, 'delete');
    if (this.frozen) this.fail('EPERM', 'delete', 'the map is frozen (read-only for userspace)');
    const rc = this.progDelete(key, 0);
    if (rc === -E.ENOENT) return false;
    this.check(rc, 'delete');
    return true;
  }

  /** bpf(BPF_MAP_GET_NEXT_KEY): the key after `key` (the first when undefined); undefined at the end. */
  abstract nextKey(key: Uint8Array | undefined): Uint8Array | undefined;

  keys(): IterableIterator<Uint8Array> {
    return iterateKeys(this);
  }

  /** Every (key, value) pair, in get-next-key order (for dumps). */
  entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    return iterateEntries(this);
  }

  /** Mark the map closed; later use fails. */
  close(): void {
    this.closed = true;
  }
}

/** Validate update flags like the kernel: anything beyond BPF_EXIST (apart from BPF_F_LOCK) is EINVAL. */
export function badUpdateFlags(flags: number): boolean {
  return (flags & ~UpdateFlag.F_LOCK) > UpdateFlag.EXIST || flags < 0;
}
