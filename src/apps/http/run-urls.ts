/**
 * `bpfkit urls` as one call: builds the pipeline for the mode and engine, feeds it from a capture file
 * (on one thread, or with the filter on a second) or a live interface, writes the requests to stdout and
 * the summary to stderr. The command line (src/cli/commands/urls.ts) only turns flags into UrlsOptions.
 *
 * Modules load as late as they can, and together: the filter thread starts first so its booting
 * overlaps ours, and the object parser and VM are fetched in the same breath as the pipeline.
 */
import { statSync } from 'node:fs';
import { FilterThread, RemoteFilter } from './threaded-capture.js';
import type { FullPipeline } from './full-pipeline.js';
import type { Mode, EngineChoice } from './build-pipeline.js';
import type { VmExecution } from '../../engine/options.js';
import type { UrlPipeline } from './pipeline.js';
import type { UrlRecord } from './record.js';
import { OutputBuffer } from './output-buffer.js';
import { heapValve } from './heap-valve.js';
import { DEFAULT_MAX_MEMORY, heapLimit } from '../../packet/flow/memory-budget.js';

/** One run of `bpfkit urls`: a capture `file` or a live `iface` (one of the two). */
export interface UrlsOptions {
  /** capture file (pcap or pcapng) to read */
  file?: string;
  /** interface to capture on live (root; the filter runs in the kernel) */
  iface?: string;
  mode: Mode;
  engine: EngineChoice;
  /** The VM's engine when `engine` is 'vm' (default: the VM's default). */
  vmEngine?: VmExecution;
  /** text: the request line per request, at once; json: one object per request, with its response */
  format: 'text' | 'json';
  /** longest request line kept whole */
  maxLine: number;
  /** most TCP flows tracked at once */
  maxFlows: number;
  /** close flows idle this long, in capture time */
  idleTimeoutSec: number;
  /** full mode: memory budget in bytes for flows, buffered segments, waiting requests and fragments */
  maxMemory?: number;
  /** live: stop after this many packets (0: no limit) */
  count: number;
  /** 2: full mode in the VM on a file runs the filter on a second thread */
  threads: 1 | 2;
  /** full mode: report HTTP over UDP (SSDP) too; otherwise such datagrams are counted as skipped */
  udp?: boolean;
  /** no summary on stderr */
  quiet: boolean;
}

/** Run `bpfkit urls`; resolves to the exit status. SIGINT ends the run cleanly (summary included). */
export async function runUrls(o: UrlsOptions): Promise<number> {
  const { file, iface } = o;
  // The filter thread starts first: its module loading and filter setup overlap ours.
  const filterThread =
    file !== undefined && !iface && o.mode === 'full' && o.engine === 'vm' && o.threads === 2
      ? new FilterThread(file)
      : undefined;
  const remoteFilter = filterThread ? new RemoteFilter() : undefined;
  // The rest is loaded only now, while the filter thread boots.
  // (The object parser and the VM are fetched in the same breath when this thread loads a filter into
  // the VM: node reads the files of all these modules concurrently instead of one import after another.)
  const vmHere = o.engine === 'vm' && !filterThread;
  const [{ formatSummary }, { jsonLine, textLine }, { ProgressBar, readCaptureInto }, { buildPipeline }] =
    await Promise.all([
      import('./pipeline.js'),
      import('./record.js'),
      import('./capture-source.js'),
      import('./build-pipeline.js'),
      vmHere ? import('../../elf/index.js') : undefined,
      vmHere ? import('../../vm/collection.js') : undefined,
      vmHere ? import('../../loader/index.js') : undefined,
    ]);

  const out = new OutputBuffer();
  // (text: the classic line written word by word, not built as a string first: a hundred thousand
  // requests a second make that garbage show)
  const onRecord =
    o.format === 'json'
      ? (r: UrlRecord) => out.line(jsonLine(r))
      : (r: UrlRecord) => (r.truncated || r.malformed ? out.line(textLine(r)) : out.words(r.method, r.uri, r.version));
  const onText = (line: string) => out.line(line);

  // Installed before anything is loaded: SIGINT ends the run cleanly (summary, every request found so
  // far) instead of the kernel module's default handler closing sockets under our feet.
  let stop = false;
  // Full mode: the heap is held to the memory budget (heap-valve.ts), checked between chunks of input.
  const valve = o.mode === 'full' ? heapValve(heapLimit(o.maxMemory ?? DEFAULT_MAX_MEMORY)) : undefined;
  const shouldStop = () => {
    valve?.check();
    return stop;
  };
  const onSigint = () => {
    stop = true;
  };
  process.on('SIGINT', onSigint);
  const built = await buildPipeline({
    mode: o.mode,
    engine: o.engine,
    ...(o.vmEngine ? { vmEngine: o.vmEngine } : {}),
    live: iface !== undefined,
    immediate: o.format === 'text',
    limits: { maxLine: o.maxLine, maxHeaderLine: 16384 },
    maxFlows: o.maxFlows,
    idleTimeoutSec: o.idleTimeoutSec,
    ...(o.maxMemory !== undefined ? { maxMemory: o.maxMemory } : {}),
    ...(valve ? { onPoll: () => valve.check() } : {}),
    onRecord,
    onText,
    ...(o.udp ? { udp: true } : {}),
    ...(remoteFilter ? { remoteFilter } : {}),
  });
  const pipeline: UrlPipeline = built.pipeline;
  let summarised = false;
  let status = 0;
  const summary = (extraDrops = 0) => {
    if (summarised) return;
    summarised = true;
    const s = pipeline.summary();
    s.kernelDrops += extraDrops;
    if (!o.quiet) process.stderr.write(formatSummary(s));
    // Never a silent zero: frames that could not be decoded are said, even with --quiet, and fail the run.
    if (s.warning !== undefined) {
      process.stderr.write(`bpfkit urls: warning: ${s.warning}\n`);
      status = 1;
    }
  };

  try {
    if (iface) {
      const { captureLive } = await import('./live.js');
      // Like tcpdump's "listening on": the moment from which traffic on the interface is seen.
      const onListening = () => {
        if (!o.quiet) process.stderr.write(`bpfkit urls: listening on ${iface}, ${o.mode} mode\n`);
      };
      const drops = await captureLive(iface, built, { count: o.count, shouldStop, onListening });
      pipeline.finish();
      out.flush();
      summary(drops);
    } else if (file !== undefined) {
      try {
        if (filterThread) {
          const bar = new ProgressBar(fileSize(file), process.stderr.isTTY === true);
          try {
            await filterThread.run(pipeline as FullPipeline, remoteFilter!, {
              shouldStop,
              onProgress: (b) => bar.update(b),
            });
          } finally {
            bar.done();
          }
        } else await readCaptureInto(file, pipeline, { shouldStop, progress: process.stderr.isTTY === true });
      } finally {
        // A malformed capture still prints every request found before the fault.
        pipeline.finish();
        out.flush();
        summary();
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    built.close();
    await filterThread?.close();
    out.flush();
  }
  return status;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // the filter thread reports the real error
  }
}
