/**
 * The BCC-style entry point: C in, programs loaded and attached, events out.
 *
 *   const bpf = await BPF.fromC(src);
 *   bpf.attachTracepoint('sock', 'inet_sock_set_state', 'handle');
 *   for await (const ev of bpf.ringbuf('events', { struct: 'event' })) console.log(ev);
 *
 * A BPF owns a kernel collection and every attachment and reader made through it; close() (or process
 * exit, SIGINT, SIGTERM, through src/kernel's lifecycle registry) detaches and closes all of them.
 */
import { readFileSync } from 'node:fs';
import { compileC, type CompileOptions, type CSource } from '../compile/compile-c.js';
import { applyBccTypes } from '../compile/bcc/types.js';
import { parseBtf, type Btf } from '../btf/btf.js';
import type { ObjectSpec } from '../elf/spec.js';
import { EnvironmentError, InputError } from '../util/errors.js';
import { loadKernelCollection, type KernelCollection } from '../kernel/collection.js';
import { prepareSpec } from '../loader/load-collection.js';
import { runningKernel } from '../loader/kernel-env.js';
import {
  attachKprobe,
  attachPerfEventPerCpu,
  attachRawTracepoint,
  attachTracepoint,
  attachUprobe,
  lockdownMode,
  PerfBufferReader,
  PerfSoftware,
  PerfType,
  RingBufferReader,
  tracefsRoot,
  tracepointFormat,
} from '../kernel/attach/index.js';
import { PacketSocket, type PacketSocketOptions } from '../kernel/packet-socket.js';
import type { KernelMap } from '../kernel/kernel-map.js';
import { structDecoder, type EventObject } from './decode.js';
import { resolveBinary, resolveUprobe } from './uprobe-target.js';
import { parseUsdtArgs, readUsdtProbes, type UsdtArg } from './usdt-notes.js';
import { readTracePipe, type TraceLine } from './trace-pipe.js';
import { autoAttachOf } from './auto-attach.js';

/** Something that detaches on close. */
export interface Attachment {
  /** Detach. */
  close(): void;
}

/** Options of ringbuf() and onRingbuf(). */
export interface RingbufOptions {
  /** Decode each sample as this struct of the program's BTF; without it samples come as Uint8Array copies. */
  struct?: string;
  /** Stop when this signal aborts. */
  signal?: AbortSignal;
}

/** Options of perfBuffer() and onPerfBuffer(). */
export interface PerfBufferOptions extends RingbufOptions {
  /** Data pages per CPU, a power of two (BCC's page_cnt; default 8). */
  pageCount?: number;
  /** Called with the number of samples the kernel dropped whenever it reports some (BCC's lost_cb). */
  onLost?: (count: number) => void;
}

/** Where a uprobe goes. */
export interface UprobeOptions {
  /** Binary path, or a library name ('c' for libc). */
  binary: string;
  symbol: string;
  pid?: number;
  retprobe?: boolean;
}

const SLEEP_MS = 200;

/** Options of BPF.fromBcc: compileC's, and the program types of functions whose names give none. */
export interface BccOptions extends Omit<CompileOptions, 'dialect' | 'tracepointFormat'> {
  /**
   * BCC's `load_func(name, type)`: the program type of each function that is not a `kprobe__`,
   * `kretprobe__`, `tracepoint__`, `raw_tracepoint__` or TRACEPOINT_PROBE program, e.g.
   * `{ http_filter: BPF.SOCKET_FILTER }` (any bpftool type name or libbpf section name). A function given
   * no type is not loaded, and asking for it says so.
   */
  types?: Record<string, string>;
}

/** A compiled, loaded BPF object with its attachments: the BCC `BPF` class for TypeScript. */
export class BPF {
  private readonly attachments: Attachment[] = [];
  private btfCache: Btf | undefined;
  private closed = false;
  private usdtSpecs = 0;

  private constructor(
    /** The loaded programs and maps. */
    readonly collection: KernelCollection,
    readonly spec: ObjectSpec,
    /** True when compileC answered from its cache. */
    readonly cached: boolean,
  ) {}

