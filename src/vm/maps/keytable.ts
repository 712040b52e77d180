/**
 * A fixed-capacity hash table from byte-string keys to slot numbers 0..capacity-1, with no allocation per
 * operation: keys are copied into one key slab, buckets chain through Int32Arrays, and an intrusive list
 * keeps the slots in insertion order (get-next-key order) or recency order (LRU). Hash maps, LRU maps and
 * hash-of-maps sit on top of it and keep their values in a slab indexed by the same slot number.
 *
 * A table may live in one block of bytes handed to it (`KeyTable.bytesFor` long, zeroed): its scalar
 * state (head, tail, count, bucket mask, free stack top, fresh slot) in a header of int32s and every array
 * after it, at offsets the header also records. The 'wasm' engine places hash maps' blocks in its linear
 * memory and walks the same bytes from WebAssembly (src/vm/wasm/hash-lookup.ts), so both sides see one
 * table. The layout (int32 indexes of the header) is TableField.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Buckets of a fresh table. */
const MIN_BUCKETS = 64;

/** The header's int32 fields (a table's block starts with them; the array fields are byte offsets of the block's buffer). */
export const enum TableField {
  Head = 0,
  Tail,
  Count,
  Mask,
  FreeTop,
  Fresh,
  Capacity,
  KeySize,
  Buckets,
  Chain,
  Hashes,
  Prev,
  Next,
  Free,
  Keys,
  MaxBuckets,
}
/** Bytes of the header. */
export const TABLE_HEADER_BYTES = 64;

/** Seed, multiplier and avalanche constants of KeyTable.hash (hash-lookup.ts computes the same). */
export const HASH_SEED = 0x811c9dc5 | 0;
export const HASH_MUL = 0x01000193;
export const HASH_MIX1 = 0x85ebca6b | 0;
export const HASH_MIX2 = 0xc2b2ae35 | 0;

/** Buckets a table of `capacity` slots grows to at most (a power of two, up to two per slot). */
function maxBucketsFor(capacity: number): number {
  let nb = 16;
  while (nb < capacity * 2) nb *= 2;
  return nb;
}

export class KeyTable {
  readonly keySize: number;
  readonly capacity: number;
  readonly keys: Uint8Array;
  /** The block the table lives in, when it was given one (the 'wasm' engine looks for it in its memory). */
  readonly block: Uint8Array | undefined;
  /** The key slab as int32 words when the key size is a multiple of 4 (on a little-endian host). */
  private readonly keyWords: Int32Array | undefined;
  /** The words of the key hash() last saw (its first keySize & ~3 bytes). */
  private readonly probe: Int32Array;
  /** The scalar state (TableField). */
  private readonly hdr: Int32Array;
  /**
   * First slot of each bucket's chain, plus one (0: empty), so that a fresh table needs no filling. Only
   * the first mask + 1 are in use: they grow with the entries (at most one per bucket on average, up to
   * two buckets per possible entry), so a map declared for 65536 entries that holds a few hundred keeps
   * its buckets in cache. The array is allocated at its largest (untouched pages cost no memory).
   */
  private readonly buckets: Int32Array;
  private readonly maxBuckets: number;
  private readonly chain: Int32Array;
  private readonly hashes: Int32Array;
  /** Doubly linked list of live slots: head is the oldest (or least recently used). */
  readonly prev: Int32Array;
  readonly next: Int32Array;
  /** Slots given back by remove(), reused first (a stack). */
  private readonly free: Int32Array;

  /** Bytes of the block a table of `capacity` keys of `keySize` bytes lives in (a multiple of 8). */
  static bytesFor(keySize: number, capacity: number): number {
    const ints = maxBucketsFor(capacity) + 5 * capacity;
    // (arithmetic, not `& ~7`: a table of 100M keys takes more than 2^31 bytes, which a bitwise round
    // turned negative, and HashMap.place then asked for a block of negative size)
    return Math.ceil((TABLE_HEADER_BYTES + 4 * ints + Math.max(1, keySize * capacity)) / 8) * 8;
  }

