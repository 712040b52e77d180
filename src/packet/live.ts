/**
 * Live capture on top of the kernel engine's AF_PACKET socket (src/kernel/packet-socket.ts — the one
 * syscall layer; nothing here talks to the kernel directly). Adds what a capture tool needs:
 * loading an eBPF socket filter from an ELF object or a classic BPF program, skipping the duplicate
 * copies the loopback device shows (outgoing + incoming, as libpcap does), a count limit and stop
 * signal, and the kernel's counters accumulated across reads.
 *
 * The kernel and ELF modules load lazily (dynamic import) so that using the file readers never loads koffi.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { BpfkitError, InputError } from '../util/errors.js';
import type { ClassicInsn } from '../cbpf/numeric-text.js';
import { compileFilter } from '../pcap-filter/index.js';

/** One packet from a live capture. */
export interface LivePacket {
  data: Uint8Array;
  tsSec: number;
  tsNsec: number;
  origLen: number;
  ifindex: number;
  pktType: number;
}

/** Options of `LiveCapture.open`. */
export interface LiveCaptureOptions {
  /** one interface; every interface when absent */
  ifname?: string;
  promiscuous?: boolean;
  /** bytes kept per packet (default 262144) */
  snaplen?: number;
  /** an ELF object with an eBPF socket filter, and optionally which program in it */
  bpfObject?: string;
  bpfProgram?: string;
  /** a classic BPF program (see parseClassicBpf) */
  classic?: ClassicInsn[];
  /**
   * a pcap-filter(7) expression, compiled for the interface's link type (EN10MB without `ifname`) and
   * attached as classic BPF, as tcpdump does; a bad expression throws FilterSyntaxError before any socket opens
   */
  expression?: string;
}

/** The PacketSocket face we use (src/kernel/packet-socket.ts). */
interface Socket {
  attachBpf(progFd: number): void;
  attachClassicFilter(insns: ClassicInsn[]): void;
  packets(signal?: AbortSignal): AsyncIterable<LivePacket>;
  stats(): { packets: number; drops: number };
  close(): void;
}
interface Closable {
  close(): void;
}

const PACKET_OUTGOING = 4;
const ARPHRD_LOOPBACK = 772;
const SOCKET_FILTER = 1;
/** ARPHRD_* (linux/if_arp.h) of devices without a link-layer header: PPP, IPIP, IP6IP6, SIT, GRE, IP6GRE, NONE (tun) */
const RAW_IP_DEVICES = new Set([512, 768, 769, 776, 778, 823, 65534]);

/** Live capture from an AF_PACKET socket with an optional eBPF or classic filter (needs root). */
export class LiveCapture {
  /** kernel counters summed over every stats read (the kernel resets them on each read) */
  private totals = { packets: 0, drops: 0 };

  private constructor(
    private readonly socket: Socket,
    private readonly loopbacks: Set<number>,
    /** interface names by ifindex, as the namespace had them at open */
    private readonly names: Map<number, string>,
    /** ARPHRD_* device types by ifindex */
    private readonly types: Map<number, number>,
    private readonly owned: Closable[],
    /** what the filter is, for messages */
    readonly filterDescription: string,
  ) {}

  /** Open the socket, load and attach the filter. Loads the kernel engine (koffi) on first use. */
  static async open(opts: LiveCaptureOptions = {}): Promise<LiveCapture> {
    const filters = [opts.bpfObject, opts.classic, opts.expression].filter((f) => f !== undefined);
    if (filters.length > 1)
      throw new BpfkitError('use one filter: an eBPF object, a classic BPF program or an expression');
    const { loopbacks, names, types } = interfacesNow();
    let classic = opts.classic;
    let description = 'no filter';
    if (opts.expression !== undefined) {
      classic = compileExpression(opts.expression, opts, names, types);
      description = `filter "${opts.expression}" (${classic.length} classic BPF instructions)`;
    } else if (classic) description = `classic BPF (${classic.length} instructions)`;
    const kernel = await import('../kernel/index.js');
    const owned: Closable[] = [];
    let progFd = -1;
    try {
      if (opts.bpfObject) {
        const { loadObjectFile } = await import('../elf/index.js');
        const spec = loadObjectFile(opts.bpfObject);
        const candidates = spec.programs.filter((p) =>
          opts.bpfProgram ? p.name === opts.bpfProgram : p.type === SOCKET_FILTER,
        );
        if (candidates.length === 0) {
          const have = spec.programs.map((p) => `${p.name} (${p.section})`).join(', ') || 'none';
          throw new InputError(
            opts.bpfProgram
              ? `no program named '${opts.bpfProgram}' (have: ${have})`
              : `no socket filter program (section "socket") in the object (have: ${have})`,
            opts.bpfObject,
          );
        }
        if (candidates.length > 1) {
          throw new InputError(
            `several socket filter programs (${candidates.map((p) => p.name).join(', ')}): pick one with ${opts.bpfObject}:PROGRAM`,
            opts.bpfObject,
          );
        }
        const chosen = candidates[0]!;
        if (chosen.type !== SOCKET_FILTER) {
          throw new InputError(
            `program '${chosen.name}' (section "${chosen.section}") is not a socket filter; put it in a "socket" section`,
            opts.bpfObject,
          );
        }
        // Through the loader, as every object load: CO-RE relocations and externs resolved, and the
        // programs the filter tail-calls loaded into its prog arrays (the kernel engine alone would load
        // only the chosen program and leave those slots empty: tail calls falling through, silently).
        const { loadCollection } = await import('../loader/index.js');
        const coll = await loadCollection(spec, { engine: 'kernel', programs: [chosen.name] });
        owned.push(coll);
        progFd = coll.program(chosen.name).fd;
        description = `eBPF ${chosen.name} from ${opts.bpfObject}`;
      }
      const socket = kernel.PacketSocket.open({
        ...(opts.ifname !== undefined ? { ifname: opts.ifname } : {}),
        ...(opts.promiscuous !== undefined ? { promiscuous: opts.promiscuous } : {}),
        ...(opts.snaplen !== undefined ? { snaplen: opts.snaplen } : {}),
      }) as Socket;
      owned.unshift(socket);
      if (progFd >= 0) socket.attachBpf(progFd);
      if (classic) socket.attachClassicFilter(classic);
      return new LiveCapture(socket, loopbacks, names, types, owned, description);
    } catch (err) {
      for (const o of owned) o.close();
      throw err;
    }
  }

