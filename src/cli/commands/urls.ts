/**
 * `bpfkit urls [FILE | -i IFACE] [--mode v1|v2|full] [--engine vm|kernel] [--format text|json]`:
 * print the HTTP requests in a capture or crossing an interface. See docs/urls.md. The flags become
 * UrlsOptions; runUrls (src/apps/http/run-urls.ts) does the rest, `--filter EXPR` included.
 */
import { parseFlags, intFlag } from '../args.js';
import { UsageError } from '../../util/errors.js';
import { runUrls } from '../../apps/http/run-urls.js';
import { vmEngineFlag } from '../vm-engine-flag.js';
import type { Mode, EngineChoice } from '../../apps/http/build-pipeline.js';

const HELP = `usage: bpfkit urls [FILE | -i IFACE] [options]

Print every HTTP request in a capture file (pcap/pcapng) or crossing an interface.

  -i, --interface IFACE   capture live (root): AF_PACKET socket with the eBPF filter in the kernel
  --mode full|v1|v2       full (default): TCP reassembly, every method, IPv6, VLAN, pairing with responses;
                          v1/v2: the classic eBPF URL filter design, losses included (docs/urls.md)
  --engine vm|kernel|none where the eBPF filter runs: vm (default for files), kernel (default for -i;
                          on a file: BPF_PROG_TEST_RUN per packet), none (full mode without a filter),
                          js (v1/v2: the filters' TypeScript twin, for comparison)
  --vm-engine E           the VM's engine with --engine vm: wasm, jit, interpreter (default: wasm for filters it runs faster, else jit)
  --format text|json      text: "GET /path HTTP/1.1" per request; json: one object per line
  --max-line N            full mode: longest request line kept whole (default 65536); longer: reported truncated
  --max-flows N           full mode: most TCP flows tracked at once (default 262144)
  --idle-timeout SEC      full mode: close flows idle this long, in capture time (default 120)
  --max-memory MB         full mode: memory for flows, out-of-order segments, requests waiting for a
                          response and IP fragments (default 256); what it costs is counted in the summary
  --threads N             full mode, file: split the flows (by address pair) over N threads, each with
                          its own filter and analyzer; the output is merged back into one thread's
                          order (default 1: everything on this thread)
  --filter EXPR           only the packets the pcap-filter(7) expression keeps reach the URL filter and
                          the analyzer. File: each record is tested as it is read (as tcpdump -r FILE
                          EXPR), by the classic BPF program compiled to JavaScript per link type. Live:
                          the expression runs in the kernel as eBPF in front of the URL filter (a tail
                          call), so what it refuses never leaves the kernel. A bad expression: one line
                          with the column, exit 2
  --udp                   full mode, capture file: also report HTTP over UDP (SSDP's M-SEARCH and NOTIFY,
                          one request per datagram); without it they are counted as skipped
  -c, --count N           live (-i): stop after N packets
  -q, --quiet             no summary on stderr
`;

/** Most shard threads `--threads` takes (each holds a VM and an analyzer: ~30 MB). */
const MAX_THREADS = 64;

/** The `urls` command: parse and check the flags, then run. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    interface: { type: 'string', short: 'i' },
    mode: { type: 'string' },
    engine: { type: 'string' },
    'vm-engine': { type: 'string' },
    format: { type: 'string' },
    'max-line': { type: 'string' },
    'max-flows': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'max-memory': { type: 'string' },
    threads: { type: 'string' },
    count: { type: 'string', short: 'c' },
    quiet: { type: 'boolean', short: 'q' },
    filter: { type: 'string' },
    udp: { type: 'boolean' },
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
  if (!iface && positionals.length !== 1)
    throw new UsageError('give one capture FILE or -i IFACE (see bpfkit urls --help)');
  const engine = (values.engine ?? (iface ? 'kernel' : 'vm')) as EngineChoice;
  if (!['vm', 'kernel', 'none', 'js'].includes(engine))
    throw new UsageError(`--engine must be vm, kernel or none, not '${values.engine}'`);
  if (engine === 'none' && mode !== 'full')
    throw new UsageError('--engine none is only for --mode full (v1/v2 are defined by their filter)');
  if (engine === 'js' && mode === 'full')
    throw new UsageError('--engine js (the TypeScript twin of the classic filters) is only for --mode v1/v2');
  // The classic modes keep no flows, no request buffer and no memory budget: these flags would be ignored.
  if (mode !== 'full')
    for (const flag of ['max-line', 'max-flows', 'idle-timeout', 'max-memory'] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for --mode full (v1/v2 have no such limit)`);
  if (values.count !== undefined && !iface)
    throw new UsageError('--count is for -i (live capture); a capture file is read to its end');
  const maxLine = intFlag('max-line', values['max-line'], 65536, 16);
  const maxFlows = intFlag('max-flows', values['max-flows'], 262144, 1);
  const idleTimeoutSec = intFlag('idle-timeout', values['idle-timeout'], 120, 1);
  const maxMemoryMb = intFlag('max-memory', values['max-memory'], 256, 1);
  const count = intFlag('count', values.count, 0);
  const threads = intFlag('threads', values.threads, 1, 1);
  if (threads > MAX_THREADS) throw new UsageError(`--threads must be 1 to ${MAX_THREADS}, not ${threads}`);
  const vmEngine = vmEngineFlag(values['vm-engine']);
  if (vmEngine && engine !== 'vm') throw new UsageError('--vm-engine applies to --engine vm only');
  if (threads > 1 && (iface || mode !== 'full' || (engine !== 'vm' && engine !== 'none')))
    throw new UsageError('--threads N is for --mode full with --engine vm or none on a capture file');
  const udp = values.udp === true;
  if (udp && (iface || mode !== 'full' || threads > 1))
    throw new UsageError('--udp is for --mode full on a capture file, on one thread (the filters keep TCP only)');
  if (iface && values.filter !== undefined && engine !== 'kernel')
    throw new UsageError('--filter with -i runs in the kernel in front of the URL filter: use --engine kernel');
  const file = positionals[0];
  // The 'wasm' engine's modules kept between runs (BPFKIT_MODULE_CACHE=off): only a run whose filter runs
  // in the VM compiles any, so only such a run loads the store (node:crypto with it: a few ms of start-up
  // that `--engine none`, `kernel` or `js` would pay for nothing).
  if (engine === 'vm') await (await import('../../loader/module-cache-files.js')).useModuleCacheFiles();
  return runUrls({
    ...(iface ? { iface } : { file: file! }),
    mode,
    engine,
    ...(vmEngine ? { vmEngine } : {}),
    format,
    maxLine,
    maxFlows,
    idleTimeoutSec,
    maxMemory: maxMemoryMb * 1024 * 1024,
    count,
    threads,
    udp,
    quiet: values.quiet === true,
    ...(values.filter !== undefined ? { filter: values.filter } : {}),
  });
}
