/**
 * BPF_MAP_TYPE_LPM_TRIE: key = u32 prefix length (host order) followed by the address bytes (network order).
 * A lookup returns the value of the longest stored prefix that matches the key's first `prefixlen` bits
 * (entries longer than the lookup key's prefixlen never match, as in the kernel). Update and delete work on
 * exact (prefixlen, prefix) pairs; a prefixlen beyond 8*(key_size-4) is EINVAL, a full trie is ENOSPC
 * (the kernel's error here, not E2BIG).
 *
 * Storage: a hash table of (prefix length, masked prefix) pairs; a lookup probes it once per prefix length
 * present, longest first — O(number of distinct prefix lengths), no allocation.
 * get-next-key follows the kernel's post-order: a more specific prefix comes before the prefixes that
 * contain it, and prefixes otherwise sort by their first differing bit (0 before 1); a key that is not in
 * the trie restarts from the first.
 */
import { VmMap, E, badUpdateFlags, roundUp8, type MapOptions } from './base.js';
import { KeyTable } from './keytable.js';
import type { MapSpec } from '../../elf/spec.js';
import { UpdateFlag } from '../../uapi/types.js';
import { MapError } from '../../engine/errors.js';

export class LpmTrieMap extends VmMap {
  private readonly dataSize: number;
  private readonly maxPrefix: number;
  /** Keys as given (the kernel keeps the bits past the prefix too), by slot. */
  private readonly keyStore: Uint8Array;
  /** Prefix length + 1 by slot, 0 when free (so the zero-filled array needs no initial fill). */
  private readonly prefix: Int32Array;
  /** Exact-match index over normalised keys (prefix length + prefix with the other bits cleared). */
  private readonly table: KeyTable;
  private readonly scratch: Uint8Array;
  /** Entries per prefix length, and the lengths present, longest first. */
  private readonly perLen: Int32Array;
  private lens: number[] = [];

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
    this.prefix = new Int32Array(spec.maxEntries); // zero-filled: nothing touched until used
    this.table = new KeyTable(spec.keySize, spec.maxEntries);
    this.scratch = new Uint8Array(spec.keySize);
    this.perLen = new Int32Array(this.maxPrefix + 1);
  }

  private plen(kb: Uint8Array, ko: number): number {
    return (kb[ko]! | (kb[ko + 1]! << 8) | (kb[ko + 2]! << 16) | (kb[ko + 3]! << 24)) >>> 0;
  }

  /** scratch = (len, the first `len` bits of kb's data, zeros after). */
  private normalise(kb: Uint8Array, ko: number, len: number): void {
    const sc = this.scratch;
    sc[0] = len & 0xff;
    sc[1] = (len >>> 8) & 0xff;
    sc[2] = sc[3] = 0;
    const full = len >>> 3;
    for (let i = 0; i < this.dataSize; i++) {
      if (i < full) sc[4 + i] = kb[ko + 4 + i]!;
      else if (i === full && len & 7) sc[4 + i] = kb[ko + 4 + i]! & (0xff << (8 - (len & 7)));
      else sc[4 + i] = 0;
    }
  }

  private findExact(kb: Uint8Array, ko: number): number {
    const pl = this.plen(kb, ko);
    if (pl > this.maxPrefix) return -1;
    this.normalise(kb, ko, pl);
    return this.table.find(this.scratch, 0);
  }

  override progLookup(kb: Uint8Array, ko: number): number {
    const pl = Math.min(this.plen(kb, ko), this.maxPrefix);
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i]!;
      if (len > pl) continue;
      this.normalise(kb, ko, len);
      const s = this.table.find(this.scratch, 0);
      if (s >= 0) return s * this.stride;
    }
    return -1;
  }

  protected override peekOffset(kb: Uint8Array, ko: number): number {
    return this.progLookup(kb, ko);
  }

  private countLen(len: number, d: number): void {
    this.perLen[len]! += d;
    const now = this.perLen[len]!;
    if ((d > 0 && now === 1) || (d < 0 && now === 0)) {
      const lens: number[] = [];
      for (let l = this.maxPrefix; l >= 0; l--) if (this.perLen[l]! > 0) lens.push(l);
      this.lens = lens;
    }
  }

  override progUpdate(kb: Uint8Array, ko: number, vb: Uint8Array, vo: number, flags: number): number {
    if (badUpdateFlags(flags)) return -E.EINVAL;
    const pl = this.plen(kb, ko);
    if (pl > this.maxPrefix) return -E.EINVAL;
    let s = this.findExact(kb, ko);
    if (s >= 0 && flags & UpdateFlag.NOEXIST) return -E.EEXIST;
    if (s < 0) {
      if (flags & UpdateFlag.EXIST) return -E.ENOENT;
      if (this.table.count >= this.maxEntries) return -E.ENOSPC;
      s = this.table.insert(this.scratch, 0); // findExact left the normalised key in scratch
      this.countLen(pl, 1);
    }
    this.prefix[s] = pl + 1;
    this.keyStore.set(kb.subarray(ko, ko + this.keySize), s * this.keySize);
    this.slab!.set(vb.subarray(vo, vo + this.valueSize), s * this.stride);
    return 0;
  }

  override progDelete(kb: Uint8Array, ko: number): number {
    const s = this.findExact(kb, ko);
    if (s < 0) return -E.ENOENT;
    this.countLen(this.prefix[s]! - 1, -1);
    this.table.remove(s);
    this.prefix[s] = 0;
    return 0;
  }

  /** Leading bits equal between stored slots a and b, capped at `limit`. */
  private commonBits(a: number, b: number, limit: number): number {
    const ka = this.keyStore;
    let bits = 0;
    for (let i = 0; i < this.dataSize && bits < limit; i++) {
      const x = ka[a * this.keySize + 4 + i]! ^ ka[b * this.keySize + 4 + i]!;
      if (x === 0) {
        bits += 8;
        continue;
      }
      bits += Math.clz32(x) - 24;
      break;
    }
    return Math.min(bits, limit);
  }

  /** Post-order comparison of two stored slots (see the file comment). */
  private compare(a: number, b: number): number {
    const pa = this.prefix[a]! - 1;
    const pb = this.prefix[b]! - 1;
    const m = this.commonBits(a, b, Math.min(pa, pb));
    if (m === Math.min(pa, pb)) return pb - pa; // one contains the other: the longer comes first
    const byte = this.keyStore[a * this.keySize + 4 + (m >> 3)]!;
    return (byte >> (7 - (m & 7))) & 1 ? 1 : -1;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const live: number[] = [];
    for (let s = 0; s < this.maxEntries; s++) if (this.prefix[s]! > 0) live.push(s);
    live.sort((a, b) => this.compare(a, b));
    const cur = key && key.length === this.keySize ? this.findExact(key, 0) : -1;
    const i = cur < 0 ? 0 : live.indexOf(cur) + 1;
    const s = live[i];
    return s === undefined ? undefined : this.keyStore.slice(s * this.keySize, (s + 1) * this.keySize);
  }
}