  /** BCC's program type names, for BccOptions.types (`BPF.SOCKET_FILTER` as in BCC's Python). */
  static readonly SOCKET_FILTER = 'socket_filter';
  /** tc classifier (BCC's BPF.SCHED_CLS). */
  static readonly SCHED_CLS = 'sched_cls';
  /** tc action (BCC's BPF.SCHED_ACT). */
  static readonly SCHED_ACT = 'sched_act';
  /** XDP (BCC's BPF.XDP). */
  static readonly XDP = 'xdp';
  /** kprobe (BCC's BPF.KPROBE). */
  static readonly KPROBE = 'kprobe';
  /** tracepoint (BCC's BPF.TRACEPOINT). */
  static readonly TRACEPOINT = 'tracepoint';
  /** raw tracepoint (BCC's BPF.RAW_TRACEPOINT). */
  static readonly RAW_TRACEPOINT = 'raw_tracepoint';
  /** perf event (BCC's BPF.PERF_EVENT). */
  static readonly PERF_EVENT = 'perf_event';
  /** cgroup skb (BCC's BPF.CGROUP_SKB). */
  static readonly CGROUP_SKB = 'cgroup_skb';

  /**
   * Compile C in BCC's dialect (BPF_HASH, `table.lookup(&key)`, TRACEPOINT_PROBE...; docs/tracing.md
   * "BCC's dialect") and load it: TRACEPOINT_PROBE's `args` struct comes from the running kernel's
   * tracefs format, and functions named for no attach point load with the type `opts.types` gives them.
   */
  static async fromBcc(source: CSource, opts: BccOptions = {}): Promise<BPF> {
    const { types, ...compile } = opts;
    const compiled = await compileC(source, { ...compile, dialect: 'bcc', tracepointFormat });
    return BPF.fromSpec(applyBccTypes(compiled.spec, types), compiled.cached);
  }

  /** Compile C (text or `{ file }`), load it into the kernel. */
  static async fromC(source: CSource, opts: CompileOptions = {}): Promise<BPF> {
    const compiled = await compileC(source, opts);
    return BPF.fromSpec(compiled.spec, compiled.cached);
  }

  /**
   * Load an already parsed object: CO-RE relocations, externs and BTF attach targets (tp_btf, fentry)
   * resolved by the loader against the running kernel (its cached BTF), programs this kernel cannot run
   * (fentry under lockdown) refused first.
   */
  static fromSpec(spec: ObjectSpec, cached = false): BPF {
    for (const p of spec.programs) {
      const refusal = tracingRefusal(p.section, lockdownMode());
      if (refusal) throw refusal;
    }
    return new BPF(loadKernelCollection(prepareSpec(spec, { engine: 'kernel' }, runningKernel())), spec, cached);
  }

  /** The object's BTF, parsed (for decoding events). */
  get btf(): Btf {
    if (!this.btfCache) {
      if (!this.spec.btf) throw new InputError('the object has no BTF (compile with -g) to decode events with');
      this.btfCache = parseBtf(this.spec.btf, `${this.spec.path ?? 'object'}(.BTF)`);
    }
    return this.btfCache;
  }

  private keep<T extends Attachment>(a: T): T {
    this.attachments.push(a);
    return a;
  }

  private progFd(name: string): number {
    const p = this.spec.programs.find((q) => q.name === name);
    // A program left out of the load (a BCC function given no type) says why, not just "no program".
    if (p?.unsupported && !this.collection.programs.has(name)) throw new InputError(p.unsupported);
    return this.collection.program(name).fd;
  }

  /** The fd of program `name` (BCC's `load_func(name, type).fd`, e.g. for a prog array slot). */
  programFd(name: string): number {
    return this.progFd(name);
  }

  /** Map `name` (BCC's `get_table(name)` / `b["name"]`): lookup, update, delete, keys from userspace. */
  table(name: string): KernelMap {
    return this.collection.map(name);
  }

  /**
   * Attach a SOCKET_FILTER program to a new AF_PACKET raw socket on `ifname` (all interfaces when
   * absent): BCC's `attach_raw_socket`. Read what the filter passes from the returned socket
   * (`packets()`); it closes with the BPF.
   */
  attachRawSocket(prog: string, ifname?: string, opts: Omit<PacketSocketOptions, 'ifname'> = {}): PacketSocket {
    const fd = this.progFd(prog);
    const sock = PacketSocket.open({ ...opts, ...(ifname !== undefined ? { ifname } : {}) });
    try {
      sock.attachBpf(fd);
    } catch (err) {
      sock.close();
      throw err;
    }
    return this.keep(sock);
  }

  /** Attach program `prog` to tracepoint `category:name` (e.g. 'syscalls', 'sys_enter_openat'). */
  attachTracepoint(category: string, name: string, prog: string): Attachment {
    return this.keep(attachTracepoint(this.progFd(prog), category, name));
  }

