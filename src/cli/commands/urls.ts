/**
 * `bpfkit urls [FILE | -i IFACE] [--mode v1|v2|full] [--engine vm|kernel] [--format text|json]`:
 * print the HTTP requests in a capture or crossing an interface. See docs/urls.md.
 */
import { parseFlags, intFlag } from '../args.js';
import { UsageError } from '../../util/errors.js';
import type { UrlPipeline } from '../../apps/http/pipeline.js';
import type { UrlRecord } from '../../apps/http/record.js';
import { FilterThread, RemoteFilter } from '../../apps/http/threaded-capture.js';
import type { FullPipeline } from '../../apps/http/full-pipeline.js';
import type { Mode, EngineChoice } from '../../apps/http/build-pipeline.js';
import { statSync } from 'node:fs';

const HELP = `usage: bpfkit urls [FILE | -i IFACE] [options]

Print every HTTP request in a capture file (pcap/pcapng) or crossing an interface.

  -i, --interface IFACE   capture live (root): AF_PACKET socket with the eBPF filter in the kernel
  --mode full|v1|v2       full (default): TCP reassembly, every method, IPv6, VLAN, pairing with responses;
                          v1/v2: the classic eBPF URL filter design, losses included (docs/urls.md)
  --engine vm|kernel|none where the eBPF filter runs: vm (default for files), kernel (default for -i;
                          on a file: BPF_PROG_TEST_RUN per packet), none (full mode without a filter),
                          js (v1/v2: the filters' TypeScript twin, for comparison)
  --format text|json      text: "GET /path HTTP/1.1" per request; json: one object per line
  --max-line N            longest request line kept whole (default 65536); longer: reported truncated
  --max-flows N           most TCP flows tracked at once (default 262144)
  --idle-timeout SEC      close flows idle this long, in capture time (default 120)
  --threads 1|2           full mode, VM engine, file: 2 runs the eBPF filter on a second thread, a few
                          chunks ahead of reassembly (session deletes reach it later, so it may keep
                          more); 1 (default) keeps everything on one thread
  -c, --count N           live: stop after N packets
  -q, --quiet             no summary on stderr
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    interface: { type: 'string', short: 'i' },
    mode: { type: 'string' },
    engine: { type: 'string' },
    format: { type: 'string' },
    'max-line': { type: 'string' },
    'max-flows': { type: 'string' },
    'idle-timeout': { type: 'string' },
    threads: { type: 'string' },
    count: { type: 'string', short: 'c' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (help) {
    process.stdout.write(HELP);
    return 0;
  }
  const mode = (values.mode ?? 'full') as Mode;
  if (!['full', 'v1', 'v2'].includes(mode)) throw new UsageError(`--mode must be full, v1 or v2, not '${values.mode}'`);
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not '${format}'`);
  const iface = values.interface;
  if (iface && positionals.length > 0) throw new UsageError('give a capture FILE or -i IFACE, not both');
  if (!iface && positionals.length !== 1) throw new UsageError('give one capture FILE or -i IFACE (see bpfkit urls --help)');
  const engine = (values.engine ?? (iface ? 'kernel' : 'vm')) as EngineChoice;
  if (!['vm', 'kernel', 'none', 'js'].includes(engine)) throw new UsageError(`--engine must be vm, kernel or none, not '${values.engine}'`);
  if (engine === 'none' && mode !== 'full') throw new UsageError('--engine none is only for --mode full (v1/v2 are defined by their filter)');
  if (engine === 'js' && mode === 'full') throw new UsageError('--engine js (the TypeScript twin of the classic filters) is only for --mode v1/v2');
  const maxLine = intFlag('max-line', values['max-line'], 65536, 16);
  const maxFlows = intFlag('max-flows', values['max-flows'], 262144, 1);
  const idleTimeoutSec = intFlag('idle-timeout', values['idle-timeout'], 120, 1);
  const count = intFlag('count', values.count, 0);
  const threads = intFlag('threads', values.threads, 1, 1);
  if (threads > 2) throw new UsageError(`--threads must be 1 or 2, not ${threads}`);
  if (threads === 2 && (iface || mode !== 'full' || engine !== 'vm')) throw new UsageError('--threads 2 is for --mode full with --engine vm on a capture file');
  // The filter thread starts first: its module loading and filter setup overlap ours.
  const filterThread = !iface && mode === 'full' && engine === 'vm' && threads === 2 ? new FilterThread(positionals[0]!) : undefined;
  const remoteFilter = filterThread ? new RemoteFilter() : undefined;
  // The rest is loaded only now, while the filter thread boots.
  // (The object parser and the VM are fetched in the same breath when this thread loads a filter into
  // the VM: node reads the files of all these modules concurrently instead of one import after another.)
  const vmHere = engine === 'vm' && !filterThread;
  const [{ formatSummary }, { jsonLine, textLine }, { ProgressBar, readCaptureInto }, { buildPipeline }] = await Promise.all([
    import('../../apps/http/pipeline.js'),
    import('../../apps/http/record.js'),
    import('../../apps/http/capture-source.js'),
    import('../../apps/http/build-pipeline.js'),
    vmHere ? import('../../elf/index.js') : undefined,
    vmHere ? import('../../vm/collection.js') : undefined,
    vmHere ? import('../../engine/load.js') : undefined,
  ]);

  const out = new OutputBuffer();
  // (text: the classic line written word by word, not built as a string first: a hundred thousand
  // requests a second make that garbage show)
  const onRecord =
    format === 'json' ? (r: UrlRecord) => out.line(jsonLine(r)) : (r: UrlRecord) => (r.truncated ? out.line(textLine(r)) : out.words(r.method, r.uri, r.version));
  const onText = (line: string) => out.line(line);

  // Installed before anything is loaded: SIGINT ends the run cleanly (summary, every request found so
  // far) instead of the kernel module's default handler closing sockets under our feet.
  let stop = false;
  const onSigint = () => {
    stop = true;
  };
  process.on('SIGINT', onSigint);
  const built = await buildPipeline({
    mode,
    engine,
    live: iface !== undefined,
    immediate: format === 'text',
    limits: { maxLine, maxHeaderLine: 16384 },
    maxFlows,
    idleTimeoutSec,
    onRecord,
    onText,
    ...(remoteFilter ? { remoteFilter } : {}),
  });
  const pipeline: UrlPipeline = built.pipeline;
  let summarised = false;
  const summary = (extraDrops = 0) => {
    if (summarised || values.quiet) return;
    summarised = true;
    const s = pipeline.summary();
    s.kernelDrops += extraDrops;
    process.stderr.write(formatSummary(s));
  };

  try {
    if (iface) {
      const { captureLive } = await import('../../apps/http/live.js');
      // Like tcpdump's "listening on": the moment from which traffic on the interface is seen.
      const onListening = () => {
        if (!values.quiet) process.stderr.write(`bpfkit urls: listening on ${iface}, ${mode} mode\n`);
      };
      const drops = await captureLive(iface, built, { count, shouldStop: () => stop, onListening });
      pipeline.finish();
      out.flush();
      summary(drops);
    } else {
      try {
        if (filterThread) {
          const bar = new ProgressBar(fileSize(positionals[0]!), process.stderr.isTTY === true);
          try {
            await filterThread.run(pipeline as FullPipeline, remoteFilter!, { shouldStop: () => stop, onProgress: (b) => bar.update(b) });
          } finally {
            bar.done();
          }
        } else await readCaptureInto(positionals[0]!, pipeline, { shouldStop: () => stop, progress: process.stderr.isTTY === true });
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
  return 0;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // the filter thread reports the real error
  }
}

/**
 * Batches output lines into large writes (one write per line would dominate the run time). Lines are
 * encoded straight into one reused buffer: every string here is latin1 (decoded from the wire as such,
 * or JSON, which is ASCII).
 */
class OutputBuffer {
  private readonly buf = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  line(s: string): void {
    if (this.used + s.length + 1 > this.buf.length) {
      this.flush();
      if (s.length + 1 > this.buf.length) return writeAllSync(Buffer.from(s + '\n', 'latin1'));
    }
    this.used += this.buf.write(s, this.used, 'latin1');
    this.buf[this.used++] = 10;
  }
  /** The line "a b c". */
  words(a: string, b: string, c: string): void {
    const n = a.length + b.length + c.length + 3;
    if (this.used + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) return this.line(`${a} ${b} ${c}`);
    }
    const buf = this.buf;
    let at = this.used;
    at += buf.write(a, at, 'latin1');
    buf[at++] = 32;
    at += buf.write(b, at, 'latin1');
    buf[at++] = 32;
    at += buf.write(c, at, 'latin1');
    buf[at++] = 10;
    this.used = at;
  }
  flush(): void {
    if (this.used === 0) return;
    writeAllSync(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

import { writeSync } from 'node:fs';
function writeAllSync(buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EAGAIN') continue;
      if (e.code === 'EPIPE') return; // reader went away (| head): stop quietly
      throw err;
    }
  }
}
