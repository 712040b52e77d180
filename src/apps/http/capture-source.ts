/**
 * Feeds a capture file (pcap or pcapng, via the packet module's streaming reader) into a URL pipeline,
 * with an optional progress bar on stderr. Stops early when asked (SIGINT). A malformed file raises the
 * reader's InputError after every packet before the fault went through the pipeline.
 */
import { openCapture } from '../../packet/capture-reader.js';
import type { UrlPipeline } from './pipeline.js';

export interface ReadOptions {
  shouldStop?: () => boolean;
  /** draw a progress bar on stderr (when it is a terminal and the file is large) */
  progress?: boolean;
}

const PROGRESS_MIN_BYTES = 64 << 20;

export async function readCaptureInto(path: string, pipeline: UrlPipeline, opts: ReadOptions = {}): Promise<void> {
  const reader = await openCapture(path);
  const showProgress = opts.progress === true && reader.size >= PROGRESS_MIN_BYTES;
  let bytesDone = 0;
  let lastDrawn = -1;
  try {
    const scan = reader.scan();
    let stopped = false;
    const cb = (p: { bytes: Uint8Array; offset: number; caplen: number; linktype: number; tsSec: number; tsNsec: number }) => {
      pipeline.packet(p.bytes, p.offset, p.caplen, p.linktype, p.tsSec + p.tsNsec / 1e9);
      bytesDone += p.caplen + 16;
    };
    while (!stopped && (await scan.step(cb))) {
      if (opts.shouldStop?.()) stopped = true;
      if (showProgress) {
        const pct = Math.min(100, Math.floor((bytesDone / reader.size) * 100));
        if (pct !== lastDrawn) {
          lastDrawn = pct;
          const width = 40;
          const fill = Math.round((pct / 100) * width);
          process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}%`);
        }
      }
    }
  } finally {
    if (showProgress) process.stderr.write('\r\x1b[K');
    await reader.close();
  }
}