  /** `block`: zeroed bytes of bytesFor(keySize, capacity) at a 4-byte aligned offset to live in. */
  constructor(keySize: number, capacity: number, block?: Uint8Array) {
    this.keySize = keySize;
    this.capacity = capacity;
    const nb = maxBucketsFor(capacity);
    this.maxBuckets = nb;
    // Nothing is filled here: a map of a million entries costs its memory, not a pass over it. chain,
    // prev and next are written when a slot is taken, before they are read.
    const keyBytes = Math.max(1, keySize * capacity);
    if (block !== undefined) {
      if (block.length < KeyTable.bytesFor(keySize, capacity) || (block.byteOffset & 3) !== 0)
        throw new Error('internal: a key table block too small or misaligned');
      this.block = block;
      const buf = block.buffer;
      let at = block.byteOffset;
      const ints = (n: number): Int32Array => {
        const a = new Int32Array(buf, at, n);
        at += 4 * n;
        return a;
      };
      this.hdr = ints(TABLE_HEADER_BYTES >> 2);
      const hdr = this.hdr;
      hdr[TableField.Buckets] = at;
      this.buckets = ints(nb);
      hdr[TableField.Chain] = at;
      this.chain = ints(capacity);
      hdr[TableField.Hashes] = at;
      this.hashes = ints(capacity);
      hdr[TableField.Prev] = at;
      this.prev = ints(capacity);
      hdr[TableField.Next] = at;
      this.next = ints(capacity);
      hdr[TableField.Free] = at;
      this.free = ints(capacity);
      hdr[TableField.Keys] = at;
      this.keys = new Uint8Array(buf, at, keyBytes);
    } else {
      this.block = undefined;
      this.hdr = new Int32Array(TABLE_HEADER_BYTES >> 2);
      this.buckets = new Int32Array(nb);
      this.chain = new Int32Array(capacity);
      this.hashes = new Int32Array(capacity);
      this.prev = new Int32Array(capacity);
      this.next = new Int32Array(capacity);
      this.free = new Int32Array(capacity);
      this.keys = new Uint8Array(keyBytes);
    }
    const hdr = this.hdr;
    hdr[TableField.Head] = -1;
    hdr[TableField.Tail] = -1;
    hdr[TableField.Mask] = Math.min(nb, MIN_BUCKETS) - 1;
    hdr[TableField.Capacity] = capacity;
    hdr[TableField.KeySize] = keySize;
    hdr[TableField.MaxBuckets] = nb;
    // little-endian words over the key slab, matching how hash() assembles them (bytes 0..3 of a key → word 0)
    this.keyWords =
      keySize % 4 === 0 && keySize > 0 && LITTLE_ENDIAN
        ? new Int32Array(this.keys.buffer, this.keys.byteOffset, (keySize * capacity) >> 2)
        : undefined;
    this.probe = new Int32Array(keySize >> 2);
  }

  /** The oldest (or least recently used) live slot, -1 when empty. */
  get head(): number {
    return this.hdr[TableField.Head]!;
  }
  /** The newest (or most recently used) live slot, -1 when empty. */
  get tail(): number {
    return this.hdr[TableField.Tail]!;
  }
  /** Live slots. */
  get count(): number {
    return this.hdr[TableField.Count]!;
  }

