/**
 * A fixed-capacity hash table from byte-string keys to slot numbers 0..capacity-1, with no allocation per
 * operation: keys are copied into one key slab, buckets chain through Int32Arrays, and an intrusive list
 * keeps the slots in insertion order (get-next-key order) or recency order (LRU). Hash maps, LRU maps and
 * hash-of-maps sit on top of it and keep their values in a slab indexed by the same slot number.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Buckets of a fresh table. */
const MIN_BUCKETS = 64;

export class KeyTable {
  readonly keySize: number;
  readonly capacity: number;
  readonly keys: Uint8Array;
  /** The key slab as int32 words when the key size is a multiple of 4 (on a little-endian host). */
  private readonly keyWords: Int32Array | undefined;
  /** The words of the key hash() last saw (its first keySize & ~3 bytes). */
  private readonly probe: Int32Array;
  /**
   * First slot of each bucket's chain, plus one (0: empty), so that a fresh table needs no filling. It
   * grows with the entries (at most one per bucket on average, up to two buckets per possible entry):
   * a map declared for 65536 entries that holds a few hundred keeps its buckets in cache.
   */
  private buckets: Int32Array;
  private mask: number;
  private readonly maxBuckets: number;
  private readonly chain: Int32Array;
  private readonly hashes: Int32Array;
  /** Doubly linked list of live slots: head is the oldest (or least recently used). */
  readonly prev: Int32Array;
  readonly next: Int32Array;
  head = -1;
  tail = -1;
  /** Slots given back by remove(), reused first (a stack). */
  private freeTop = 0;
  private readonly free: Int32Array;
  /** Slots never used yet: fresh..capacity-1 (handed out in order, so the table starts at slot 0). */
  private fresh = 0;
  count = 0;

  constructor(keySize: number, capacity: number) {
    this.keySize = keySize;
    this.capacity = capacity;
    this.keys = new Uint8Array(Math.max(1, keySize * capacity));
    // little-endian words over the key slab, matching how hash() assembles them (bytes 0..3 of a key → word 0)
    this.keyWords =
      keySize % 4 === 0 && keySize > 0 && LITTLE_ENDIAN
        ? new Int32Array(this.keys.buffer, 0, (keySize * capacity) >> 2)
        : undefined;
    this.probe = new Int32Array(keySize >> 2);
    let nb = 16;
    while (nb < capacity * 2) nb *= 2;
    this.maxBuckets = nb;
    // Nothing is filled here: a map of a million entries costs its memory, not a pass over it. chain,
    // prev and next are written when a slot is taken, before they are read.
    this.buckets = new Int32Array(Math.min(nb, MIN_BUCKETS));
    this.mask = this.buckets.length - 1;
    this.chain = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.free = new Int32Array(capacity);
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
    let h = 0x811c9dc5 | 0;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const at = ko + i;
      const w = kb[at]! | (kb[at + 1]! << 8) | (kb[at + 2]! << 16) | (kb[at + 3]! << 24);
      probe[i >> 2] = w;
      h = Math.imul(h ^ w, 0x01000193);
      h ^= h >>> 15;
    }
    for (; i < n; i++) h = Math.imul(h ^ kb[ko + i]!, 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
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
    for (let s = this.buckets[h & this.mask]! - 1; s >= 0; s = this.chain[s]!) {
      if (this.hashes[s] === h && (words ? this.equalProbe(s) : this.equal(s, kb, ko))) return s;
    }
    return -1;
  }

  /** Insert a key known to be absent; returns its slot, or -1 when every slot is taken. */
  insert(kb: Uint8Array, ko: number): number {
    let s: number;
    if (this.freeTop > 0) s = this.free[--this.freeTop]!;
    else if (this.fresh < this.capacity) s = this.fresh++;
    else return -1;
    const h = this.hash(kb, ko);
    this.keys.set(kb.subarray(ko, ko + this.keySize), s * this.keySize);
    this.hashes[s] = h;
    const b = h & this.mask;
    this.chain[s] = this.buckets[b]! - 1;
    this.buckets[b] = s + 1;
    this.linkTail(s);
    this.count++;
    if (this.count > this.buckets.length && this.buckets.length < this.maxBuckets) this.grow();
    return s;
  }

  /** Twice the buckets; every live slot is chained again (walking the list of live slots). */
  private grow(): void {
    const nb = this.buckets.length * 2;
    const buckets = new Int32Array(nb);
    const mask = nb - 1;
    for (let s = this.head; s >= 0; s = this.next[s]!) {
      const b = this.hashes[s]! & mask;
      this.chain[s] = buckets[b]! - 1;
      buckets[b] = s + 1;
    }
    this.buckets = buckets;
    this.mask = mask;
  }

  remove(slot: number): void {
    const b = this.hashes[slot]! & this.mask;
    let p = -1;
    for (let s = this.buckets[b]! - 1; s >= 0; p = s, s = this.chain[s]!) {
      if (s !== slot) continue;
      if (p < 0) this.buckets[b] = this.chain[s]! + 1;
      else this.chain[p] = this.chain[s]!;
      break;
    }
    this.unlink(slot);
    this.free[this.freeTop++] = slot;
    this.count--;
  }

  private linkTail(s: number): void {
    this.prev[s] = this.tail;
    this.next[s] = -1;
    if (this.tail >= 0) this.next[this.tail] = s;
    else this.head = s;
    this.tail = s;
  }

  private unlink(s: number): void {
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
    this.prev[s] = this.next[s] = -1;
  }

  /** Move a slot to the tail of the list (most recently used). */
  touch(s: number): void {
    if (this.tail === s) return;
    this.unlink(s);
    this.linkTail(s);
  }

  keyOf(slot: number): Uint8Array {
    return this.keys.slice(slot * this.keySize, (slot + 1) * this.keySize);
  }
}
