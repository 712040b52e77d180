/**
 * Feeds a capture file (pcap or pcapng, via the packet module's streaming reader) into a URL pipeline,
 * with an optional progress bar on stderr. Stops early when asked (SIGINT). A malformed file raises the
 * reader's InputError after every packet before the fault went through the pipeline.
 */
import { openCapture } from '../../packet/capture-reader.js';
import type { PacketRef } from '../../packet/packet.js';
import type { UrlPipeline } from './pipeline.js';
import type { FullPipeline } from './full-pipeline.js';

/** Options of `readCaptureInto`. */
export interface ReadOptions {
  /** Polled between chunks: true stops the read early (SIGINT). */
  shouldStop?: () => boolean;
  /** draw a progress bar on stderr (when it is a terminal and the file is large) */
  progress?: boolean;
  /** only the packets this keeps go to the pipeline (`--filter EXPR`) */
  keep?: (p: PacketRef) => boolean;
}

const PROGRESS_MIN_BYTES = 64 << 20;

/**
 * Bytes per read. Smaller than the reader's default: a read-ahead scan keeps two chunks, and every page of
 * them is a page fault the first time it is filled (~10 us each on a virtual machine: 4 MiB chunks cost
 * ~50 ms of CPU on a 150 MB capture for the faults alone), while 1 MiB reads are still few enough that
 * their own cost does not show.
 */
const CHUNK_SIZE = 1 << 20;

/** A progress bar on stderr for a file of `size` bytes (nothing for small files or when not wanted). */
export class ProgressBar {
  private lastDrawn = -1;
  private readonly show: boolean;
  constructor(
    private readonly size: number,
    wanted: boolean,
  ) {
    this.show = wanted && size >= PROGRESS_MIN_BYTES;
  }
  update(bytesDone: number): void {
    if (!this.show) return;
    const pct = Math.min(100, Math.floor((bytesDone / this.size) * 100));
    if (pct === this.lastDrawn) return;
    this.lastDrawn = pct;
    const width = 40;
    const fill = Math.round((pct / 100) * width);
    process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}%`);
  }
  done(): void {
    if (this.show) process.stderr.write('\r\x1b[K');
  }
}

/** Feed every packet of a pcap or pcapng file into a pipeline, then finish it. */
export async function readCaptureInto(path: string, pipeline: UrlPipeline, opts: ReadOptions = {}): Promise<void> {
  const reader = await openCapture(path, { chunkSize: CHUNK_SIZE });
  const bar = new ProgressBar(reader.size, opts.progress === true);
  let bytesDone = 0;
  try {
    const scan = reader.scan({ readAhead: true });
    let stopped = false;
    const keep = opts.keep;
    const cb = (p: PacketRef) => {
      if (keep === undefined || keep(p)) pipeline.packet(p);
      bytesDone += p.caplen + 16;
    };
    // A step delivers the frames of one chunk, which the reader writes no more until its next step (its
    // read-ahead fills the other buffer): a full-mode pipeline is told, so its filter may copy ahead.
    const chunks = chunked(pipeline) ? pipeline : undefined;
    const step = async (): Promise<boolean> => {
      if (chunks === undefined) return scan.step(cb);
      chunks.beginChunk();
      try {
        return await scan.step(cb);
      } finally {
        chunks.endChunk();
      }
    };
    while (!stopped && (await step())) {
      if (opts.shouldStop?.()) stopped = true;
      bar.update(bytesDone);
    }
  } finally {
    bar.done();
    await reader.close();
  }
}

/** A pipeline that takes the chunk a file's frames lie in into account (full mode's: FullPipeline). */
function chunked(p: UrlPipeline): p is UrlPipeline & Pick<FullPipeline, 'beginChunk' | 'endChunk'> {
  return 'beginChunk' in p && 'endChunk' in p;
}