  /**
   * Packets until the signal aborts or close(). Reading never blocks the event loop. Packets leaving
   * through a loopback device are skipped: the same packet comes back in as incoming.
   */
  async *packets(signal?: AbortSignal): AsyncGenerator<LivePacket> {
    for await (const p of this.socket.packets(signal)) {
      if (p.pktType === PACKET_OUTGOING && this.loopbacks.has(p.ifindex)) continue;
      yield p;
    }
  }

  /** Kernel counters since open: packets received by the socket (incl. drops) and dropped. */
  stats(): { packets: number; drops: number } {
    const s = this.socket.stats();
    this.totals.packets += s.packets;
    this.totals.drops += s.drops;
    return { ...this.totals };
  }

  /** "lo", "eth0"... or "#7" for an interface that appeared after open. */
  interfaceName(ifindex: number): string {
    return this.names.get(ifindex) ?? `#${ifindex}`;
  }

  /** ifindex of an interface name, or undefined. */
  ifindexOf(name: string): number | undefined {
    for (const [i, n] of this.names) if (n === name) return i;
    return undefined;
  }

  /**
   * The link type of what a raw packet socket delivers for this interface: Ethernet devices (and
   * loopback, with its zeroed MAC header) start at the MAC header; IP tunnels, tun and PPP devices have
   * none, so their frames start at the IP header (LINKTYPE_RAW).
   */
  linktypeOf(ifindex: number): number {
    return linktypeOfDevice(this.types.get(ifindex));
  }

  /** Close the socket and the filter. */
  close(): void {
    for (const o of this.owned) o.close();
    this.owned.length = 0;
  }
}

/** LINKTYPE_RAW (101) for devices without a link-layer header, else EN10MB (1); see LiveCapture.linktypeOf. */
function linktypeOfDevice(type: number | undefined): number {
  return type !== undefined && RAW_IP_DEVICES.has(type) ? 101 : 1;
}

/**
 * The expression as classic BPF for what the socket delivers: the interface's link type, or, on every
 * interface, EN10MB — refused when a device without a MAC header is present, whose frames the program
 * would misread (a silently wrong capture).
 */
function compileExpression(
  expression: string,
  opts: LiveCaptureOptions,
  names: Map<number, string>,
  types: Map<number, number>,
): ClassicInsn[] {
  let linktype = 1;
  if (opts.ifname !== undefined) {
    for (const [ifindex, name] of names) if (name === opts.ifname) linktype = linktypeOfDevice(types.get(ifindex));
  } else {
    for (const [ifindex, type] of types) {
      if (RAW_IP_DEVICES.has(type))
        throw new BpfkitError(
          `a filter expression on every interface is compiled for Ethernet, but ${names.get(ifindex)} has no MAC header: use -i`,
          2,
        );
    }
  }
  return compileFilter(expression, {
    linktype,
    savefile: false,
    ...(opts.snaplen !== undefined ? { snaplen: opts.snaplen } : {}),
  });
}

/** Interface names and which ifindexes are loopback devices in this network namespace (/sys/class/net). */
function interfacesNow(): { loopbacks: Set<number>; names: Map<number, string>; types: Map<number, number> } {
  const loopbacks = new Set<number>();
  const names = new Map<number, string>();
  const types = new Map<number, number>();
  try {
    for (const name of readdirSync('/sys/class/net')) {
      try {
        const ifindex = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
        names.set(ifindex, name);
        const type = Number(readFileSync(`/sys/class/net/${name}/type`, 'utf8').trim());
        types.set(ifindex, type);
        if (type === ARPHRD_LOOPBACK) loopbacks.add(ifindex);
      } catch {
        /* an interface that vanished meanwhile */
      }
    }
  } catch {
    loopbacks.add(1); // no sysfs: lo is ifindex 1 in every namespace
  }
  return { loopbacks, names, types };
}
