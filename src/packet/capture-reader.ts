/**
 * Reading capture files: `openCapture(path)` detects pcap or pcapng from the magic and returns a
 * reader that streams the file in large chunks (constant memory on multi-GB files).
 *
 * Two ways to get packets:
 * - `for await (const p of reader)`: plain `Packet` objects with their own copy of the bytes.
 * - `await reader.forEachPacket(cb)`: the fast path. `cb` gets one reused `PacketRef` whose bytes are a
 *   window into the chunk buffer, valid only until `cb` returns. No allocation per packet.
 * - `await reader.forEachBatch(cb)`: `cb` gets a RecordBatch: thousands of records at a time as typed
 *   arrays of offsets, lengths, link types and times into the chunk buffer, filled in one loop (no call
 *   and no object per record), for consumers that work a batch at a time (an engine's batch entry).
 *
 * A corrupt or truncated file throws InputError naming the file and byte offset, but only after every
 * whole packet before the fault was delivered. Each scan starts again from the beginning of the file.
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { ByteSource } from './decompressed-source.js';
import { EnvironmentError, InputError, UsageError } from '../util/errors.js';
import { captureFormatOf, compressionOf, type CaptureFormat } from './capture-format.js';
import { PacketRef, type CaptureInterface, type Packet, type PacketCallback } from './packet.js';
import { PcapParser, type PcapHeader } from './pcap-parser.js';
import { PcapngParser, type PcapngSection } from './pcapng-parser.js';
import { SnoopParser } from './snoop-parser.js';
import type { RecordParser } from './record-parser.js';
import { giveBackBatch, takeBatch, type RecordBatch } from './record-batch.js';
import { sharedChunkPool, type ChunkPool } from './chunk-pool.js';

/** Read-ahead scans: room in front of each chunk for the cut record of the chunk before it. */
const AHEAD_ROOM = 64 * 1024;

/** What a scanner's buffer is before its first read. */
const NO_BYTES = new Uint8Array(0);

/** Default read size: big enough that per-read overhead vanishes, small enough for a constant footprint. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/** Options of `openCapture`. */
export interface OpenOptions {
  /** bytes per read (default 4 MiB) */
  chunkSize?: number;
  /**
   * Where read-ahead scans take their two chunk buffers (default: the process's pool, chunk-pool.ts).
   * A capture loop that runs records where they lie passes buffers of its own (VmProgram.takeFrameChunk).
   * @internal
   */
  chunks?: ChunkPool;
}

/**
 * Open a pcap or pcapng file (detected from its magic) for streaming. A missing file or an unknown format
 * throws InputError naming the file.
 */
