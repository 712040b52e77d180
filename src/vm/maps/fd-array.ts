/**
 * Maps whose values are other objects: PROG_ARRAY (tail-call targets), ARRAY_OF_MAPS and HASH_OF_MAPS.
 * Userspace writes a u32 handle (the program's or inner map's `fd` in this collection); lookups from
 * userspace read the handle back (the kernel gives the object's id). Programs never get a pointer into
 * these maps: bpf_tail_call reads a program array slot, and a lookup in a map of maps returns the inner
 * map itself, which the program then passes to other map helpers.
 *
 * Kernel rules kept: fd arrays accept only BPF_ANY (else EINVAL), an index out of range is E2BIG, deleting
 * an empty slot is ENOENT, a handle that names nothing of the right kind is EBADF.
 */
import { VmMap, E, badUpdateFlags, type MapOptions } from './base.js';
import { KeyTable } from './keytable.js';
import type { MapSpec } from '../../elf/spec.js';
import { UpdateFlag } from '../../uapi/types.js';

/** Says whether a handle names an object a slot may hold (a program for prog arrays, a map for map-in-maps). */
export type HandleCheck = (handle: number) => boolean;

const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u32Bytes = (n: number) => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, true);
  return out;
};

export class FdArrayMap extends VmMap {
  /** Handle in each slot; 0 = empty (handles start at 1). */
  readonly slots: Uint32Array;
  private readonly valid: HandleCheck;

  constructor(spec: MapSpec, opts: MapOptions, valid: HandleCheck) {
    super(spec, opts);
    this.slots = new Uint32Array(spec.maxEntries);
    this.valid = valid;
  }

  /** The handle at an index, 0 when empty or out of range (bpf_tail_call / map-in-map lookup). */
  handleAt(index: number): number {
    return index >>> 0 < this.maxEntries ? this.slots[index]! : 0;
  }

  override progLookup(): number {
    return -1;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    const h = this.handleAt(u32(key, 0));
    return h ? u32Bytes(h) : undefined;
  }

  override lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const v = this.lookup(key);
    return v ? [v] : undefined;
  }

  override update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    this.checkKey(key, 'update');
    if (value.length !== 4) this.fail('EINVAL', 'update', `value must be a 4-byte handle, got ${value.length} bytes`);
    if (flags !== UpdateFlag.ANY) this.fail('EINVAL', 'update', 'prog arrays and map-in-maps take only BPF_ANY');
    const i = u32(key, 0);
    if (i >= this.maxEntries)
      this.fail('E2BIG', 'update', `index ${i} is out of range (max_entries ${this.maxEntries})`);
    const h = u32(value, 0);
    if (!this.valid(h)) this.fail('EBADF', 'update', `handle ${h} names no ${this.kindName()} of this collection`);
    this.slots[i] = h;
  }

  override delete(key: Uint8Array): boolean {
    this.checkKey(key, 'delete');
    const i = u32(key, 0);
    if (i >= this.maxEntries) this.fail('E2BIG', 'delete', `index ${i} is out of range`);
    if (!this.slots[i]) return false;
    this.slots[i] = 0;
    return true;
  }

  /** Program-side delete (bpf_map_delete_elem on a prog array is allowed). */
  override progDelete(kb: Uint8Array, ko: number): number {
    const i = u32(kb, ko);
    if (i >= this.maxEntries) return -E.E2BIG;
    if (!this.slots[i]) return -E.ENOENT;
    this.slots[i] = 0;
    return 0;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    let i = key ? u32(key, 0) : -1;
    if (i >= this.maxEntries) i = -1;
    return i + 1 >= this.maxEntries ? undefined : u32Bytes(i + 1);
  }

  private kindName(): string {
    return this.type === 3 ? 'program' : 'map';
  }
}

/** HASH_OF_MAPS: a hash table whose values are inner-map handles. */
export class HashOfMaps extends VmMap {
  readonly table: KeyTable;
  readonly handles: Uint32Array;
  private readonly valid: HandleCheck;

  constructor(spec: MapSpec, opts: MapOptions, valid: HandleCheck) {
    super(spec, opts);
    this.table = new KeyTable(spec.keySize, spec.maxEntries);
    this.handles = new Uint32Array(spec.maxEntries);
    this.valid = valid;
  }

  /** The inner map's handle for a key at kb[ko..], 0 when absent. */
  handleFor(kb: Uint8Array, ko: number): number {
    const s = this.table.find(kb, ko);
    return s < 0 ? 0 : this.handles[s]!;
  }

  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key, 'lookup');
    const h = this.handleFor(key, 0);
    return h ? u32Bytes(h) : undefined;
  }

  override lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const v = this.lookup(key);
    return v ? [v] : undefined;
  }

  override update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
    this.checkKey(key, 'update');
    if (value.length !== 4) this.fail('EINVAL', 'update', `value must be a 4-byte handle, got ${value.length} bytes`);
    if (badUpdateFlags(flags)) this.fail('EINVAL', 'update');
    const h = u32(value, 0);
    if (!this.valid(h)) this.fail('EBADF', 'update', `handle ${h} names no map of this collection`);
    let s = this.table.find(key, 0);
    if (s >= 0 && flags & UpdateFlag.NOEXIST) this.fail('EEXIST', 'update');
    if (s < 0) {
      if (flags & UpdateFlag.EXIST) this.fail('ENOENT', 'update');
      if (this.table.count >= this.maxEntries) this.fail('E2BIG', 'update');
      s = this.table.insert(key, 0);
    }
    this.handles[s] = h;
  }

  override progDelete(kb: Uint8Array, ko: number): number {
    const s = this.table.find(kb, ko);
    if (s < 0) return -E.ENOENT;
    this.table.remove(s);
    return 0;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const t = this.table;
    let s = key && key.length === this.keySize ? t.find(key, 0) : -1;
    s = s < 0 ? t.head : t.next[s]!;
    return s < 0 ? undefined : t.keyOf(s);
  }
}
