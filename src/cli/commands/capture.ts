/**
 * `bpfkit capture`: live capture from an AF_PACKET socket with an optional kernel filter (a pcap-filter
 * expression, an eBPF socket filter from an ELF object, or classic BPF), written to a pcap/pcapng file or summarised one line per
 * packet. SIGINT/SIGTERM stop it cleanly: everything captured is written and flushed, and the kernel's
 * counters go to stderr like tcpdump's.
 */
import { readFileSync, existsSync } from 'node:fs';
import { intFlag, parseFlags } from '../args.js';
import { UsageError } from '../../util/errors.js';
import { createCaptureWriter, formatForPath, type CaptureWriter } from '../../packet/capture-writer.js';
import { readClassicProgram } from '../../cbpf/index.js';
import { LiveCapture } from '../../packet/live.js';
import { PacketView } from '../../packet/decode/packet-view.js';
import { LINKTYPE, linktypeName } from '../../packet/linktype.js';
import { describePacket } from '../../packet/describe.js';

const HELP = `usage: bpfkit capture [-i IFACE] [-w FILE.pcap|FILE.pcapng] [-c COUNT] [-s SNAPLEN]
                      [--filter OBJ[:PROGRAM] | --cbpf PROGRAM] [--promisc] [--micro] [-q] [EXPR...]

Capture packets live (AF_PACKET; needs CAP_NET_RAW) until COUNT packets, SIGINT or SIGTERM.
  -i, --interface IFACE  one interface (default: all; each frame from its MAC header)
  -w, --write FILE       write a capture (pcapng if FILE ends in .pcapng, else pcap). Link type: the
                         interface's (EN10MB, or RAW for tun/tunnel/PPP devices); without -i, pcapng
                         gets one interface block per interface seen; pcap is EN10MB, and a packet
                         from an interface of another link type stops the capture (exit 2)
  -c, --count N          stop after N packets
  -s, --snaplen N        bytes kept per packet (default and most: 262144)
      --filter OBJ[:P]   load eBPF socket filter program P (default: the one "socket" program) from
                         ELF object OBJ into the kernel and attach it (SO_ATTACH_BPF)
      --cbpf PROGRAM     classic BPF (SO_ATTACH_FILTER): tcpdump -ddd output, a tc-bpf bytecode string
                         "4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0,", tcpdump -dd, or @FILE
                         (a file may also hold bpf_asm source or a binary sock_filter array)
      --bytecode TEXT    the same as --cbpf TEXT (tc's name for it)
      --bpf-asm FILE     the same as --cbpf @FILE, for bpf_asm source
      --promisc          promiscuous mode (with -i)
      --micro            microsecond timestamps in the file (default: nanoseconds)
  -q, --quiet            no per-packet lines
  EXPR...                a pcap-filter(7) expression, one argument or several words as tcpdump takes
                         it ('tcp port 80', or: tcp port 80), compiled for the interface's link type
                         (EN10MB without -i; refused then if a device has no MAC header) and attached
                         in the kernel as classic BPF. Errors: one line with the column, exit 2.
                         Words after -- are all expression (for one that starts with '-')
Without -w each packet is summarised on stdout. At the end the counts go to stderr:
captured, received by filter (kernel), dropped by kernel.
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseFlags(argv, {
    interface: { type: 'string', short: 'i' },
    write: { type: 'string', short: 'w' },
    count: { type: 'string', short: 'c' },
    snaplen: { type: 'string', short: 's' },
    filter: { type: 'string' },
    cbpf: { type: 'string' },
    bytecode: { type: 'string' },
    'bpf-asm': { type: 'string' },
    promisc: { type: 'boolean' },
    micro: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (help) {
    process.stdout.write(HELP);
    return 0;
  }
  const classicFlags = [values.cbpf, values.bytecode, values['bpf-asm'] && `@${values['bpf-asm']}`].filter(
    (v) => v !== undefined,
  );
  if (classicFlags.length > 1) throw new UsageError('use one of --cbpf, --bytecode, --bpf-asm');
  values.cbpf = classicFlags[0];
  const expression = positionals.length ? positionals.join(' ') : undefined;
  if ([values.filter, values.cbpf, expression].filter((f) => f !== undefined).length > 1)
    throw new UsageError('use one filter: an expression, --filter OBJ or --cbpf PROGRAM');
  if (values.promisc && !values.interface) throw new UsageError('--promisc needs -i IFACE');
  if (values.micro && !values.write)
    throw new UsageError('--micro sets the timestamps of the file -w writes: it needs -w FILE');
  const count = intFlag('count', values.count, 0, 1);
  // tcpdump's bound (MAXIMUM_SNAPLEN): more only sizes the ring and buffers past any frame, up to a crash in the FFI.
  const snaplen = intFlag('snaplen', values.snaplen, 262144, 1, 262144);

  let bpfObject: string | undefined;
  let bpfProgram: string | undefined;
  if (values.filter) {
    // OBJ[:PROGRAM] — the last colon splits, unless what precedes it is not a file (a path may hold ':')
    const i = values.filter.lastIndexOf(':');
    if (i > 0 && !existsSync(values.filter)) {
      bpfObject = values.filter.slice(0, i);
      bpfProgram = values.filter.slice(i + 1) || undefined;
    } else bpfObject = values.filter;
  }
  let classic;
  if (values.cbpf !== undefined) {
    const src = values.cbpf.startsWith('@') ? values.cbpf.slice(1) : undefined;
    let bytes: Uint8Array = new TextEncoder().encode(values.cbpf);
    if (src) {
      try {
        bytes = readFileSync(src);
      } catch {
        throw new UsageError(`--cbpf: cannot read ${src}`);
      }
    }
    classic = readClassicProgram(bytes, src ?? '--cbpf').insns;
  }

  // Our handlers go in before the kernel layer opens anything: it only takes over SIGINT/SIGTERM (closing
  // every socket at once) when nobody else listens, and we want to stop reading, flush, then read counters.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let live: LiveCapture;
  try {
    live = await LiveCapture.open({
      ...(values.interface !== undefined ? { ifname: values.interface } : {}),
      ...(values.promisc ? { promiscuous: true } : {}),
      snaplen,
      ...(bpfObject !== undefined ? { bpfObject } : {}),
      ...(bpfProgram !== undefined ? { bpfProgram } : {}),
      ...(classic ? { classic } : {}),
      ...(expression !== undefined ? { expression } : {}),
    });
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw err;
  }
  let writer: CaptureWriter | undefined;
  const fixedIfindex = values.interface !== undefined ? live.ifindexOf(values.interface) : undefined;
  const fileLinktype = fixedIfindex !== undefined ? live.linktypeOf(fixedIfindex) : LINKTYPE.EN10MB;
  /** pcapng without -i: interface id in the file for each ifindex */
  const fileIds = new Map<number, number>();
  let perInterface = false;
  let flushTimer: NodeJS.Timeout | undefined;
  let captured = 0;
  let listening = false;
  try {
    if (values.write) {
      perInterface = values.interface === undefined && formatForPath(values.write) === 'pcapng';
      writer = createCaptureWriter(values.write, {
        linktype: fileLinktype,
        noDefaultInterface: perInterface,
        snaplen,
        nanosecond: !values.micro,
        ...(values.interface !== undefined ? { ifname: values.interface } : {}),
      });
      // Like tcpdump -U, but per second: a reader of the growing file sees packets soon.
      flushTimer = setInterval(() => writer?.flush(), 1000);
      flushTimer.unref();
    }
    const where = values.interface ?? 'all interfaces';
    listening = true;
    process.stderr.write(
      `bpfkit capture: listening on ${where}, link type ${perInterface ? 'per interface' : linktypeName(fileLinktype)}, snapshot length ${snaplen}, ${live.filterDescription}\n`,
    );
    const view = new PacketView();
    const quiet = values.quiet || writer !== undefined;
    for await (const p of live.packets(stop.signal)) {
      // A pcap file has one link type: a frame from an interface of another (a tun device's bare IP
      // packet in an EN10MB file) would be written as garbage. Said at the first such frame, which is
      // not written; what came before is.
      if (writer && !perInterface && fixedIfindex === undefined && live.linktypeOf(p.ifindex) !== fileLinktype) {
        throw new UsageError(
          `a packet from ${live.interfaceName(p.ifindex)} (link type ${linktypeName(live.linktypeOf(p.ifindex))}) cannot go into ${values.write}, a ${linktypeName(fileLinktype)} pcap file: capture with -i, or write pcapng (one interface block per interface)`,
        );
      }
      captured++;
      if (writer) {
        let id = 0;
        if (perInterface) {
          let known = fileIds.get(p.ifindex);
          if (known === undefined) {
            known = writer.addInterface({
              linktype: live.linktypeOf(p.ifindex),
              snaplen,
              name: live.interfaceName(p.ifindex),
            });
            fileIds.set(p.ifindex, known);
          }
          id = known;
        }
        writer.writeBytes(p.data, 0, p.data.length, p.tsSec, p.tsNsec, p.origLen, id);
      }
      if (!quiet) {
        view.decode(p.data, live.linktypeOf(p.ifindex));
        process.stdout.write(
          `${describePacket(view, p.tsSec, p.tsNsec, p.origLen, live.interfaceName(p.ifindex), p.pktType)}\n`,
        );
      }
      if (count && captured >= count) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (flushTimer) clearInterval(flushTimer);
    writer?.close();
    let stats: { packets: number; drops: number } | undefined;
    try {
      stats = live.stats();
    } catch (err) {
      process.stderr.write(`bpfkit capture: cannot read the kernel counters: ${(err as Error).message}\n`);
    }
    live.close();
    if (listening) process.stderr.write(`${captured} packets captured\n`);
    if (listening && stats)
      process.stderr.write(`${stats.packets} packets received by filter\n${stats.drops} packets dropped by kernel\n`);
  }
  return 0;
}
