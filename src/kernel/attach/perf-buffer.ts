/**
 * The consumer side of a BPF_MAP_TYPE_PERF_EVENT_ARRAY ("perf buffer", BCC's open_perf_buffer): one
 * perf event per CPU (software event BPF_OUTPUT, samples carrying PERF_SAMPLE_RAW), each with its own
 * mmap'd ring, its fd stored in the map at that CPU's index so bpf_perf_event_output(ctx, &map,
 * BPF_F_CURRENT_CPU, …) finds it. The ring is a metadata page (perf_event_mmap_page: data_head written
 * by the kernel, data_tail by us) followed by a power-of-two data area that is NOT mapped twice, so a
 * record crossing the end is copied together. Records: PERF_RECORD_SAMPLE (u32 size, raw bytes) and
 * PERF_RECORD_LOST (how many samples the kernel dropped because the ring was full), which bpfkit counts
 * and reports instead of hiding.
 *
 * As with the ring buffer, draining costs no system call per event; waiting is one epoll on every
 * CPU's fd, on a koffi worker thread.
 */
import { EnvironmentError, InputError } from '../../util/errors.js';
import { closeFd } from '../bpf-syscall.js';
import { errnoName } from '../libc.js';
import { track, untrack } from '../lifecycle.js';
import { PerfSoftware, PerfType, perfEventOpen } from './perf-event.js';
import { Epoll, PROT_READ, PROT_WRITE, ioctlInt, mmapFd, munmap, nativeView, pageSize } from './sys.js';

/** perf_event_mmap_page fields (include/uapi/linux/perf_event.h). */
const META = { dataHead: 1024, dataTail: 1032, dataOffset: 1040, dataSize: 1048 } as const;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
const PERF_SAMPLE_RAW = 1n << 10n;
const IOC_ENABLE = 0x2400;

/** Something that takes an fd per CPU: the perf event array map (update(key = cpu, value = fd)). */
export interface PerfEventArrayMap {
  /** Store `value` (a perf event fd, u32) at `key` (a CPU index, u32). */
  update(key: Uint8Array, value: Uint8Array): void;
  /** The map's name, for messages. */
  readonly name: string;
}

interface CpuRing {
  cpu: number;
  fd: number;
  ptr: unknown;
  length: number;
  meta: DataView;
  data: Uint8Array;
  dataView: DataView;
  mask: number;
}

/** Reads every CPU's ring of a perf event array. Samples passed to callbacks are views: copy to keep them. */
export class PerfBufferReader {
  private readonly rings: CpuRing[] = [];
  private readonly epoll: Epoll;
  private scratch = new Uint8Array(256);
  private closed = false;
  /** Samples the kernel reported dropped (PERF_RECORD_LOST), over all CPUs, since opening. */
  lost = 0;

