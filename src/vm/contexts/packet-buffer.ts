/**
 * The packet a program runs on, mapped into VM memory as one region. The buffer has headroom in front
 * (XDP_PACKET_HEADROOM, room for bpf_xdp_adjust_head and VLAN pushes) and tailroom behind (for
 * bpf_xdp_adjust_tail), like the kernel's test-run buffers; the region covers the buffer from its start
 * up to the current end of data, so reading past data_end faults.
 *
 * Offsets (`data`, `end`, `mac`, `net`) index `bytes`; the interpreter's LD_ABS/LD_IND read them
 * directly (see docs/vm.md): positive offsets are relative to `data`, SKF_NET_OFF ones to `net`,
 * SKF_LL_OFF ones to `mac`.
 */
import type { Memory } from '../memory.js';

export const XDP_PACKET_HEADROOM = 256;
/** The kernel's test-run frame: 4096 bytes, of which the last SKB_DATA_ALIGN(sizeof(skb_shared_info)) are tailroom. */
export const FRAME_SIZE = 4096;
export const SHINFO_SIZE = 320;

/**
 * Copies handed out per run come from one 64 KiB ArrayBuffer at a time, as views: allocating a fresh
 * ArrayBuffer per packet (slice()) costs several times more on a per-packet loop. This is what Node's
 * Buffer.allocUnsafe does with its pool, without the Buffer global, which browsers lack. A view keeps its
 * pool alive; the pool's other bytes are other copies, never VM memory.
 */
const POOL_SIZE = 64 * 1024;
let pool = new ArrayBuffer(POOL_SIZE);
let poolUsed = 0;
function copyOut(src: Uint8Array): Uint8Array {
  const n = src.length;
  if (n > POOL_SIZE >>> 3) return src.slice();
  if (poolUsed + n > POOL_SIZE) {
    pool = new ArrayBuffer(POOL_SIZE);
    poolUsed = 0;
  }
  const out = new Uint8Array(pool, poolUsed, n);
  poolUsed += (n + 7) & ~7; // 8-byte aligned, so a caller may put a DataView or wider array on it
  out.set(src);
  return out;
}

/** The packet buffer of a collection's runs (see the file comment). */
export class PacketBuffer {
  bytes: Uint8Array;
  /** Offset of the first packet byte (skb->data / xdp->data). */
  data: number;
  /** Offset one past the last packet byte. */
  end: number;
  /** Offset of the MAC header and of the network header (for SKF_LL_OFF / SKF_NET_OFF loads). */
  mac: number;
  net: number;
  /** XDP metadata start (== data when there is none). */
  meta: number;
  /** VM address of bytes[0]. */
  base = 0;
  private memory: Memory | undefined;

  constructor(packet: Uint8Array, headroom = XDP_PACKET_HEADROOM) {
    const size = Math.max(FRAME_SIZE, headroom + packet.length + SHINFO_SIZE);
    this.bytes = new Uint8Array(size);
    this.bytes.set(packet, headroom);
    this.data = this.meta = this.mac = headroom;
    this.end = headroom + packet.length;
    this.net = this.mac + 14;
  }

  /**
   * Load the next packet into the same buffer (zeroed like the kernel's fresh test-run buffer), keeping
   * the region mapped where it is: runs over a capture allocate nothing per packet.
   */
  reset(packet: Uint8Array, headroom = XDP_PACKET_HEADROOM): void {
    const end = headroom + packet.length;
    const need = end + SHINFO_SIZE;
    if (need > this.bytes.length) {
      const size = Math.max(need, this.bytes.length * 2);
      this.bytes = this.memory ? this.memory.allocate(size) : new Uint8Array(size);
    } else {
      // Zero what the last packet may have left: the headroom (helpers push headers into it) and any
      // tail the new packet does not overwrite. Bytes past the old end were zeroed when it shrank.
      this.bytes.fill(0, 0, headroom);
      if (this.end > end) this.bytes.fill(0, end, this.end);
    }
    this.bytes.set(packet, headroom);
    this.data = this.meta = this.mac = headroom;
    this.end = end;
    this.net = this.mac + 14;
    this.remap();
  }

  /** Last offset the data may grow to (xdp_data_hard_end). */
  get hardEnd(): number {
    return this.bytes.length - SHINFO_SIZE;
  }
  get length(): number {
    return this.end - this.data;
  }
  /** The packet bytes now (a copy, carved from a shared pool: see copyOut). */
  packet(from = this.data): Uint8Array {
    return copyOut(this.bytes.subarray(from, this.end));
  }

  /**
   * Map into VM memory (once per collection). The region holds the whole buffer but its size is the
   * current end of data, so a read past data_end still faults; a new packet only resizes it in place.
   */
  mapInto(memory: Memory): void {
    this.memory = memory;
    // (in the buffer the memory's engine reaches fastest: the 'wasm' engine's linear memory)
    const bytes = memory.allocate(this.bytes.length);
    bytes.set(this.bytes);
    this.bytes = bytes;
    this.base = memory.map(this.bytes, { name: 'packet', reserve: this.bytes.length });
    memory.resize(this.base, this.end);
    this.mappedEnd = this.end;
    this.mappedBytes = this.bytes;
  }
  unmap(): void {
    if (this.memory) this.memory.unmap(this.base);
    this.memory = undefined;
  }

  private mappedEnd = -1;
  private mappedBytes: Uint8Array | undefined;

  /** Call after `end` moved or `bytes` was replaced: the region follows (nothing to do when neither changed). */
  remap(): void {
    if (!this.memory || (this.mappedEnd === this.end && this.mappedBytes === this.bytes)) return;
    if (this.mappedBytes !== this.bytes) {
      this.base = this.memory.replace(this.base, this.bytes);
      this.mappedBytes = this.bytes;
    }
    this.memory.resize(this.base, this.end);
    this.mappedEnd = this.end;
  }

  /** VM address of an offset in `bytes`. */
  addr(off: number): number {
    return this.base + off;
  }

  /** Insert `n` zero bytes at offset `at` (moving the tail back); grows the buffer when needed. */
  insert(at: number, n: number): void {
    if (this.end + n > this.bytes.length - SHINFO_SIZE) {
      const bigger = new Uint8Array(this.bytes.length + n + 1024);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    this.bytes.copyWithin(at + n, at, this.end);
    this.bytes.fill(0, at, at + n);
    this.end += n;
    if (this.net >= at) this.net += n;
    this.remap();
  }

  /** Remove `n` bytes at offset `at`. */
  remove(at: number, n: number): void {
    this.bytes.copyWithin(at, at + n, this.end);
    this.end -= n;
    if (this.net > at) this.net -= n;
    this.remap();
  }
}
