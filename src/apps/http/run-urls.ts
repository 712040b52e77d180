/**
 * `bpfkit urls` as one call: builds the pipeline for the mode and engine, feeds it from a capture file
 * (on one thread, or with the flows split over several: sharded-capture.ts) or a live interface, writes
 * the requests to stdout and the summary to stderr. The command line (src/cli/commands/urls.ts) only
 * turns flags into UrlsOptions.
 *
 * Modules load as late as they can, and together: shard threads start first so their booting overlaps
 * ours, and the VM is fetched in the same breath as the pipeline.
 */
import { statSync } from 'node:fs';
import type { ShardedCapture } from './sharded-capture.js';
import type { Mode, EngineChoice } from './build-pipeline.js';
import type { VmExecution } from '../../engine/options.js';
import type { UrlPipeline, UrlSummary } from './pipeline.js';
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
  /** full mode on a file: split the flows over this many threads (1: everything on this one) */
  threads: number;
  /** full mode: report HTTP over UDP (SSDP) too; otherwise such datagrams are counted as skipped */
  udp?: boolean;
  /** no summary on stderr */
  quiet: boolean;
  /**
   * a pcap-filter(7) expression: only the packets it keeps are analysed (a file: tested on each record as
   * it is read; live: run in the kernel in front of the URL filter, see live-front-filter.ts)
   */
  filter?: string;
}

/** Run `bpfkit urls`; resolves to the exit status. SIGINT ends the run cleanly (summary included). */
export async function runUrls(o: UrlsOptions): Promise<number> {
  const { file, iface } = o;
  const sharded = file !== undefined && !iface && o.mode === 'full' && o.threads > 1;
  const vmHere = o.engine === 'vm';
  // (The VM is fetched in the same breath when this thread loads a filter into it, sharded or not: the
  // main thread runs shard 0. Node reads the files of all these modules concurrently instead of one
  // import after another. The filter's object comes parsed from its cache, filter-spec-cache.ts: the ELF
  // parser loads only when that is stale.)
  const [
    { formatSummary },
    { jsonLine, textLine, TS_EXACT_BELOW },
    { ProgressBar, readCaptureInto },
    { buildPipeline },
    shardMod,
  ] = await Promise.all([
    import('./pipeline.js'),
    import('./record.js'),
    import('./capture-source.js'),
    import('./build-pipeline.js'),
    sharded ? import('./sharded-capture.js') : undefined,
    vmHere ? import('../../vm/collection.js') : undefined,
    vmHere ? import('../../loader/node-host.js') : undefined,
  ]);

  // (a bad expression fails here, before any file is read or socket opened)
  const keep =
    o.filter !== undefined ? (await import('../../packet/record-filter.js')).packetFilter(o.filter) : undefined;
  const out = new OutputBuffer();
  // (text: the classic line written word by word, not built as a string first: a hundred thousand
  // requests a second make that garbage show)
  // (JSON: a time past what `ts` holds to the microsecond is said once, on stderr: TS_EXACT_BELOW)
  let farTimeNoted = false;
  const onRecord =
    o.format === 'json'
      ? (r: UrlRecord) => {
          if (r.ts >= TS_EXACT_BELOW && !farTimeNoted) {
            farTimeNoted = true;
            process.stderr.write(
              `bpfkit urls: note: capture times from 2^32 s (year 2106) on: JSON ts is the nearest a double holds, not exact to the microsecond\n`,
            );
          }
          out.line(jsonLine(r));
        }
      : (r: UrlRecord) => (r.truncated || r.malformed ? out.line(textLine(r)) : out.words(r.method, r.uri, r.version));
  const onText = (line: string) => out.line(line);
  // The shard threads start first: their booting overlaps the rest of ours.
  const shards: ShardedCapture | undefined = shardMod
    ? new shardMod.ShardedCapture(
        {
          shards: o.threads,
          engine: o.engine === 'vm' ? 'vm' : 'none',
          ...(o.vmEngine ? { vmEngine: o.vmEngine } : {}),
          format: o.format,
          maxLine: o.maxLine,
          maxFlows: o.maxFlows,
          idleTimeoutSec: o.idleTimeoutSec,
          maxMemory: o.maxMemory ?? DEFAULT_MAX_MEMORY,
        },
        onText,
      )
    : undefined;

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
  let status = 0;
  let summarised = false;
  const summary = (s: UrlSummary) => {
    if (summarised) return;
    summarised = true;
    if (!o.quiet) process.stderr.write(formatSummary(s));
    // Never a silent zero: frames that could not be decoded are said, even with --quiet, and fail the run.
    if (s.warning !== undefined) {
      process.stderr.write(`bpfkit urls: warning: ${s.warning}\n`);
      status = 1;
    }
  };

  if (shards) {
    const bar = new ProgressBar(fileSize(file!), process.stderr.isTTY === true);
    try {
      try {
        await shards.read(file!, { shouldStop, onProgress: (b) => bar.update(b), ...(keep ? { keep } : {}) });
      } finally {
        // A malformed capture still prints every request found before the fault.
        bar.done();
        const s = await shards.finish();
        out.flush();
        summary(s);
      }
    } finally {
      process.off('SIGINT', onSigint);
      await shards.close();
      out.flush();
    }
    return status;
  }

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
  });
  const pipeline: UrlPipeline = built.pipeline;
  try {
    if (iface) {
      const { captureLive } = await import('./live.js');
      // Like tcpdump's "listening on": the moment from which traffic on the interface is seen.
      const onListening = () => {
        if (!o.quiet) process.stderr.write(`bpfkit urls: listening on ${iface}, ${o.mode} mode\n`);
      };
      const drops = await captureLive(iface, built, {
        count: o.count,
        shouldStop,
        onListening,
        ...(o.filter !== undefined ? { filter: o.filter } : {}),
      });
      pipeline.finish();
      out.flush();
      const s = pipeline.summary();
      s.kernelDrops += drops;
      summary(s);
    } else if (file !== undefined) {
      try {
        await readCaptureInto(file, pipeline, {
          shouldStop,
          progress: process.stderr.isTTY === true,
          ...(keep ? { keep } : {}),
        });
      } finally {
        // A malformed capture still prints every request found before the fault.
        pipeline.finish();
        out.flush();
        summary(pipeline.summary());
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    built.close();
    out.flush();
  }
  return status;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // the reader reports the real error
  }
}
