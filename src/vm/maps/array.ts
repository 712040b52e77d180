/**
 * BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY: preallocated, zero-filled, key = u32 index. Update of an index out of
 * range is E2BIG and BPF_NOEXIST is EEXIST (every element always exists), delete is EINVAL, and
 * get-next-key walks indexes in order (a missing or out-of-range key restarts at 0) — all as the kernel.
 */
import { VmMap, E, badUpdateFlags, roundUp8, type MapOptions } from './base.js';
import type { MapSpec } from '../../elf/spec.js';
import { MapType, UpdateFlag } from '../../uapi/types.js';

export class ArrayMap extends VmMap {
  override readonly valuesPerKey: number;

  constructor(spec: MapSpec, opts: MapOptions) {
    super(spec, opts);
    this.valuesPerKey = spec.type === MapType.PERCPU_ARRAY ? opts.cpus : 1;
    this.stride = roundUp8(spec.valueSize);
    this.slab = new Uint8Array(Math.max(8, this.stride * this.valuesPerKey * spec.maxEntries));
  }

  private index(kb: Uint8Array, ko: number): number {
    return (kb[ko]! | (kb[ko + 1]! << 8) | (kb[ko + 2]! << 16) | (kb[ko + 3]! << 24)) >>> 0;
  }

  override progLookup(kb: Uint8Array, ko: number, cpu: number): number {
    const i = this.index(kb, ko);
    if (i >= this.maxEntries) return -1;
    return (i * this.valuesPerKey + (this.valuesPerKey > 1 ? cpu : 0)) * this.stride;
  }

  override progUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number, cpu: number): number {
    if (badUpdateFlags(flags)) return -E.EINVAL;
    const i = this.index(kb, ko);
    if (i >= this.maxEntries) return -E.E2BIG;
    if (flags & UpdateFlag.NOEXIST) return -E.EEXIST;
    const off = (i * this.valuesPerKey + (this.valuesPerKey > 1 ? cpu : 0)) * this.stride;
    this.slab!.set(vb.subarray(vo, vo + this.valueSize), off);
    return 0;
  }

  override progDelete(): number {
    return -E.EINVAL;
  }

  /**
   * The keys whose value (on any CPU) holds a non-zero byte, in index order. One pass over the slab a word
   * at a time, so listing a 20M-entry array that a run barely touched costs a scan, not 20M lookups.
   * A program may write the padding after a value (the VM confines pointers to the 8-byte-rounded
   * element, as the kernel does): a key whose value bytes are all zero is not listed.
   */
  nonZeroKeys(): Uint8Array[] {
    const words = new Int32Array(this.slab!.buffer, this.slab!.byteOffset, this.slab!.byteLength >> 2);
    const perKey = (this.stride * this.valuesPerKey) >> 2;
    const keys: Uint8Array[] = [];
    for (let w = 0; w < words.length; w++) {
      if (words[w] === 0) continue;
      const i = Math.floor(w / perKey);
      if (i >= this.maxEntries) break;
      w = (i + 1) * perKey - 1;
      if (!this.valueBytesSet(i)) continue;
      const k = new Uint8Array(4);
      new DataView(k.buffer).setUint32(0, i, true);
      keys.push(k);
    }
    return keys;
  }

  private valueBytesSet(i: number): boolean {
    for (let c = 0; c < this.valuesPerKey; c++) {
      const at = (i * this.valuesPerKey + c) * this.stride;
      for (let b = at; b < at + this.valueSize; b++) if (this.slab![b] !== 0) return true;
    }
    return false;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    let i = key ? this.index(key, 0) : -1;
    if (i >= this.maxEntries) i = -1;
    if (i + 1 >= this.maxEntries) return undefined;
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, i + 1, true);
    return out;
  }
}
