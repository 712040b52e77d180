/**
 * BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH (and the storage of HASH_OF_MAPS).
 *
 * Kernel semantics kept: BPF_NOEXIST on a present key is EEXIST, BPF_EXIST on an absent key is ENOENT,
 * inserting into a full map is E2BIG (LRU maps evict the least recently used element instead), other
 * flags are EINVAL. Per-CPU maps: a program's update writes only its CPU's value, and a new element starts
 * with the other CPUs' values zeroed.
 *
 * Differences, documented in docs/programs.md: get-next-key walks keys in insertion order (the kernel walks
 * its buckets), a missing key restarts from the first key (as the kernel does); LRU is an exact LRU over all
 * CPUs (the kernel's is approximate, per-CPU free lists may evict a little before the map is full); an update
 * of an existing key writes the value in place (the kernel swaps in a fresh element for non-per-CPU maps).
 */
import { VmMap, E, badUpdateFlags, roundUp8, type MapOptions } from './base.js';
import { KeyTable } from './keytable.js';
import type { MapSpec } from '../../elf/spec.js';
import { MapType, UpdateFlag } from '../../uapi/types.js';

/**
 * Most bytes of hash-map storage (key table and values) one allocator places (see HashMap.place): the
 * 'wasm' engine's linear memory must keep room for the packet buffer and contexts that come later.
 */
export const PLACED_MAX = 12 * 1024 * 1024;
const placed = new WeakMap<object, number>();

/** Bytes HashMap.place takes for a map of this shape (its key table, then its values). */
export function placedBytes(spec: Pick<MapSpec, 'type' | 'keySize' | 'valueSize' | 'maxEntries'>, cpus = 1): number {
  const percpu = spec.type === MapType.PERCPU_HASH || spec.type === MapType.LRU_PERCPU_HASH;
  const values = Math.max(8, roundUp8(spec.valueSize) * (percpu ? cpus : 1) * spec.maxEntries);
  return KeyTable.bytesFor(spec.keySize, spec.maxEntries) + values;
}

export class HashMap extends VmMap {
  override readonly valuesPerKey: number;
  table: KeyTable;
  readonly lru: boolean;

  constructor(spec: MapSpec, opts: MapOptions) {
    super(spec, opts);
    const percpu = spec.type === MapType.PERCPU_HASH || spec.type === MapType.LRU_PERCPU_HASH;
    this.valuesPerKey = percpu ? opts.cpus : 1;
    this.lru = spec.type === MapType.LRU_HASH || spec.type === MapType.LRU_PERCPU_HASH;
    this.stride = roundUp8(spec.valueSize);
    this.table = new KeyTable(spec.keySize, spec.maxEntries);
    this.slab = new Uint8Array(Math.max(8, this.stride * this.valuesPerKey * spec.maxEntries));
  }

  /**
   * Move the (still empty) map's key table and value slab into one block from `allocate` — the 'wasm'
   * engine's linear memory, where its modules look up, touch and update entries themselves
   * (src/vm/wasm/hash-lookup.ts). Maps whose storage would take more than what is left of
   * PLACED_MAX for this allocator stay where they are. Returns whether the map moved.
   */
  place(allocate: (size: number) => Uint8Array): boolean {
    if (this.table.count !== 0) return false;
    const tableBytes = KeyTable.bytesFor(this.keySize, this.maxEntries);
    const total = tableBytes + this.slab!.length;
    if (total !== placedBytes(this, this.valuesPerKey))
      throw new Error('internal: HashMap.place and placedBytes disagree');
    const used = placed.get(allocate) ?? 0;
    if (used + total > PLACED_MAX) return false;
    const block = allocate(total);
    placed.set(allocate, used + total);
    // (fresh bytes: both allocators hand out zeroed memory, never reused)
    this.table = new KeyTable(this.keySize, this.maxEntries, block.subarray(0, tableBytes));
    this.slab = block.subarray(tableBytes);
    return true;
  }

  private offsetOf(slot: number, cpu: number): number {
    return (slot * this.valuesPerKey + (this.valuesPerKey > 1 ? cpu : 0)) * this.stride;
  }

  override progLookup(kb: Uint8Array, ko: number, cpu: number): number {
    const s = this.table.find(kb, ko);
    if (s < 0) return -1;
    if (this.lru) this.table.touch(s);
    return this.offsetOf(s, cpu);
  }

  protected override peekOffset(kb: Uint8Array, ko: number): number {
    const s = this.table.find(kb, ko);
    return s < 0 ? -1 : this.offsetOf(s, 0);
  }

  override progUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number, cpu: number): number {
    if (badUpdateFlags(flags)) return -E.EINVAL;
    let s = this.table.find(kb, ko);
    if (s >= 0) {
      if (flags & UpdateFlag.NOEXIST) return -E.EEXIST;
      if (this.lru) this.table.touch(s);
    } else {
      if (flags & UpdateFlag.EXIST) return -E.ENOENT;
      if (this.table.count >= this.maxEntries) {
        if (!this.lru) return -E.E2BIG;
        this.table.remove(this.table.head);
      }
      s = this.table.insert(kb, ko);
      if (s < 0) return -E.E2BIG;
      const base = s * this.valuesPerKey * this.stride;
      this.slab!.fill(0, base, base + this.valuesPerKey * this.stride);
    }
    this.slab!.set(vb.subarray(vo, vo + this.valueSize), this.offsetOf(s, cpu));
    return 0;
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
