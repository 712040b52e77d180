/**
 * BPF_MAP_TYPE_LPM_TRIE: key = u32 prefix length (host order) followed by the address bytes (network order).
 * A lookup returns the value of the longest stored prefix that matches the key's first `prefixlen` bits
 * (entries longer than the lookup key's prefixlen never match, as in the kernel). Update and delete work on
 * exact (prefixlen, prefix) pairs; a prefixlen beyond 8*(key_size-4) is EINVAL, a full trie is ENOSPC
 * (the kernel's error here, not E2BIG).
 *
 * Storage is a slot table scanned linearly — fine for the rule tables programs keep, documented as such.
 * get-next-key follows the kernel's post-order: a more specific prefix comes before the prefixes that
 * contain it, and prefixes otherwise sort by their first differing bit (0 before 1); a key that is not in
 * the trie restarts from the first.
 */
import { VmMap, E, badUpdateFlags, roundUp8, type MapOptions } from './base.js';
import type { MapSpec } from '../../elf/spec.js';
import { UpdateFlag } from '../../uapi/types.js';
import { MapError } from '../../engine/errors.js';

export class LpmTrieMap extends VmMap {
  private readonly dataSize: number;
  private readonly maxPrefix: number;
  private readonly keyStore: Uint8Array;
  private readonly prefix: Int32Array; // -1 = free slot
  private count = 0;

  constructor(spec: MapSpec, opts: MapOptions) {
    super(spec, opts);
    if (spec.keySize <= 4 || spec.keySize > 4 + 256) {
      throw new MapError('EINVAL', spec.name, 'create', 'LPM trie keys are a u32 prefix length plus 1..256 data bytes');
    }
    this.dataSize = spec.keySize - 4;
    this.maxPrefix = this.dataSize * 8;
    this.stride = roundUp8(spec.valueSize);
    this.slab = new Uint8Array(Math.max(8, this.stride * spec.maxEntries));
    this.keyStore = new Uint8Array(spec.keySize * spec.maxEntries);
    this.prefix = new Int32Array(spec.maxEntries).fill(-1);
  }

  private plen(kb: Uint8Array, ko: number): number {
    return (kb[ko]! | (kb[ko + 1]! << 8) | (kb[ko + 2]! << 16) | (kb[ko + 3]! << 24)) >>> 0;
  }

  /** Number of leading bits equal between stored slot s and data at kb[ko+4..], capped at `limit`. */
  private matchBits(s: number, kb: Uint8Array, ko: number, limit: number): number {
    const base = s * this.keySize + 4;
    let bits = 0;
    for (let i = 0; i < this.dataSize && bits < limit; i++) {
      const x = this.keyStore[base + i]! ^ kb[ko + 4 + i]!;
      if (x === 0) {
        bits += 8;
        continue;
      }
      bits += Math.clz32(x) - 24;
      break;
    }
    return Math.min(bits, limit);
  }

  private findExact(kb: Uint8Array, ko: number): number {
    const pl = this.plen(kb, ko);
    for (let s = 0; s < this.maxEntries; s++) {
      if (this.prefix[s] === pl && this.matchBits(s, kb, ko, pl) === pl) return s;
    }
    return -1;
  }

  override progLookup(kb: Uint8Array, ko: number): number {
    const pl = Math.min(this.plen(kb, ko), this.maxPrefix);
    let best = -1;
    let bestLen = -1;
    for (let s = 0; s < this.maxEntries; s++) {
      const p = this.prefix[s]!;
      if (p < 0 || p > pl || p <= bestLen) continue;
      if (this.matchBits(s, kb, ko, p) === p) {
        best = s;
        bestLen = p;
      }
    }
    return best < 0 ? -1 : best * this.stride;
  }

  protected override peekOffset(kb: Uint8Array, ko: number): number {
    return this.progLookup(kb, ko);
  }

  override progUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    if (badUpdateFlags(flags)) return -E.EINVAL;
    const pl = this.plen(kb, ko);
    if (pl > this.maxPrefix) return -E.EINVAL;
    let s = this.findExact(kb, ko);
    if (s >= 0 && flags & UpdateFlag.NOEXIST) return -E.EEXIST;
    if (s < 0) {
      if (flags & UpdateFlag.EXIST) return -E.ENOENT;
      if (this.count >= this.maxEntries) return -E.ENOSPC;
      s = this.prefix.indexOf(-1);
      this.count++;
    }
    this.prefix[s] = pl;
    this.keyStore.set(kb.subarray(ko, ko + this.keySize), s * this.keySize);
    this.slab!.set(vb.subarray(vo, vo + this.valueSize), s * this.stride);
    return 0;
  }

  override progDelete(kb: Uint8Array, ko: number): number {
    const s = this.findExact(kb, ko);
    if (s < 0) return -E.ENOENT;
    this.prefix[s] = -1;
    this.count--;
    return 0;
  }

  /** Post-order comparison of two stored slots (see the file comment). */
  private compare(a: number, b: number): number {
    const pa = this.prefix[a]!;
    const pb = this.prefix[b]!;
    const m = this.matchBits(a, this.keyStore, b * this.keySize, Math.min(pa, pb));
    if (m === Math.min(pa, pb)) return pb - pa; // one contains the other: the longer comes first
    const byte = this.keyStore[a * this.keySize + 4 + (m >> 3)]!;
    return (byte >> (7 - (m & 7))) & 1 ? 1 : -1;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const live: number[] = [];
    for (let s = 0; s < this.maxEntries; s++) if (this.prefix[s]! >= 0) live.push(s);
    live.sort((a, b) => this.compare(a, b));
    const cur = key && key.length === this.keySize ? this.findExact(key, 0) : -1;
    const i = cur < 0 ? 0 : live.indexOf(cur) + 1;
    const s = live[i];
    return s === undefined ? undefined : this.keyStore.slice(s * this.keySize, (s + 1) * this.keySize);
  }
}
