/**
 * BPF_MAP_TYPE_RINGBUF: max_entries is the data size in bytes (a power of two, a multiple of the page
 * size). Records carry the kernel's 8-byte header — u32 length with BUSY (bit 31) and DISCARD (bit 30)
 * flags, u32 page offset — and are 8-byte aligned. A program reserves a record (gets a pointer into the
 * slab), fills it in place and submits or discards it; userspace consumes submitted records in order and
 * stops at the first one still reserved, as libbpf's ring_buffer__consume does.
 *
 * The kernel maps the data pages twice back to back so a record that wraps stays contiguous; the slab here
 * is likewise twice the data size, and submit/discard copy the part that ran past the end back to the start.
 *
 * Isolation (what the kernel's verifier guarantees, enforced here at run time): a record pointer reaches
 * its own record's data only, and only until it is submitted or discarded (`confine`, which the VM's
 * memory asks on every access to the ring), so no program or helper can rewrite a header or a neighbour.
 * The consumer still validates every header it reads before trusting its length.
 */
import { VmMap, E, type MapOptions } from './base.js';
import type { MapSpec } from '../../elf/spec.js';
import { MapError } from '../../engine/errors.js';

export const RINGBUF_BUSY = 0x80000000;
export const RINGBUF_DISCARD = 0x40000000;
export const RINGBUF_HDR = 8;
export const BPF_RB_NO_WAKEUP = 1;
export const BPF_RB_FORCE_WAKEUP = 2;

export class RingBufMap extends VmMap {
  private readonly size: number;
  private readonly mask: number;
  private readonly dv: DataView;
  producer = 0;
  consumer = 0;
  /** Records reserved and not yet submitted or discarded: slab offsets of their data, and lengths. */
  private readonly open: number[] = [];
  private readonly openLen: number[] = [];

  constructor(spec: MapSpec, opts: MapOptions) {
    super(spec, opts);
    const n = spec.maxEntries;
    if (n < 4096 || n & (n - 1) || spec.keySize !== 0 || spec.valueSize !== 0) {
      throw new MapError(
        'EINVAL',
        spec.name,
        'create',
        'a ring buffer needs key/value size 0 and max_entries a power-of-2 multiple of 4096',
      );
    }
    this.size = n;
    this.mask = n - 1;
    this.slab = new Uint8Array(2 * n);
    this.stride = 1;
    this.dv = new DataView(this.slab.buffer);
  }

  /** Reserve `len` bytes; returns the slab offset of the record's data, or -1 (the helper returns NULL). */
  reserve(len: number, flags: number): number {
    if (flags !== 0 || len <= 0 || len > this.size) return -1;
    const total = (len + RINGBUF_HDR + 7) & ~7;
    if (total > this.size || this.producer + total - this.consumer > this.size) return -1;
    const at = this.producer & this.mask;
    this.dv.setUint32(at, (len | RINGBUF_BUSY) >>> 0, true);
    this.dv.setUint32(at + 4, 0, true);
    this.producer += total;
    this.open.push(at + RINGBUF_HDR);
    this.openLen.push(len);
    return at + RINGBUF_HDR;
  }

  /**
   * For the VM's memory: may an access of `size` bytes at slab offset `at`, through a pointer at slab
   * offset `ptr`, go ahead? Only inside one open record, the one the pointer points into.
   */
  readonly confine = (ptr: number, at: number, size: number): boolean => {
    const open = this.open;
    for (let i = 0; i < open.length; i++) {
      const start = open[i]!;
      const end = start + this.openLen[i]!;
      if (ptr >= start && ptr <= end) return at >= start && at + size <= end;
    }
    return false;
  };

  /** Submit (or discard) the record whose data starts at slab offset `dataOff`. */
  commit(dataOff: number, discard: boolean): void {
    const at = dataOff - RINGBUF_HDR;
    const i = this.open.indexOf(dataOff);
    if (i < 0) return;
    const len = this.openLen[i]!;
    this.open.splice(i, 1);
    this.openLen.splice(i, 1);
    const end = at + ((len + RINGBUF_HDR + 7) & ~7);
    if (end > this.size) this.slab!.copyWithin(0, this.size, end);
    this.dv.setUint32(at, (len | (discard ? RINGBUF_DISCARD : 0)) >>> 0, true);
  }

  /** Is there a reserved, uncommitted record whose data starts at `dataOff`? (guards submit/discard) */
  isReserved(dataOff: number): boolean {
    return this.open.includes(dataOff);
  }

  /** bpf_ringbuf_output: reserve + copy + submit; 0 or -errno. */
  output(src: Uint8Array, so: number, len: number, flags: number): number {
    if (flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return -E.EINVAL;
    const off = this.reserve(len, 0);
    if (off < 0) return -E.EAGAIN;
    this.slab!.set(src.subarray(so, so + len), off);
    this.commit(off, false);
    return 0;
  }

  /** bpf_ringbuf_query: 0 available data, 1 ring size, 2 consumer position, 3 producer position. */
  query(flags: number): number {
    switch (flags) {
      case 0:
        return this.producer - this.consumer;
      case 1:
        return this.size;
      case 2:
        return this.consumer;
      case 3:
        return this.producer;
      default:
        return 0;
    }
  }

  /** Take every submitted record (discarded ones are skipped), oldest first. */
  consume(): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.consumer < this.producer) {
      const at = this.consumer & this.mask;
      const hdr = this.dv.getUint32(at, true);
      if (hdr & RINGBUF_BUSY) break;
      const len = hdr & ~(RINGBUF_BUSY | RINGBUF_DISCARD);
      const total = (len + RINGBUF_HDR + 7) & ~7;
      // Never trust a header blindly (the kernel's consumer does not either): a length that does not fit
      // in what was produced means the ring is corrupt, and nothing after it can be read.
      if (len === 0 || len > this.size - RINGBUF_HDR || total > this.producer - this.consumer) {
        this.consumer = this.producer;
        break;
      }
      if (!(hdr & RINGBUF_DISCARD)) {
        const rec = new Uint8Array(len);
        const from = (at + RINGBUF_HDR) & this.mask;
        const first = Math.min(len, this.size - from);
        rec.set(this.slab!.subarray(from, from + first));
        if (first < len) rec.set(this.slab!.subarray(0, len - first), first);
        out.push(rec);
      }
      this.consumer += total;
    }
    return out;
  }

  override lookup(): Uint8Array | undefined {
    this.fail('ENOTSUPP', 'lookup', 'ring buffers are read with consume()');
  }
  override update(): void {
    this.fail('ENOTSUPP', 'update', 'ring buffers are written by programs');
  }
  override delete(): boolean {
    this.fail('ENOTSUPP', 'delete');
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }
}