  constructor(
    map: PerfEventArrayMap,
    cpus: number[],
    /** Data pages per CPU, a power of two (BCC's page_cnt, default 8). */
    readonly pageCount = 8,
  ) {
    if (pageCount < 1 || (pageCount & (pageCount - 1)) !== 0)
      throw new InputError(`perf buffer ${map.name}: page count ${pageCount} is not a power of two`);
    const page = pageSize();
    try {
      for (const cpu of cpus) {
        const fd = perfEventOpen(
          {
            type: PerfType.SOFTWARE,
            config: BigInt(PerfSoftware.BPF_OUTPUT),
            period: 1,
            sampleType: PERF_SAMPLE_RAW,
          },
          -1,
          cpu,
          `perf buffer ${map.name} on CPU ${cpu}`,
        );
        const length = (1 + pageCount) * page;
        const m = mmapFd(length, PROT_READ | PROT_WRITE, fd, 0);
        if (typeof m === 'number') {
          closeFd(fd);
          throw new EnvironmentError(`mapping perf buffer ${map.name} on CPU ${cpu} failed (${errnoName(-m)})`);
        }
        const buf = nativeView(m.ptr, length);
        const meta = new DataView(buf, 0, page);
        const offset = Number(meta.getBigUint64(META.dataOffset, true)) || page;
        const size = Number(meta.getBigUint64(META.dataSize, true)) || pageCount * page;
        this.rings.push({
          cpu,
          fd,
          ptr: m.ptr,
          length,
          meta,
          data: new Uint8Array(buf, offset, size),
          dataView: new DataView(buf, offset, size),
          mask: size - 1,
        });
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, cpu, true);
        const value = new Uint8Array(4);
        new DataView(value.buffer).setUint32(0, fd, true);
        map.update(key, value);
        ioctlInt(fd, IOC_ENABLE, 0);
      }
      this.epoll = new Epoll(this.rings.map((r) => r.fd));
    } catch (err) {
      this.release();
      throw err;
    }
    track(this);
  }

  /** Call `fn` for each sample written since the last drain (with its CPU); returns how many. */
  drain(fn: (sample: Uint8Array, cpu: number) => void): number {
    if (this.closed) return 0;
    let n = 0;
    for (const r of this.rings) n += this.drainRing(r, fn);
    return n;
  }

  private drainRing(r: CpuRing, fn: (sample: Uint8Array, cpu: number) => void): number {
    let n = 0;
    let tail = readU64(r.meta, META.dataTail);
    const head = readU64(r.meta, META.dataHead);
    while (tail < head) {
      const at = tail % (r.mask + 1);
      // Headers are 8-byte aligned and 8 bytes long: never split by the end of the ring.
      const type = r.dataView.getUint32(at, true);
      const size = r.dataView.getUint16(at + 6, true);
      if (size < 8) break; // a torn header: the kernel never writes one; stop rather than spin
      const record = this.record(r, at, size);
      const body = new DataView(record.buffer, record.byteOffset, record.byteLength);
      if (type === PERF_RECORD_SAMPLE) {
        const len = body.getUint32(8, true);
        n++;
        fn(record.subarray(12, 12 + len), r.cpu);
      } else if (type === PERF_RECORD_LOST) {
        this.lost += Number(body.getBigUint64(16, true));
      }
      tail += size;
    }
    writeU64(r.meta, META.dataTail, tail);
    return n;
  }

  /** The record at `at`, contiguous: a view into the ring, or a copy when it wraps past the end. */
  private record(r: CpuRing, at: number, size: number): Uint8Array {
    const end = r.mask + 1;
    if (at + size <= end) return r.data.subarray(at, at + size);
    if (this.scratch.length < size) this.scratch = new Uint8Array(size);
    const first = end - at;
    this.scratch.set(r.data.subarray(at, end), 0);
    this.scratch.set(r.data.subarray(0, size - first), first);
    return this.scratch.subarray(0, size);
  }

  /** Bytes written but not yet consumed, over all CPUs. */
  pending(): number {
    let n = 0;
    for (const r of this.rings) n += readU64(r.meta, META.dataHead) - readU64(r.meta, META.dataTail);
    return n;
  }

  /** Sleep until some CPU's ring has data (or `timeoutMs` passes); resolves false on timeout. */
  async wait(timeoutMs: number): Promise<boolean> {
    return (await this.epoll.wait(timeoutMs)) > 0;
  }

  /** Unmap, close the perf events (the map's slots go dead with them) and stop waiting. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    untrack(this);
  }

  private release(): void {
    this.epoll?.close();
    for (const r of this.rings) {
      munmap(r.ptr, r.length);
      closeFd(r.fd);
    }
    this.rings.length = 0;
  }
}

function readU64(v: DataView, at: number): number {
  return v.getUint32(at + 4, true) * 0x100000000 + v.getUint32(at, true);
}

function writeU64(v: DataView, at: number, value: number): void {
  v.setUint32(at + 4, Math.floor(value / 0x100000000), true);
  v.setUint32(at, value >>> 0, true);
}