export async function openCapture(path: string, options: OpenOptions = {}): Promise<CaptureReader> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'ENOTDIR')
      throw new InputError(`cannot open capture: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, path);
    throw new EnvironmentError(`cannot open capture ${path}: ${e.message}`);
  }
  try {
    const st = await fh.stat();
    // open(2) gives a directory a descriptor; only its first read fails (EISDIR).
    if (st.isDirectory()) throw new InputError('cannot open capture: it is a directory', path);
    const seekable = st.isFile() || st.isBlockDevice();
    const head = new Uint8Array(4);
    // A pipe cannot be re-read: read the magic sequentially and hand it to the first scan.
    let bytesRead = 0;
    for (;;) {
      const r = await fh.read(head, bytesRead, 4 - bytesRead, seekable ? bytesRead : null);
      bytesRead += r.bytesRead;
      if (r.bytesRead === 0 || bytesRead === 4 || seekable) break;
    }
    if (bytesRead === 0) throw new InputError('empty file: not a capture', `${path}@0`);
    if (bytesRead < 4) throw new InputError(`file too short (${bytesRead} bytes) to be a capture`, `${path}@0`);
    const compression = compressionOf(head);
    if (compression) {
      await fh.close();
      return await openDecompressed(path, compression, options);
    }
    const format = captureFormatOf(head);
    if (!format) throw new InputError(`not a pcap, pcapng or snoop file (magic 0x${hex32(head)})`, `${path}@0`);
    const reader = new CaptureReader(
      path,
      fh,
      format,
      st.isFile() ? st.size : -1,
      options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      options.chunks,
    );
    if (!seekable) reader.streamHead = head;
    return reader;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Four leading bytes in hex, for the "not a capture" message. */
function hex32(head: Uint8Array): string {
  return [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A gzip (or zstd) compressed capture: read like a pipe, through the decompressor. (Loaded here, when a
 * capture is compressed: node:zlib and the zstd decoder are start-up cost a plain capture never needs.)
 */
async function openDecompressed(path: string, kind: 'gzip' | 'zstd', options: OpenOptions): Promise<CaptureReader> {
  const { decompressedSource } = await import('./decompressed-source.js');
  const src = decompressedSource(path, kind);
  try {
    const head = new Uint8Array(4);
    let n = 0;
    while (n < 4) {
      const { bytesRead } = await src.read(head, n, 4 - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n < 4) throw new InputError(`${kind} stream holds ${n} bytes: not a capture`, `${path}@0`);
    const format = captureFormatOf(head);
    if (!format)
      throw new InputError(
        `${kind}-compressed, but not a pcap, pcapng or snoop file inside (magic 0x${hex32(head)})`,
        `${path}@0`,
      );
    const reader = new CaptureReader(path, src, format, -1, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    reader.streamHead = head;
    return reader;
  } catch (err) {
    await src.close();
    throw err;
  }
}

/**
 * A capture file opened for reading: stream its packets with `forEachPacket` (fast, reused PacketRef) or
 * `for await` (plain packets that own their bytes).
 */
export class CaptureReader implements AsyncIterable<Packet> {
  /** what the last (or current) scan learned: interfaces, pcap header, pcapng sections */
  private parser: RecordParser;
  /** pipes: the magic bytes already consumed by openCapture (undefined for regular files) @internal */
  streamHead: Uint8Array | undefined;
  private scans = 0;
  /** the scan in progress (its buffers go back to the pool when the next scan starts or the reader closes) */
  private current: ChunkScanner | undefined;

  constructor(
    readonly path: string,
    private readonly fh: ByteSource,
    readonly format: CaptureFormat,
    /** file size in bytes, -1 when not a regular file */
    readonly size: number,
    private readonly chunkSize: number,
    /** where read-ahead scans take their buffers */
    private readonly chunks: ChunkPool = sharedChunkPool,
  ) {
    this.parser = this.newParser();
  }

  private newParser(): RecordParser {
    if (this.format === 'snoop') return new SnoopParser(this.path);
    return this.format === 'pcap' ? new PcapParser(this.path) : new PcapngParser(this.path);
  }

  /** Interfaces seen so far (pcap: the one from the file header once a scan has started). */
  get interfaces(): CaptureInterface[] {
    return this.parser.interfaces;
  }

  /** Records longer than their snapshot length, read anyway (an anomaly Wireshark and tcpdump read on). */
  get oversizedRecords(): number {
    return this.parser.oversized;
  }

  /** pcap only: the file header (after a scan started). */
  get pcapHeader(): PcapHeader | undefined {
    return this.parser instanceof PcapParser ? this.parser.header : undefined;
  }

  /** pcapng only: sections seen so far. */
  get sections(): PcapngSection[] {
    return this.parser instanceof PcapngParser ? this.parser.sections : [];
  }

  /** Byte order of the file (pcapng: of its first section). Known once a scan has started. */
  get littleEndian(): boolean | undefined {
    if (this.parser instanceof PcapParser) return this.parser.header?.littleEndian;
    if (this.parser instanceof PcapngParser) return this.parser.sections[0]?.littleEndian;
    if (this.parser instanceof SnoopParser) return this.parser.interfaces.length > 0 ? false : undefined;
    return undefined;
  }

  /**
   * The fast path: calls `cb` for every packet with a reused PacketRef (bytes valid only during the
   * call). Return false from `cb` to stop. Resolves to the number of packets delivered.
   */
  async forEachPacket(cb: PacketCallback): Promise<number> {
    const scan = this.scan({ readAhead: true });
    let count = 0;
    const counting: PacketCallback = (p) => {
      count++;
      return cb(p);
    };
    while (await scan.step(counting));
    return count;
  }

  /**
   * The batch path: fills `batch` (default: a new one of DEFAULT_BATCH_RECORDS) with the next records, in
   * one tight loop per batch, and calls `cb` with it; the records are valid only during the call. Return
   * false from `cb` to stop. A corrupt record is thrown after a last call with every whole record before
   * it. Resolves to the number of records delivered.
   */
  async forEachBatch(cb: (batch: RecordBatch) => boolean | void, batch?: RecordBatch): Promise<number> {
    const scan = this.scan({ readAhead: true });
    const b = batch ?? takeBatch();
    let count = 0;
    try {
      while (await scan.nextBatch(b)) {
        count += b.count;
        if (cb(b) === false) break;
      }
    } finally {
      if (!batch) giveBackBatch(b);
    }
    return count;
  }

  /** Plain packets that own their bytes, read chunk by chunk. */
  async *[Symbol.asyncIterator](): AsyncIterator<Packet> {
    const scan = this.scan();
    const batch: Packet[] = [];
    const collect: PacketCallback = (p) => {
      batch.push(p.toPacket());
    };
    for (;;) {
      let more: boolean;
      let fault: unknown;
      try {
        more = await scan.step(collect);
      } catch (err) {
        fault = err;
        more = false;
      }
      // Deliver what came before a fault, then raise it.
      for (let i = 0; i < batch.length; i++) yield batch[i]!;
      batch.length = 0;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the parser's catch caught
      if (fault !== undefined) throw fault;
      if (!more) return;
    }
  }

  /** Read the whole file into an array (small files and tests). */
  async readAll(): Promise<Packet[]> {
    const out: Packet[] = [];
    for await (const p of this) out.push(p);
    return out;
  }

  /**
   * A fresh scan from the start of the file. One at a time per reader. `firstRead`: read only this many
   * bytes in the first step, doubling each step up to the chunk size, so that a consumer working in
   * step-sized pieces (another thread) gets its first packets without waiting for a whole chunk.
   * `readAhead` (regular files): read the next chunk while the packets of this one are delivered, so
   * the caller does not wait for the disk (or the page cache copy) between chunks; handOff is then not
   * available. A step's records stay valid until the next step, the next scan or close().
   * `syncReads` (with readAhead, a file openCapture opened): read each chunk when it is needed, on this
   * thread, instead of ahead on the thread pool — less CPU for a consumer that is CPU-bound anyway (the
   * chunk lands in this core's cache, and no thread hand-off: see RUN_CHUNK), but the caller waits for
   * each read and the event loop does not run while a scan's steps follow one another.
   * @internal
   */
  scan(opts: { firstRead?: number; readAhead?: boolean; syncReads?: boolean } = {}): ChunkScanner {
    if (this.streamHead && this.scans > 0) throw new UsageError(`${this.path} is a pipe: it can be read only once`);
    this.scans++;
    this.current?.release();
    this.parser = this.newParser();
    const scanner = new ChunkScanner(
      this.path,
      this.fh,
      this.parser,
      this.size,
      this.chunkSize,
      this.streamHead,
      this.chunks,
    );
    if (opts.firstRead !== undefined) scanner.readLimit = Math.max(64, opts.firstRead);
    if (opts.readAhead && this.size >= 0 && !this.streamHead) scanner.readAhead = true;
    const fd = (this.fh as Partial<FileHandle>).fd;
    if (opts.syncReads && scanner.readAhead && typeof fd === 'number') scanner.syncFd = fd;
    this.current = scanner;
    return scanner;
  }

  /** Close the file (the records of the last scan are no longer valid after this). */
  async close(): Promise<void> {
    this.current?.release();
    this.current = undefined;
    await this.fh.close();
  }
}

/**
 * Reads the file sequentially into one buffer. After each read the parser consumes every whole
 * record; the cut record at the end moves to the front before the next read. The buffer only grows
 * when a single record is larger than it (bounded by MAX_RECORD_LEN through the parsers). Read-ahead
 * scans alternate between two buffers taken from the chunk pool (see stepAhead).
 */
export class ChunkScanner {
  /** (made at the first step: a read-ahead scan or a handOff never uses the first one) */
  private buf: Uint8Array = NO_BYTES;
  private dv: DataView = new DataView(NO_BYTES.buffer);
  private start = 0;
  private fill = 0;
  /** file offset of buf[0] */
  private base = 0;
  private done = false;
  private readonly pkt = new PacketRef();

  constructor(
    private readonly path: string,
    private readonly fh: ByteSource,
    private readonly parser: RecordParser,
    private readonly size: number,
    private readonly chunkSize: number,
    /** pipes: bytes read before the scan began (the magic); also means "read sequentially" */
    head?: Uint8Array,
    /** where a read-ahead scan takes its two buffers */
    private readonly chunks: ChunkPool = sharedChunkPool,
  ) {
    this.sequential = head !== undefined;
    if (head) {
      this.allocate();
      this.buf.set(head);
      this.fill = head.length;
    }
  }

  /** The buffer of a scan without read-ahead, made at its first step. */
  private allocate(): void {
    this.buf = new Uint8Array(Math.max(this.chunkSize, 64));
    this.dv = new DataView(this.buf.buffer);
  }

  private readonly sequential: boolean;
  /** Most bytes one step reads (doubles after each step; the buffer's size caps it). */
  readLimit = Infinity;
  /** Read the next chunk while this one is delivered (see CaptureReader.scan). */
  readAhead = false;
  /** With readAhead: read each chunk when it is needed, synchronously from this descriptor (CaptureReader.scan's syncReads). */
  syncFd: number | undefined;
  /** Read-ahead: the chunk being read, into `spare` at AHEAD_ROOM, and the buffer it goes into. */
  private ahead: Promise<number> | undefined;
  private spare: Uint8Array | undefined;
  /** Read-ahead: the buffers taken from the chunk pool, and one of them not in use (after a joined record). */
  private readonly pooled: Uint8Array[] = [];
  private idle: Uint8Array | undefined;

  /** File offset up to which records have been delivered. */
  get position(): number {
    return this.base + this.start;
  }

  /**
   * Continue in `next` and give up the buffer the last step() delivered from: the packets' bytes stay
   * where they were, so the caller may keep that buffer (hand it to another thread) instead of copying
   * them. The part of a record cut at the end of the chunk moves to `next` (a larger buffer is made when
   * `next` is smaller than the current one).
   */
  handOff(next: Uint8Array): Uint8Array {
    if (this.readAhead) throw new UsageError('a read-ahead scan cannot hand its buffer off');
    const old = this.buf;
    const tail = this.fill - this.start;
    const fresh = next.length >= old.length ? next : new Uint8Array(old.length);
    fresh.set(old.subarray(this.start, this.fill));
    this.base += this.start;
    this.fill = tail;
    this.start = 0;
    this.buf = fresh;
    this.dv = new DataView(fresh.buffer, fresh.byteOffset, fresh.byteLength);
    return old;
  }

  /** Read one chunk and deliver its packets. Resolves false when the scan is over. */
  async step(cb: PacketCallback): Promise<boolean> {
    if (this.readAhead) return (await this.loadAhead()) && this.deliver(cb);
    const got = await this.load();
    if (got < 0 || !this.deliver(cb)) return false;
    return got > 0 || this.ended();
  }

  /**
   * The next records into `batch` (it is emptied first), up to its capacity, all from one chunk buffer:
   * the batch form of step(), with no callback per record. The records stay valid until the next nextBatch or
   * step, the next scan or close(). Resolves false when the scan is over (the batch is then empty). A
   * corrupt record after some whole ones: those come in this batch, and the next call throws the error.
   */
  async nextBatch(batch: RecordBatch): Promise<boolean> {
    batch.count = 0;
    batch.linktype = -1;
    if (this.fault !== undefined) {
      const fault = this.fault;
      this.fault = undefined;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the parser threw
      throw fault;
    }
    for (;;) {
      // What is left of the chunk in hand first: a batch ends at the end of a chunk, before the next read
      // reuses the buffer its records lie in.
      if (this.done) return false;
      this.parseInto(batch);
      if (batch.count > 0) return true;
      if (this.readAhead) {
        if (!(await this.loadAhead())) return false;
      } else {
        const got = await this.load();
        if (got < 0) return false;
        if (got === 0) {
          this.parseInto(batch);
          if (batch.count > 0) return true;
          return this.ended();
        }
      }
    }
  }

  /** A fault met after some records of a batch were filled: thrown by the next nextBatch call. */
  private fault: unknown;
  /** The batch the parser's callback fills (parsers without a batch loop of their own). */
  private target: RecordBatch | undefined;
  private readonly toBatch: PacketCallback = (p) => this.target!.push(p);

  /** The records in buf[start, fill) into `batch`; a fault after some records is kept for the next call. */
  private parseInto(batch: RecordBatch): void {
    batch.bytes = this.buf;
    batch.base = this.base;
    const parser = this.parser;
    try {
      if (parser.parseBatch) {
        this.start = parser.parseBatch(this.buf, this.dv, this.start, this.fill, this.base, batch);
      } else {
        this.target = batch;
        this.start = parser.parse(this.buf, this.dv, this.start, this.fill, this.base, this.pkt, this.toBatch);
        // (the callback stops the parser when the batch is full: the scan goes on at the next call)
        parser.stopped = false;
      }
    } catch (err) {
      this.done = true;
      if (batch.count === 0) throw err;
      this.fault = err;
    }
  }

  /**
   * Without read-ahead: move the unparsed tail to the front of the buffer and read after it. Resolves to
   * the bytes read (0 at the end of the input), or -1 when the scan was already over.
   */
  private async load(): Promise<number> {
    if (this.done) return -1;
    if (this.buf === NO_BYTES) this.allocate();
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.fill);
      this.base += this.start;
      this.fill -= this.start;
      this.start = 0;
    }
    const need = this.parser.need;
    if (this.size >= 0 && this.fill > 0 && this.base + need > this.size) {
      // The record in hand is longer than what is left of the file: no point reading on.
      this.truncated(need);
    }
    if (need > this.buf.length) {
      const bigger = new Uint8Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.fill));
      this.buf = bigger;
      this.dv = new DataView(bigger.buffer);
    }
    // (at least the record in hand must fit, whatever the limit)
    const want = Math.max(
      Math.min(this.buf.length - this.fill, this.readLimit),
      Math.min(need - this.fill, this.buf.length - this.fill),
    );
    this.readLimit *= 2;
    const { bytesRead } = await this.fh.read(this.buf, this.fill, want, this.sequential ? null : this.base + this.fill);
    this.fill += bytesRead;
    return bytesRead;
  }

  /** The input ended (a read returned nothing) and its records were parsed: false, or the truncation error. */
  private ended(): boolean {
    this.done = true;
    if (this.start < this.fill) this.truncated(this.parser.need);
    return false;
  }

  /**
   * Read-ahead: the next chunk. Chunks are read into one of two buffers after AHEAD_ROOM bytes of room;
   * the cut record at the end of the chunk just delivered is copied into that room, in front of the new
   * bytes, and the next chunk is read into the other buffer while this one is parsed. (A cut record
   * longer than the room is joined with the new bytes in a buffer of its own.) The two buffers come from
   * the chunk pool, sized to the chunk or to the whole file when that is smaller. Resolves false when the
   * scan is over.
   */
  private async loadAhead(): Promise<boolean> {
    if (this.done) return false;
    this.spare ??= this.freeChunk();
    const at = this.base + this.fill; // file offset of the bytes that come next
    const got =
      this.ahead === undefined && this.syncFd !== undefined
        ? readSync(this.syncFd, this.spare, AHEAD_ROOM, this.aheadRead, at)
        : await (this.ahead ?? this.readInto(this.spare, at));
    if (this.spare === undefined) return false; // (released while the read was in flight: closed mid-step)
    this.ahead = undefined;
    const tail = this.fill - this.start;
    if (got === 0) {
      this.done = true;
      if (tail > 0) this.truncated(this.parser.need);
      return false;
    }
    const old = this.buf;
    if (tail <= AHEAD_ROOM) {
      const next = this.spare;
      next.set(old.subarray(this.start, this.fill), AHEAD_ROOM - tail);
      // The buffer just delivered is free: the chunk after this one is read into it while we parse.
      this.spare = this.pooled.includes(old) ? old : this.freeChunk();
      this.buf = next;
      this.base = at - AHEAD_ROOM;
      this.start = AHEAD_ROOM - tail;
      this.fill = AHEAD_ROOM + got;
    } else {
      // A record longer than the room: joined in a buffer of its own (the spare stays the spare).
      const next = new Uint8Array(tail + got);
      next.set(old.subarray(this.start, this.fill));
      next.set(this.spare.subarray(AHEAD_ROOM, AHEAD_ROOM + got), tail);
      if (this.pooled.includes(old)) this.idle = old;
      this.buf = next;
      this.base = at - tail;
      this.start = 0;
      this.fill = tail + got;
    }
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    if (at + got < this.size && this.syncFd === undefined) {
      const ahead = this.readInto(this.spare, at + got);
      ahead.catch(() => {}); // (raised by the step that awaits it; a scan given up early must not leave it unhandled)
      this.ahead = ahead;
    }
    return true;
  }

  /** Bytes one read-ahead read asks for: the chunk size, or the whole file when it is smaller. */
  private get aheadRead(): number {
    return Math.max(64, Math.min(this.chunkSize, this.size));
  }

  /** A read-ahead buffer not in use: the idle one, else one from the pool (kept to be given back). */
  private freeChunk(): Uint8Array {
    if (this.idle) {
      const buf = this.idle;
      this.idle = undefined;
      return buf;
    }
    const buf = this.chunks.take(AHEAD_ROOM + this.aheadRead);
    this.pooled.push(buf);
    return buf;
  }

  /**
   * The scan is over (its reader closes or scans again): its pool buffers go back for the next scan, the
   * one a read may still be writing into once that read has finished. The scan delivers nothing more.
   * @internal
   */
  release(): void {
    this.done = true;
    this.buf = NO_BYTES;
    this.dv = new DataView(NO_BYTES.buffer);
    this.start = this.fill = 0;
    const pooled = this.pooled.splice(0);
    const busy = this.ahead ? this.spare : undefined;
    const chunks = this.chunks;
    for (const buf of pooled) if (buf !== busy) chunks.giveBack(buf);
    if (busy && pooled.includes(busy)) {
      const back = () => chunks.giveBack(busy);
      this.ahead!.then(back, back);
    }
    this.ahead = this.spare = this.idle = undefined;
  }

  /** Parse the records in buf[start, fill) to `cb`; false when the scan is over (the callback stopped it). */
  private deliver(cb: PacketCallback): boolean {
    try {
      this.start = this.parser.parse(this.buf, this.dv, this.start, this.fill, this.base, this.pkt, cb);
    } catch (err) {
      this.done = true;
      throw err;
    }
    if (this.parser.stopped) {
      this.done = true;
      return false;
    }
    return true;
  }

  private async readInto(into: Uint8Array, at: number): Promise<number> {
    const { bytesRead } = await this.fh.read(into, AHEAD_ROOM, this.aheadRead, at);
    return bytesRead;
  }

  private truncated(need: number): never {
    this.done = true;
    const at = this.base + this.start;
    const have = this.fill - this.start;
    const left = this.size >= 0 ? this.size - at : have;
    throw new InputError(
      `file ends inside a ${this.parser instanceof PcapngParser ? 'block' : 'record'}: it needs ${need} bytes, only ${left} remain (truncated capture)`,
      `${this.path}@${at}`,
    );
  }
}
