/**
 * A TPACKET_V3 receive ring for PacketSocket: the kernel writes packets into blocks of a memory area
 * shared with us (mmap), and we read them with plain memory loads — no system call per packet. A block
 * is handed to userspace when full or after a timeout (so latency stays bounded), we copy its packets
 * out and give it back by resetting its status word.
 *
 * Layouts from include/uapi/linux/if_packet.h (64-bit):
 *   struct tpacket_block_desc { u32 version; u32 offset_to_priv; struct tpacket_hdr_v1 {
 *     u32 block_status @8; u32 num_pkts @12; u32 offset_to_first_pkt @16; u32 blk_len @20; ... } }
 *   struct tpacket3_hdr { u32 tp_next_offset @0; u32 tp_sec @4; u32 tp_nsec @8; u32 tp_snaplen @12;
 *     u32 tp_len @16; u32 tp_status @20; u16 tp_mac @24; u16 tp_net @26; ... }  (48 bytes aligned), then
 *   struct sockaddr_ll (ifindex @4, pkttype @10).
 */
import koffi from 'koffi';
import { NativeBuffer, errno, errnoName, libc } from './libc.js';
import { KernelError } from './errors.js';
import type { LivePacket } from './packet-socket.js';

const SOL_PACKET = 263;
const PACKET_RX_RING = 5;
const PACKET_VERSION = 10;
const TPACKET_V3 = 2;
const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
const TPACKET3_HDRLEN = 48; // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
const PROT_READ_WRITE = 3;
const MAP_SHARED = 1;

/** Sizes of the TPACKET_V3 receive ring a PacketSocket can read through. */
export interface RingOptions {
  /** Bytes per block (a multiple of the page size, big enough for the largest packet). */
  blockSize?: number;
  blockCount?: number;
  /** Hand a block over after this many ms even when not full. */
  blockTimeoutMs?: number;
}

let mmapFns: { mmap: (...a: unknown[]) => unknown; munmap: (...a: unknown[]) => number } | undefined;
function mm() {
  if (!mmapFns) {
    const lib = koffi.load('libc.so.6');
    mmapFns = {
      mmap: lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)'),
      munmap: lib.func('int munmap(void *addr, size_t len)'),
    };
  }
  return mmapFns;
}

export class RxRing {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly words: Uint32Array;
  private next = 0;
  private unmapped = false;

  private constructor(
    private readonly ptr: unknown,
    private readonly size: number,
    private readonly blockSize: number,
    private readonly blockCount: number,
    private readonly snaplen: number,
    /** How long the kernel keeps a partly filled block before handing it over. */
    readonly blockTimeoutMs: number,
  ) {
    const ab = koffi.view(ptr, size);
    this.bytes = new Uint8Array(ab);
    this.view = new DataView(ab);
    this.words = new Uint32Array(ab);
  }

  /** Switch `fd` to TPACKET_V3 and map its receive ring. Throws KernelError when the kernel refuses. */
  static setup(fd: number, snaplen: number, opts: RingOptions = {}): RxRing {
    const page = 4096;
    let blockSize = opts.blockSize ?? 1 << 20;
    // A block must hold the largest packet we keep, with its headers.
    while (blockSize < snaplen + TPACKET3_HDRLEN + 64) blockSize *= 2;
    blockSize = Math.ceil(blockSize / page) * page;
    const blockCount = opts.blockCount ?? 8;
    const frameSize = 2048; // V3 packs variable-size frames; the kernel only checks this divides the block
    const c = libc();
    const ver = new NativeBuffer(4);
    const req = new NativeBuffer(28); // struct tpacket_req3
    try {
      ver.view.setInt32(0, TPACKET_V3, true);
      if (c.setsockopt(fd, SOL_PACKET, PACKET_VERSION, ver.ptr, 4) < 0) throw ringError('PACKET_VERSION TPACKET_V3');
      const v = req.view;
      v.setUint32(0, blockSize, true);
      v.setUint32(4, blockCount, true);
      v.setUint32(8, frameSize, true);
      v.setUint32(12, (blockSize / frameSize) * blockCount, true);
      v.setUint32(16, opts.blockTimeoutMs ?? 10, true);
      v.setUint32(20, 0, true);
      v.setUint32(24, 0, true);
      if (c.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req.ptr, 28) < 0) throw ringError('PACKET_RX_RING');
    } finally {
      ver.free();
      req.free();
    }
    const size = blockSize * blockCount;
    const ptr = mm().mmap(null, size, PROT_READ_WRITE, MAP_SHARED, fd, 0);
    if (!ptr || koffi.address(ptr) === 0xffffffffffffffffn) throw ringError('mmap of the packet ring');
    return new RxRing(ptr, size, blockSize, blockCount, snaplen, opts.blockTimeoutMs ?? 10);
  }

  /**
   * Copy the packets of every block the kernel has handed over into `out`, releasing each block, until
   * `max` packets are queued (whole blocks only: a block is given back all at once). Returns the count.
   */
  read(out: LivePacket[], max: number): number {
    let n = 0;
    while (!this.unmapped && out.length < max) {
      const base = this.next * this.blockSize;
      const statusIdx = (base + 8) >> 2;
      if ((Atomics.load(this.words, statusIdx) & TP_STATUS_USER) === 0) break;
      const v = this.view;
      const count = v.getUint32(base + 12, true);
      let at = base + v.getUint32(base + 16, true);
      for (let i = 0; i < count; i++) {
        const snap = v.getUint32(at + 12, true);
        const mac = v.getUint16(at + 24, true);
        const keep = Math.min(snap, this.snaplen);
        out.push({
          data: this.bytes.slice(at + mac, at + mac + keep),
          tsSec: v.getUint32(at + 4, true),
          tsNsec: v.getUint32(at + 8, true),
          origLen: v.getUint32(at + 16, true),
          ifindex: v.getInt32(at + TPACKET3_HDRLEN + 4, true),
          pktType: v.getUint8(at + TPACKET3_HDRLEN + 10),
        });
        n++;
        const nextOff = v.getUint32(at, true);
        if (nextOff === 0) break;
        at += nextOff;
      }
      Atomics.store(this.words, statusIdx, TP_STATUS_KERNEL); // give the block back
      this.next = (this.next + 1) % this.blockCount;
    }
    return n;
  }

  /** Give back every block the kernel has handed over, unread. */
  discard(): void {
    while (!this.unmapped) {
      const statusIdx = (this.next * this.blockSize + 8) >> 2;
      if ((Atomics.load(this.words, statusIdx) & TP_STATUS_USER) === 0) return;
      Atomics.store(this.words, statusIdx, TP_STATUS_KERNEL);
      this.next = (this.next + 1) % this.blockCount;
    }
  }

  /** Unmap; the views must not be touched afterwards (the caller stops reading first). */
  close(): void {
    if (this.unmapped) return;
    this.unmapped = true;
    mm().munmap(this.ptr, this.size);
  }
}

function ringError(what: string): Error {
  const code = errno();
  return new KernelError(what, errnoName(code), code);
}
