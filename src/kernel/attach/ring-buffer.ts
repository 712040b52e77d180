/**
 * The consumer side of a BPF_MAP_TYPE_RINGBUF, read through shared memory as libbpf does: the consumer
 * page (consumer_pos, the one word we write) mapped read-write at offset 0, the producer page
 * (producer_pos) and the data area read-only after it. The kernel maps the data area twice in a row, so
 * a record that wraps around the end is still contiguous. Each record has an 8-byte header: its length,
 * with BUSY (still being written) and DISCARD bits, then the sample, rounded up to 8 bytes.
 *
 * Reading costs no system call per event: `drain()` walks from consumer_pos to producer_pos and
 * publishes the new consumer_pos once; only waiting for more (epoll on the map fd, on a koffi worker
 * thread) enters the kernel.
 */
import { EnvironmentError } from '../../util/errors.js';
import { errnoName } from '../libc.js';
import { track, untrack } from '../lifecycle.js';
import { Epoll, PROT_READ, PROT_WRITE, mmapFd, munmap, nativeView, pageSize } from './sys.js';

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HEADER = 8;

/** Reads records from a kernel ring buffer map. Samples passed to callbacks are views: copy to keep them. */
export class RingBufferReader {
  private readonly consumer: { ptr: unknown };
  private readonly producer: { ptr: unknown };
  private readonly cons: DataView;
  private readonly prod: DataView;
  private readonly data: Uint8Array;
  private readonly dataView: DataView;
  private readonly mask: number;
  private readonly page: number;
  private readonly epoll: Epoll;
  private closed = false;

  constructor(
    mapFd: number,
    /** The map's max_entries: the data area's size, a power of two multiple of the page size. */
    readonly size: number,
    readonly name = 'ringbuf',
  ) {
    this.page = pageSize();
    const c = mmapFd(this.page, PROT_READ | PROT_WRITE, mapFd, 0);
    if (typeof c === 'number')
      throw new EnvironmentError(`mapping ring buffer ${name}'s consumer page failed (${errnoName(-c)})`);
    const p = mmapFd(this.page + 2 * size, PROT_READ, mapFd, this.page);
    if (typeof p === 'number') {
      munmap(c.ptr, this.page);
      throw new EnvironmentError(`mapping ring buffer ${name}'s data failed (${errnoName(-p)})`);
    }
    this.consumer = c;
    this.producer = p;
    this.cons = new DataView(nativeView(c.ptr, this.page));
    const prodBuf = nativeView(p.ptr, this.page + 2 * size);
    this.prod = new DataView(prodBuf, 0, this.page);
    this.data = new Uint8Array(prodBuf, this.page, 2 * size);
    this.dataView = new DataView(prodBuf, this.page, 2 * size);
    this.mask = size - 1;
    this.epoll = new Epoll(mapFd);
    track(this);
  }

  /** Call `fn` for each record written since the last drain; returns how many. */
  drain(fn: (sample: Uint8Array) => void): number {
    if (this.closed) return 0;
    let n = 0;
    // Positions are u64 counters of bytes ever written; they stay below 2^53 for centuries of traffic.
    let cons = readPos(this.cons);
    for (;;) {
      const prod = readPos(this.prod);
      if (cons >= prod) break;
      while (cons < prod) {
        const at = cons & this.mask;
        const len = this.dataView.getUint32(at, true);
        if (len & BUSY) {
          writePos(this.cons, cons);
          return n;
        }
        const sampleLen = len & ~(BUSY | DISCARD);
        cons += (HEADER + sampleLen + 7) & ~7;
        if (!(len & DISCARD)) {
          n++;
          fn(this.data.subarray(at + HEADER, at + HEADER + sampleLen));
        }
      }
      writePos(this.cons, cons);
    }
    return n;
  }

  /** Sleep until the kernel says there is data (or `timeoutMs` passes); resolves false on timeout. */
  async wait(timeoutMs: number): Promise<boolean> {
    return (await this.epoll.wait(timeoutMs)) > 0;
  }

  /** Bytes written but not yet consumed. */
  pending(): number {
    return readPos(this.prod) - readPos(this.cons);
  }

  /** Unmap and stop waiting. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.epoll.close();
    munmap(this.consumer.ptr, this.page);
    munmap(this.producer.ptr, this.page + 2 * this.size);
    untrack(this);
  }
}

function readPos(v: DataView): number {
  return v.getUint32(4, true) * 0x100000000 + v.getUint32(0, true);
}

function writePos(v: DataView, pos: number): void {
  v.setUint32(4, Math.floor(pos / 0x100000000), true);
  v.setUint32(0, pos >>> 0, true);
}