  /** Attach a raw tracepoint program to tracepoint `name` (e.g. 'sched_switch'). */
  attachRawTracepoint(name: string, prog: string): Attachment {
    return this.keep(attachRawTracepoint(this.progFd(prog), name));
  }

  /**
   * Attach a BTF-typed program — tp_btf, or fentry/fexit/fmod_ret where lockdown allows them — to the
   * target the loader resolved from its section (attach_btf_id): the kernel knows where it goes.
   */
  attachBtfTarget(prog: string): Attachment {
    return this.keep(attachRawTracepoint(this.progFd(prog), undefined));
  }

  /** Attach a uprobe (or uretprobe) program to a function of a binary or library. */
  attachUprobe(target: UprobeOptions, prog: string): Attachment {
    const { path, offset } = resolveUprobe(target.binary, target.symbol, target.pid);
    return this.keep(
      attachUprobe(this.progFd(prog), {
        path,
        offset,
        ...(target.retprobe ? { retprobe: true } : {}),
        ...(target.pid !== undefined ? { pid: target.pid } : {}),
        description: `${path}:${target.symbol}`,
      }),
    );
  }

  /**
   * Attach a uprobe program to every site of USDT probe `provider:name` in `binary` (a path or library
   * name), with the probe's semaphore raised while attached. A program that includes <bpf/usdt.bpf.h>
   * reads the probe's arguments with bpf_usdt_arg(ctx, n, &value).
   */
  attachUsdt(target: { binary: string; provider: string; name: string; pid?: number }, prog: string): Attachment[] {
    const file = resolveBinary(target.binary, target.pid);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
    }
    const where = `${target.provider}:${target.name}`;
    const sites = readUsdtProbes(bytes, file).filter((p) => p.provider === target.provider && p.name === target.name);
    if (!sites.length) throw new InputError(`no USDT probe ${where}`, file);
    const specs = this.spec.maps.some((m) => m.name === 'bpfkit_usdt_specs')
      ? this.collection.map('bpfkit_usdt_specs')
      : undefined;
    const out: Attachment[] = [];
    try {
      for (const site of sites) {
        const id = this.usdtSpecs++;
        if (specs) {
          if (id >= specs.maxEntries) throw new InputError(`more than ${specs.maxEntries} USDT sites attached`);
          specs.update(u32(id), usdtSpecValue(parseUsdtArgs(site.args, where)));
        }
        out.push(
          this.keep(
            attachUprobe(this.progFd(prog), {
              path: file,
              offset: site.offset,
              refCtrOffset: site.semaphoreOffset,
              cookie: BigInt(id),
              ...(target.pid !== undefined ? { pid: target.pid } : {}),
              description: `usdt ${file}:${where}`,
            }),
          ),
        );
      }
    } catch (err) {
      for (const a of out) a.close();
      throw err;
    }
    return out;
  }

  /** Attach a uretprobe program (attachUprobe with retprobe). */
  attachUretprobe(target: Omit<UprobeOptions, 'retprobe'>, prog: string): Attachment {
    return this.attachUprobe({ ...target, retprobe: true }, prog);
  }

  /** Attach a kprobe program; on a kernel without CONFIG_KPROBES, one line and exit 3. */
  attachKprobe(fn: string, prog: string, retprobe = false): Attachment {
    return this.keep(attachKprobe(this.progFd(prog), fn, retprobe));
  }

  /** Attach a perf_event program to cpu-clock on every CPU, `frequency` samples per second per CPU. */
  attachCpuClock(prog: string, frequency = 99): Attachment {
    return this.keep(
      attachPerfEventPerCpu(
        this.progFd(prog),
        { type: PerfType.SOFTWARE, config: BigInt(PerfSoftware.CPU_CLOCK), frequency },
        onlineCpus(),
        `cpu-clock at ${frequency} Hz`,
      ),
    );
  }

  /**
   * Attach every loaded program whose section names its target, as libbpf's auto-attach does
   * (auto-attach.ts: tracepoints, raw tracepoints, tp_btf/fentry/fexit/fmod_ret/lsm, uprobes, USDT,
   * kprobes and ksyscall). Programs whose section names no target (socket, xdp, tc, cgroup ...) are left
   * to the calls that name one. A tracing section bpfkit cannot attach (kprobe.multi, uprobe.multi, the
   * session kinds, iterators, a malformed target) is refused in one line before anything is attached.
   */
  attachAll(): Attachment[] {
    const plan = this.spec.programs
      .filter((p) => p.autoload !== false)
      .map((p) => ({ prog: p.name, at: autoAttachOf(p.section), section: p.section }));
    for (const { prog, at, section } of plan)
      if (at.kind === 'unsupported')
        throw new InputError(`section '${section}' ${at.why}`, `${this.spec.path ?? 'object'}: program '${prog}'`);
    const out: Attachment[] = [];
    for (const { prog, at } of plan) {
      if (at.kind === 'tracepoint') out.push(this.attachTracepoint(at.category, at.name, prog));
      else if (at.kind === 'raw_tracepoint') out.push(this.attachRawTracepoint(at.name, prog));
      else if (at.kind === 'btf') out.push(this.attachBtfTarget(prog));
      else if (at.kind === 'uprobe')
        out.push(this.attachUprobe({ binary: at.binary, symbol: at.symbol, retprobe: at.retprobe }, prog));
      else if (at.kind === 'usdt') out.push(...this.attachUsdt(at, prog));
      else if (at.kind === 'kprobe') out.push(this.attachKprobe(at.fn, prog, at.retprobe));
      else if (at.kind === 'ksyscall') out.push(this.attachKprobe(syscallEntry(at.syscall), prog, at.retprobe));
    }
    return out;
  }

  /** A reader of ring buffer map `name` (callers drain and wait themselves; ringbuf() and onRingbuf() do it for you). */
  openRingbuf(name: string): RingBufferReader {
    const map = this.collection.map(name);
    if (map.type !== 27) throw new InputError(`map ${name} is not a ring buffer (BPF_MAP_TYPE_RINGBUF)`);
    return this.keep(new RingBufferReader(map.fd, map.maxEntries, name));
  }

  /**
   * Events of ring buffer `name`, as they come, until the signal aborts or the BPF closes. Every event
   * the kernel submitted before the abort is still delivered: an abort that lands while submitted events
   * wait to be read (a SIGINT handled before the wake-up) would otherwise drop them, and a count printed
   * at Ctrl-C would miss them.
   */
  async *ringbuf(name: string, opts: RingbufOptions = {}): AsyncGenerator<EventObject | Uint8Array> {
    const reader = this.openRingbuf(name);
    const decode = opts.struct ? structDecoder(this.btf, opts.struct) : undefined;
    const batch: (EventObject | Uint8Array)[] = [];
    try {
      for (;;) {
        // (read before the drain: once stopping, this drain is the last one)
        const last = this.closed || opts.signal?.aborted === true;
        const n = reader.drain((s) => batch.push(decode ? decode(s) : s.slice()));
        for (const ev of batch.splice(0)) yield ev;
        if (last) return;
        if (n === 0) await reader.wait(SLEEP_MS);
      }
    } finally {
      reader.close();
    }
  }

  /**
   * Call `fn` for every sample of ring buffer `name` (decoded when `struct` is given) until the returned
   * stop() is called; the sample views are only valid during the call. The fast path: no copy, no promise per event.
   */
  onRingbuf(name: string, fn: (ev: EventObject | Uint8Array) => void, opts: RingbufOptions = {}): () => Promise<void> {
    const reader = this.openRingbuf(name);
    const decode = opts.struct ? structDecoder(this.btf, opts.struct) : undefined;
    let stopped = false;
    const done = (async () => {
      while (!stopped && !this.closed && !opts.signal?.aborted) {
        if (reader.drain(decode ? (s) => fn(decode(s)) : fn) === 0) await reader.wait(SLEEP_MS);
      }
      reader.drain(decode ? (s) => fn(decode(s)) : fn);
      reader.close();
    })();
    return async () => {
      stopped = true;
      await done;
    };
  }

  /** A reader of perf event array `name`, one ring per online CPU (perfBuffer() and onPerfBuffer() drain it for you). */
  openPerfBuffer(name: string, pageCount = 8): PerfBufferReader {
    const map = this.collection.map(name);
    if (map.type !== 4) throw new InputError(`map ${name} is not a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY)`);
    return this.keep(new PerfBufferReader(map, onlineCpus(), pageCount));
  }

  /**
   * Call `fn` for every sample of perf event array `name` until the returned stop() is called — BCC's
   * open_perf_buffer + perf_buffer_poll. Dropped samples are counted and passed to `onLost`.
   */
  onPerfBuffer(
    name: string,
    fn: (ev: EventObject | Uint8Array, cpu: number) => void,
    opts: PerfBufferOptions = {},
  ): () => Promise<void> {
    const reader = this.openPerfBuffer(name, opts.pageCount);
    const decode = opts.struct ? structDecoder(this.btf, opts.struct) : undefined;
    const each = decode ? (s: Uint8Array, cpu: number) => fn(decode(s), cpu) : fn;
    let stopped = false;
    let reported = 0;
    const drain = () => {
      const n = reader.drain(each);
      if (reader.lost > reported) {
        opts.onLost?.(reader.lost - reported);
        reported = reader.lost;
      }
      return n;
    };
    const done = (async () => {
      while (!stopped && !this.closed && !opts.signal?.aborted) {
        if (drain() === 0) await reader.wait(SLEEP_MS);
      }
      drain();
      reader.close();
    })();
    return async () => {
      stopped = true;
      await done;
    };
  }

  /**
   * Samples of perf event array `name`, as they come, until the signal aborts or the BPF closes; as with
   * ringbuf(), the samples written before the abort are still delivered (and their losses reported).
   */
  async *perfBuffer(name: string, opts: PerfBufferOptions = {}): AsyncGenerator<EventObject | Uint8Array> {
    const reader = this.openPerfBuffer(name, opts.pageCount);
    const decode = opts.struct ? structDecoder(this.btf, opts.struct) : undefined;
    const batch: (EventObject | Uint8Array)[] = [];
    let reported = 0;
    try {
      for (;;) {
        const last = this.closed || opts.signal?.aborted === true;
        const n = reader.drain((s) => batch.push(decode ? decode(s) : s.slice()));
        if (reader.lost > reported) {
          opts.onLost?.(reader.lost - reported);
          reported = reader.lost;
        }
        for (const ev of batch.splice(0)) yield ev;
        if (last) return;
        if (n === 0) await reader.wait(SLEEP_MS);
      }
    } finally {
      reader.close();
    }
  }

  /** bpf_trace_printk output (trace_pipe), parsed, until the signal aborts. */
  tracePipe(signal?: AbortSignal): AsyncGenerator<TraceLine> {
    return readTracePipe(`${tracefsRoot()}/trace_pipe`, signal);
  }

  /** Detach everything, close maps and programs. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const a of this.attachments.reverse()) a.close();
    this.collection.close();
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** struct bpfkit_usdt_spec (usdt.bpf.h): 12 args of 16 bytes, then nargs. */
function usdtSpecValue(args: UsdtArg[]): Uint8Array {
  const b = new Uint8Array(12 * 16 + 8);
  const v = new DataView(b.buffer);
  args.forEach((a, i) => {
    const at = i * 16;
    v.setBigUint64(at, BigInt.asUintN(64, a.value), true);
    v.setUint32(at + 8, a.kind === 'const' ? 0 : a.kind === 'reg' ? 1 : 2, true);
    v.setUint16(at + 12, a.regOffset, true);
    b[at + 14] = a.size;
    b[at + 15] = a.signed ? 1 : 0;
  });
  v.setUint32(12 * 16, args.length, true);
  return b;
}