  /**
   * 32-bit hash of a key, four bytes at a time (program lookups run once per packet: a 40-byte flow key
   * is 10 multiply rounds instead of 40), then a final avalanche so the low bits, which pick the bucket,
   * depend on every byte. When the key size is a multiple of 4 the words are also left in `probe`, so
   * find() compares them with the stored keys as int32s.
   */
  hash(kb: Uint8Array, ko: number): number {
    const n = this.keySize;
    const probe = this.probe;
    let h = HASH_SEED;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const at = ko + i;
      const w = kb[at]! | (kb[at + 1]! << 8) | (kb[at + 2]! << 16) | (kb[at + 3]! << 24);
      probe[i >> 2] = w;
      h = Math.imul(h ^ w, HASH_MUL);
      h ^= h >>> 15;
    }
    for (; i < n; i++) h = Math.imul(h ^ kb[ko + i]!, HASH_MUL);
    h = Math.imul(h ^ (h >>> 16), HASH_MIX1);
    h = Math.imul(h ^ (h >>> 13), HASH_MIX2);
    return h ^ (h >>> 16);
  }

  private equal(slot: number, kb: Uint8Array, ko: number): boolean {
    const n = this.keySize;
    const base = slot * n;
    const keys = this.keys;
    for (let i = 0; i < n; i++) if (keys[base + i] !== kb[ko + i]) return false;
    return true;
  }

  /** equal() for word-sized keys, against the words hash() just left in `probe`. */
  private equalProbe(slot: number): boolean {
    const nw = this.probe.length;
    const base = slot * nw;
    const words = this.keyWords!;
    const probe = this.probe;
    for (let i = 0; i < nw; i++) if (words[base + i] !== probe[i]) return false;
    return true;
  }

  /** Slot holding the key, or -1. */
  find(kb: Uint8Array, ko: number): number {
    const h = this.hash(kb, ko);
    const words = this.keyWords !== undefined;
    for (let s = this.buckets[h & this.hdr[TableField.Mask]!]! - 1; s >= 0; s = this.chain[s]!) {
      if (this.hashes[s] === h && (words ? this.equalProbe(s) : this.equal(s, kb, ko))) return s;
    }
    return -1;
  }

  /** Insert a key known to be absent; returns its slot, or -1 when every slot is taken. */
  insert(kb: Uint8Array, ko: number): number {
    const hdr = this.hdr;
    let s: number;
    if (hdr[TableField.FreeTop]! > 0) s = this.free[--hdr[TableField.FreeTop]!]!;
    else if (hdr[TableField.Fresh]! < this.capacity) s = hdr[TableField.Fresh]!++;
    else return -1;
    const h = this.hash(kb, ko);
    this.keys.set(kb.subarray(ko, ko + this.keySize), s * this.keySize);
    this.hashes[s] = h;
    const b = h & hdr[TableField.Mask]!;
    this.chain[s] = this.buckets[b]! - 1;
    this.buckets[b] = s + 1;
    this.linkTail(s);
    const count = ++hdr[TableField.Count]!;
    if (count > hdr[TableField.Mask]! + 1 && hdr[TableField.Mask]! + 1 < this.maxBuckets) this.grow();
    return s;
  }

  /** Twice the buckets, in place; every live slot is chained again (walking the list of live slots). */
  private grow(): void {
    const hdr = this.hdr;
    const nb = (hdr[TableField.Mask]! + 1) * 2;
    const buckets = this.buckets;
    buckets.fill(0, 0, nb);
    const mask = nb - 1;
    for (let s = hdr[TableField.Head]!; s >= 0; s = this.next[s]!) {
      const b = this.hashes[s]! & mask;
      this.chain[s] = buckets[b]! - 1;
      buckets[b] = s + 1;
    }
    hdr[TableField.Mask] = mask;
  }

  remove(slot: number): void {
    const hdr = this.hdr;
    const b = this.hashes[slot]! & hdr[TableField.Mask]!;
    let p = -1;
    for (let s = this.buckets[b]! - 1; s >= 0; p = s, s = this.chain[s]!) {
      if (s !== slot) continue;
      if (p < 0) this.buckets[b] = this.chain[s]! + 1;
      else this.chain[p] = this.chain[s]!;
      break;
    }
    this.unlink(slot);
    this.free[hdr[TableField.FreeTop]!++] = slot;
    hdr[TableField.Count]!--;
  }

  private linkTail(s: number): void {
    const hdr = this.hdr;
    const tail = hdr[TableField.Tail]!;
    this.prev[s] = tail;
    this.next[s] = -1;
    if (tail >= 0) this.next[tail] = s;
    else hdr[TableField.Head] = s;
    hdr[TableField.Tail] = s;
  }

  private unlink(s: number): void {
    const hdr = this.hdr;
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p >= 0) this.next[p] = n;
    else hdr[TableField.Head] = n;
    if (n >= 0) this.prev[n] = p;
    else hdr[TableField.Tail] = p;
    this.prev[s] = this.next[s] = -1;
  }

  /** Move a slot to the tail of the list (most recently used). */
  touch(s: number): void {
    if (this.hdr[TableField.Tail] === s) return;
    this.unlink(s);
    this.linkTail(s);
  }

  keyOf(slot: number): Uint8Array {
    return this.keys.slice(slot * this.keySize, (slot + 1) * this.keySize);
  }
}
