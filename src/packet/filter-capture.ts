/**
 * Copy the records of a capture that a verdict keeps to another file, byte for byte, in the input's own
 * format (pcap or pcapng; gzip or zstd input is decompressed, the output is not): the work of
 * `tcpdump -r IN -w OUT EXPR`, streamed. The input is read in 1 MiB chunks; the records of a chunk are
 * judged, the kept ones written straight from the chunk (one gathered write per chunk, runs of kept
 * records as single pieces), and the record cut at the chunk's end moves to the front before the next
 * read. Memory stays at one chunk whatever the file's size; only a single record larger than a chunk
 * grows it (bounded by MAX_RECORD_LEN). A plain file is read and written with synchronous calls, as
 * tcpdump does: a read ahead on another thread gained nothing measurable here, and the promise per read
 * cost more than the copy.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, writevSync } from 'node:fs';
import { EnvironmentError, InputError, UsageError } from '../util/errors.js';
import { captureFormatOf, compressionOf } from './capture-format.js';
import { RecordSplitter, type RecordVerdict } from './record-splitter.js';

/** Bytes per read. */
const CHUNK = 1 << 20;

/** What `filterCaptureFile` did. */
export interface FilterCounts {
  /** packet records read */
  read: number;
  /** packet records written */
  kept: number;
}

/** Reads of the input: into `buf` at `at`, up to `length` bytes; 0 at the end. */
type ReadFn = (buf: Uint8Array, at: number, length: number) => number | Promise<number>;

/**
 * Write to `outPath` the records of `inPath` that `verdictFor(linktype)` keeps, with every non-packet
 * record (see record-splitter.ts). A fault in the input (InputError with the offset, in decompressed
 * bytes for a compressed file) is raised after every record before it was written.
 */
export async function filterCaptureFile(
  inPath: string,
  outPath: string,
  verdictFor: (linktype: number) => RecordVerdict,
): Promise<FilterCounts> {
  let fd: number;
  try {
    fd = openSync(inPath, 'r');
  } catch (e) {
    throw new InputError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, inPath);
  }
  // open(2) gives a directory a descriptor; only its first read would fail.
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new InputError('cannot read: EISDIR', inPath);
  }
  let close = () => closeSync(fd);
  try {
    const head = new Uint8Array(4);
    const kind = readSync(fd, head, 0, 4, 0) === 4 ? compressionOf(head) : undefined;
    let read: ReadFn = (buf, at, length) => readSync(fd, buf, at, length, null);
    if (kind) {
      closeSync(fd);
      close = () => {};
      // (zlib and the zstd decoder load only for a compressed file)
      const { decompressedSource } = await import('./decompressed-source.js');
      const src = decompressedSource(inPath, kind);
      close = () => void src.close();
      read = async (buf, at, length) => (await src.read(buf, at, length, null)).bytesRead;
    }
    if (sameFile(fd, outPath)) throw new UsageError(`OUT is IN (${outPath}): it would be emptied before it is read`);
    let out: number;
    try {
      out = openSync(outPath, 'w');
    } catch (e) {
      throw new EnvironmentError(`cannot write ${outPath}: ${(e as Error).message}`);
    }
    try {
      return await pump(inPath, read, out, outPath, verdictFor);
    } finally {
      closeSync(out);
    }
  } finally {
    close();
  }
}

async function pump(
  path: string,
  read: ReadFn,
  out: number,
  outPath: string,
  verdictFor: (linktype: number) => RecordVerdict,
): Promise<FilterCounts> {
  let buf = new Uint8Array(CHUNK);
  let fill = await readFull(read, buf, 0, buf.length);
  if (fill < 4) throw new InputError('not a pcap or pcapng file (too short)', `${path}@0`);
  const format = captureFormatOf(buf.subarray(0, 4));
  if (format === 'snoop') throw new InputError('a snoop file: pcap filter reads pcap and pcapng', `${path}@0`);
  if (!format) throw new InputError('not a pcap or pcapng file (unknown magic)', `${path}@0`);
  const splitter = new RecordSplitter(path, format, verdictFor);
  let base = 0; // stream offset of buf[0]
  const runs: number[] = [];
  for (;;) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    runs.length = 0;
    const pos = splitter.split(buf, dv, 0, fill, base, runs);
    if (runs.length > 0) writeAll(out, slices(buf, runs), outPath);
    // The cut record moves to the front (into a larger buffer when it does not fit one), then the next read.
    const tail = fill - pos;
    if (splitter.need > buf.length) {
      const bigger = new Uint8Array(splitter.need);
      bigger.set(buf.subarray(pos, fill));
      buf = bigger;
    } else buf.copyWithin(0, pos, fill);
    base += pos;
    const got = await readFull(read, buf, tail, buf.length - tail);
    fill = tail + got;
    if (got === 0) {
      if (tail > 0) splitter.truncated(base, tail);
      return { read: splitter.read, kept: splitter.kept };
    }
  }
}

/** Whether `path` names the file open as `fd` (OUT given as IN would be truncated before it is read). */
function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false; // (OUT does not exist yet)
  }
}

/** Read until `length` bytes are in or the input ends (a pipe or a decompressor gives what it has). */
async function readFull(read: ReadFn, into: Uint8Array, at: number, length: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const n = await read(into, at + got, length - got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** One gathered write of the ranges, retried after a short write. */
function writeAll(out: number, parts: Uint8Array[], outPath: string): void {
  try {
    let i = 0;
    while (i < parts.length) {
      let n = writevSync(out, i === 0 ? parts : parts.slice(i));
      // (a short write: drop what went out and go on with the rest)
      while (i < parts.length && n >= parts[i]!.length) n -= parts[i++]!.length;
      if (i < parts.length && n > 0) parts[i] = parts[i]!.subarray(n);
    }
  } catch (e) {
    throw new EnvironmentError(`cannot write ${outPath}: ${(e as Error).message}`);
  }
}

/** The ranges of `buf` listed in `runs` (start, end pairs), as views. */
function slices(buf: Uint8Array, runs: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < runs.length; i += 2) out.push(buf.subarray(runs[i], runs[i + 1]));
  return out;
}