/** CPUs that are online now (perf events can only open there). */
function onlineCpus(): number[] {
  const out: number[] = [];
  let text = '0';
  try {
    text = readFileSync('/sys/devices/system/cpu/online', 'utf8');
  } catch {
    // No sysfs: CPU 0 is all we can name.
  }
  for (const part of text.trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/**
 * The kernel function `ksyscall/NAME` probes, as libbpf picks it: the architecture's wrapped entry point
 * (`__x64_sys_NAME`) where the kernel has syscall wrappers, else `sys_NAME`.
 */
function syscallEntry(name: string): string {
  const env = runningKernel();
  return env.kallsyms(`${env.syscallPrefix}bpf`) !== undefined ? `${env.syscallPrefix}${name}` : `sys_${name}`;
}

/**
 * Why a program of section `section` cannot run here, before loading it: fentry/fexit/fmod_ret under
 * lockdown (the kernel answers EPERM even to root). undefined when nothing stands in the way.
 */
export function tracingRefusal(section: string, lockdown: string | undefined): EnvironmentError | undefined {
  const m = /^(fentry|fexit|fmod_ret)(?:\.s)?\/(.+)$/.exec(section);
  if (!m || !lockdown || lockdown === 'none') return undefined;
  return new EnvironmentError(`${m[1]} on ${m[2]}: refused by the kernel's lockdown (${lockdown})`);
}
