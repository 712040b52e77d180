/**
 * A TPACKET_V3 receive ring for PacketSocket: the kernel writes packets into blocks of a memory area
 * shared with us (mmap), and we read them with plain memory loads — no system call per packet. A block
 * is handed to userspace when full or after a timeout (so latency stays bounded), we copy its packets
 * out and give it back by resetting its status word.
 *
 * Each block starts with a struct tpacket_block_desc; each packet in it with a struct tpacket3_hdr,
 * followed (at TPACKET_ALIGN of its size) by a struct sockaddr_ll (abi/packet.ts).
 */
import koffi from 'koffi';
import { NativeBuffer, errno, errnoName, libc } from './libc.js';
import { KernelError } from './errors.js';
import type { LivePacket } from './packet-socket.js';
import {
  SOCKADDR_LL,
  TPACKET3_HDR,
  TPACKET_BLOCK_DESC,
  TPACKET_REQ3,
  getI32,
  getU16,
  getU32,
  getU8,
  setU32,
} from './abi/index.js';

const SOL_PACKET = 263;
const PACKET_RX_RING = 5;
const PACKET_VERSION = 10;
const TPACKET_V3 = 2;
const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
/** TPACKET_ALIGN: the ring's structs start at multiples of 16. */
const tpacketAlign = (n: number) => (n + 15) & ~15;
/** Where a packet's sockaddr_ll starts after its tpacket3_hdr. */
const TPACKET3_HDRLEN = tpacketAlign(TPACKET3_HDR.size);
const BLOCK = TPACKET_BLOCK_DESC.fields;
/** The block_status word's index in a Uint32Array over the ring, relative to the block's. */
const STATUS_WORD = BLOCK['hdr.bh1.block_status'].offset >> 2;
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
    const req = new NativeBuffer(TPACKET_REQ3.size);
    try {
      ver.view.setInt32(0, TPACKET_V3, true);
      if (c.setsockopt(fd, SOL_PACKET, PACKET_VERSION, ver.ptr, 4) < 0) throw ringError('PACKET_VERSION TPACKET_V3');
      const v = req.view;
      const f = TPACKET_REQ3.fields;
      setU32(v, f.tp_block_size, blockSize);
      setU32(v, f.tp_block_nr, blockCount);
      setU32(v, f.tp_frame_size, frameSize);
      setU32(v, f.tp_frame_nr, (blockSize / frameSize) * blockCount);
      setU32(v, f.tp_retire_blk_tov, opts.blockTimeoutMs ?? 10);
      setU32(v, f.tp_sizeof_priv, 0);
      setU32(v, f.tp_feature_req_word, 0);
      if (c.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req.ptr, TPACKET_REQ3.size) < 0)
        throw ringError('PACKET_RX_RING');
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
    const h = TPACKET3_HDR.fields;
    const sll = SOCKADDR_LL.fields;
    while (!this.unmapped && out.length < max) {
      const base = this.next * this.blockSize;
      const statusIdx = (base >> 2) + STATUS_WORD;
      if ((Atomics.load(this.words, statusIdx) & TP_STATUS_USER) === 0) break;
      const v = this.view;
      const count = getU32(v, BLOCK['hdr.bh1.num_pkts'], base);
      let at = base + getU32(v, BLOCK['hdr.bh1.offset_to_first_pkt'], base);
      for (let i = 0; i < count; i++) {
        const snap = getU32(v, h.tp_snaplen, at);
        const mac = getU16(v, h.tp_mac, at);
        const keep = Math.min(snap, this.snaplen);
        out.push({
          data: this.bytes.slice(at + mac, at + mac + keep),
          tsSec: getU32(v, h.tp_sec, at),
          tsNsec: getU32(v, h.tp_nsec, at),
          origLen: getU32(v, h.tp_len, at),
          ifindex: getI32(v, sll.sll_ifindex, at + TPACKET3_HDRLEN),
          pktType: getU8(v, sll.sll_pkttype, at + TPACKET3_HDRLEN),
        });
        n++;
        const nextOff = getU32(v, h.tp_next_offset, at);
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
      const statusIdx = ((this.next * this.blockSize) >> 2) + STATUS_WORD;
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
