/**
 * loadVmCollection: an ObjectSpec becomes live maps and programs in one userspace VM.
 *
 *  - every map is created with the kernel's semantics (src/vm/maps) and its value slab mapped into VM
 *    memory (read-only for frozen .rodata and BPF_F_RDONLY_PROG maps), initial contents written;
 *  - every program is checked against its type's helper set (a helper the VM lacks or the type may not
 *    call is refused here, naming it), its map references resolved (lddw of a map → the map's handle,
 *    of a global variable → the VM address of the value), and loaded into the interpreter;
 *  - prog arrays and maps of maps get their initial `.values` once everything exists.
 *
 * Handles (the `fd` of programs and maps) come from one counter, like file descriptors.
 */
import type { ObjectSpec, ProgramSpec, MapSpec } from '../elf/spec.js';
import type { Collection, EngineName, Program, RunOptions, RunResult, BpfMap } from '../engine/types.js';
import type { VmLoadOptions } from '../engine/options.js';
import { checkByteOrder, validateSpec } from '../engine/validate-spec.js';
import { byName } from '../engine/by-name.js';
import { CORE_POISON_HELPER } from '../elf/core-poison.js';
import { BpfkitError, InputError } from '../util/errors.js';
import { BPF_CALL, BPF_JMP, type Instruction } from '../isa/index.js';
import { MapFlag, ProgType } from '../uapi/types.js';
import { Vm, type VmRunOptions } from './interpreter.js';
import type { LoadedProgram } from './interpreter-program.js';
import { VmError } from './vm-error.js';
import { createMap, type VmMap } from './maps/index.js';
import { RingBufMap } from './maps/ringbuf.js';
import { HashMap } from './maps/hash.js';
import { preferredEngine } from './wasm/preference.js';
import { HELPERS, helperAllowed, helperById, helperName } from './helpers/index.js';
import { RunContext, type HostConfig, type Verdict } from './contexts/run-context.js';
import { PacketBuffer, SHINFO_SIZE, XDP_PACKET_HEADROOM } from './contexts/packet-buffer.js';
import {
  C_CTX,
  C_CTX_ADDR,
  C_END,
  C_OUT_DELTA,
  C_PB,
  C_PB_BASE,
  C_PB_CAP,
  C_RECORDS,
  RECORD_BYTES,
} from './wasm/packet-loop.js';
import type { PacketBatch } from './wasm/packet-batch.js';
import {
  SKB_SIZE,
  applyCtxIn,
  ctxOut,
  newSkbState,
  sanitizeSkb,
  skbStateAt,
  skbStateFor,
  writeFreshSkbAt,
  writeSkb,
} from './contexts/skb.js';
import { readsPacketOnlyByLdAbs } from './packet-access.js';
import type { LdAbsPacket } from './interpreter-state.js';
import { XDP_MD_SIZE, writeXdp, xdpStateFrom } from './contexts/xdp.js';
import { contextKind, progTypeLabel, type ContextKind } from './contexts/prog-types.js';
import { vmHost } from './host-environment.js';

export type { VmLoadOptions } from '../engine/options.js';

/** What a VM program's run returns: the engine-neutral result plus redirect verdicts and the instruction count. */
export interface VmRunResult extends RunResult {
  /** redirect / clone_redirect requests the program made, in order. */
  verdicts: Verdict[];
  /** Instructions executed by the last run. */
  instructions: number;
}

function defaultHost(partial: Partial<HostConfig> | undefined, trace: string[]): HostConfig {
  // performance.now() has the host clock's ns resolution and, unlike process.hrtime(t0), allocates
  // nothing (programs read the clock once per packet).
  const t0 = performance.now();
  const mono = () => Math.floor((performance.now() - t0) * 1e6) + 1e9;
  return {
    pid: vmHost.pid,
    tgid: vmHost.pid,
    uid: vmHost.uid,
    gid: vmHost.gid,
    cpu: 0,
    clockNs: mono,
    bootClockNs: mono,
    coarseClockNs: partial?.clockNs ?? mono,
    taiClockNs: () => Date.now() * 1e6,
    jiffies: () => Math.floor((partial?.clockNs ?? mono)() / 4e6),
    comm: vmHost.comm.slice(0, 15),
    randomSeed: (Date.now() ^ (vmHost.pid << 16)) >>> 0,
    trace: (line) => {
      if (trace.length < 100000) trace.push(line);
    },
    ...partial,
  };
}

/** Largest map value slab placed by Memory.allocate (bigger ones stay ordinary arrays). */
const RELOCATED_SLAB_MAX = 64 * 1024;

/** An object loaded into the VM: its programs and maps over one `Vm`, with the kernel's helpers registered. */
export class VmCollection implements Collection {
  readonly engine: EngineName = 'vm';
  readonly programs = new Map<string, VmProgram>();
  readonly maps = new Map<string, VmMap>();
  readonly vm: Vm;
  /** The per-run state that helpers and contexts share (packet, skb, verdicts). @internal */
  readonly rc: RunContext;
  readonly cpus: number;
  /** bpf_trace_printk output (when no host.trace sink was given), oldest first. */
  readonly trace: string[] = [];
  readonly socketView: 'mac' | 'network';
  private nextHandle = 1;
  private packet: PacketBuffer | undefined;

  constructor(spec: ObjectSpec, opts: VmLoadOptions) {
    validateSpec(spec);
    // Map keys/values, contexts and packet loads are little-endian in the VM, as on the kernels bpfkit targets.
    checkByteOrder(spec, 'little', 'the VM');
    // 0 or a fraction would otherwise fall back to the default (budget) or make every run fail (cpus).
    for (const [name, v] of [
      ['budget', opts.budget],
      ['cpus', opts.cpus],
    ] as const)
      if (v !== undefined && !(Number.isSafeInteger(v) && v > 0))
        throw new BpfkitError(`vm.${name} must be a whole number above 0 (got ${v})`, 2);
    this.cpus = opts.cpus ?? vmHost.cpus;
    this.socketView = opts.socketView ?? 'mac';
    this.vm = new Vm({
      engine: opts.execution ?? preferredEngine(spec),
      ...(opts.budget ? { budget: opts.budget } : {}),
    });
    for (const h of HELPERS) this.vm.helpers.register(h.id, h.name, h.fn);
    // A call CO-RE poisoned (src/elf/core-apply.ts) loads, and fails only when reached, as in the kernel.
    this.vm.helpers.register(CORE_POISON_HELPER, 'core_poison', () => {
      throw new VmError(
        'helper',
        `reached an instruction poisoned by a CO-RE relocation that found no match in the target BTF`,
      );
    });
    this.rc = new RunContext(this.vm.memory, defaultHost(opts.host, this.trace));
    if (this.rc.host.cpu >= this.cpus)
      throw new BpfkitError(`host cpu ${this.rc.host.cpu} is outside the ${this.cpus} CPUs of this collection`, 2);

    for (const ms of spec.maps) this.addMap(ms);
    for (const ps of spec.programs) this.addProgram(ps);
    // Initial contents: bytes first (global data is then frozen), then prog arrays / maps of maps.
    for (const ms of spec.maps) {
      const m = this.maps.get(ms.name)!;
      for (const e of ms.contents) {
        if (e.value instanceof Uint8Array) m.update(e.key, e.value);
        else {
          // validateSpec made sure the program or map exists.
          const target = 'program' in e.value ? this.programs.get(e.value.program)! : this.maps.get(e.value.map)!;
          const v = new Uint8Array(4);
          new DataView(v.buffer).setUint32(0, target.fd, true);
          m.update(e.key, v);
        }
      }
      if (ms.frozen) m.frozen = true;
    }
  }

  private addMap(ms: MapSpec): VmMap {
    const handle = this.nextHandle++;
    const m = createMap(ms, {
      cpus: this.cpus,
      handle,
      isProgram: (h) => this.rc.programs[h] !== undefined,
      isMap: (h) => this.rc.maps[h] !== undefined,
    });
    m.progReadOnly = ms.frozen || (ms.flags & MapFlag.RDONLY_PROG) !== 0;
    this.rc.maps[handle] = m;
    if (m instanceof HashMap && m.place(this.vm.memory.allocate)) {
      // its key table and values now live where the 'wasm' engine looks entries up itself
    } else if (m.slab && !(m instanceof RingBufMap) && m.slab.length <= RELOCATED_SLAB_MAX) {
      // a small value slab goes where the engine reaches it fastest (the 'wasm' engine's linear memory)
      const slab = this.vm.memory.allocate(m.slab.length);
      slab.set(m.slab);
      m.slab = slab;
    }
    if (m.slab) {
      // A value pointer reaches its own value (stride), a ring-buffer record pointer its own open record.
      const reach = m instanceof RingBufMap ? { confine: m.confine } : { stride: m.stride, extent: m.valueSize };
      this.rc.mapBase[handle] = this.vm.memory.map(m.slab, {
        name: `map ${ms.name} values`,
        ...reach,
        writable: !m.progReadOnly,
        owner: m,
      });
    }
    this.maps.set(ms.name, m);
    return m;
  }

  private addProgram(ps: ProgramSpec): void {
    const type = ps.type;
    for (const i of ps.insns) {
      if (i.code !== (BPF_JMP | BPF_CALL) || i.src !== 0 || i.imm === CORE_POISON_HELPER) continue;
      const h = helperById.get(i.imm);
      if (!h)
        throw new VmError('load', `program '${ps.name}' calls ${helperName(i.imm)}, which the VM does not implement`, {
          pc: i.pc,
          program: ps.name,
        });
      if (!helperAllowed(h, type)) {
        throw new VmError(
          'load',
          `program '${ps.name}' (${progTypeLabel(type)}) may not call ${helperName(i.imm)}: the kernel does not offer it to this program type`,
          { pc: i.pc, program: ps.name },
        );
      }
    }
    const refs = new Map(ps.mapRefs.map((r) => [r.pc, r]));
    const resolvePseudo = (insn: Instruction): readonly [number, number] | undefined => {
      const ref = refs.get(insn.pc);
      if (!ref) return undefined;
      // validateSpec made sure the map exists and, for a value's address, is an array. As in the kernel
      // engine, the reference's kind decides (whatever pseudo source the lddw carried).
      const m = this.maps.get(ref.map)!;
      if (ref.kind === 'fd') return [m.fd, 0];
      // a value's address carries its element's tag, as a lookup's pointer does (Memory.tagOf)
      const addr = this.rc.mapBase[m.fd]! + ref.offset;
      return [addr, this.vm.memory.tagOf(addr)];
    };
    // callx picks its helper at run time: it gets the same per-type set as `call` (checked above).
    const mayCall = (id: number): boolean => {
      if (id === CORE_POISON_HELPER) return true; // fails when reached, with its own message
      const h = helperById.get(id);
      return h !== undefined && helperAllowed(h, type);
    };
    const loaded = this.vm.load(ps.insns, { name: ps.name, resolvePseudo, owner: ps, mayCall });
    const handle = this.nextHandle++;
    this.rc.programs[handle] = loaded;
    this.programs.set(ps.name, new VmProgram(this, ps, loaded, handle));
  }

  /** The one packet buffer runs share, mapped once into VM memory. @internal */
  packetBuffer(): PacketBuffer {
    if (!this.packet) {
      this.packet = new PacketBuffer(new Uint8Array(0));
      this.packet.mapInto(this.vm.memory);
    }
    return this.packet;
  }

  /**
   * The area batches of frames are run from (VmProgram.runPackets), in the 'wasm' engine's linear memory:
   * null when the engine is another or the memory has no room left.
   * @internal
   */
  batchArea(): BatchArea | null {
    if (this.area !== undefined) return this.area;
    const pb = this.packetBuffer();
    this.area = null;
    if (this.vm.engine !== 'wasm') return null;
    const ctl = this.vm.memory.allocate(C_RECORDS + BATCH_RECORDS * RECORD_BYTES);
    const staging = this.vm.memory.allocate(BATCH_STAGING);
    const out = this.vm.memory.allocate(BATCH_STAGING);
    // (an allocation that did not fit is an ordinary array: the module cannot reach it)
    const buf = pb.bytes.buffer;
    if (ctl.buffer !== buf || staging.buffer !== buf || out.buffer !== buf || pb.bytes.byteOffset === 0) return null;
    const cells = new Int32Array(buf);
    this.area = { ctl: ctl.byteOffset, cells, staging, stagingLin: staging.byteOffset, out };
    return this.area;
  }
  private area: BatchArea | null | undefined;

  /**
   * A capture reader's chunk buffer of at least `size` bytes in the 'wasm' engine's linear memory
   * (VmProgram.takeFrameChunk): records read into it run in runPackets where they lie, nothing copied into
   * the batch area first. At most FRAME_CHUNKS of them are ever made (a read-ahead scan's two), each of
   * at most FRAME_CHUNK_MAX bytes, and only after the batch area (which they must not crowd out); they
   * stay for the collection's next scans, as the linear memory's bump allocator never frees. Undefined
   * when there is none to give: another engine, no batch area, all in use, too large or no room left.
   * @internal
   */
  takeFrameChunk(size: number): Uint8Array | undefined {
    if (this.batchArea() === null) return undefined;
    const free = this.freeFrameChunks;
    let best = -1;
    for (let i = 0; i < free.length; i++)
      if (free[i]!.length >= size && (best < 0 || free[i]!.length < free[best]!.length)) best = i;
    if (best >= 0) return free.splice(best, 1)[0];
    if (this.frameChunks.length >= FRAME_CHUNKS || size > FRAME_CHUNK_MAX) return undefined;
    const bytes = this.vm.memory.allocate(size);
    // (an allocation that did not fit is an ordinary array: no use here)
    if (bytes.buffer !== this.area!.cells.buffer) {
      this.frameChunks.push(NOT_LINEAR);
      return undefined;
    }
    this.frameChunks.push(bytes);
    return bytes;
  }

  /** Give back a buffer takeFrameChunk gave: false when `buf` is not one of them. @internal */
  giveBackFrameChunk(buf: Uint8Array): boolean {
    if (!this.frameChunks.includes(buf)) return false;
    if (!this.freeFrameChunks.includes(buf)) this.freeFrameChunks.push(buf);
    return true;
  }

  /** Whether `buf` is one of takeFrameChunk's buffers (runPackets runs the frames in it where they lie). @internal */
  isFrameChunk(buf: Uint8Array): boolean {
    const made = this.frameChunks;
    for (let i = 0; i < made.length; i++) if (made[i] === buf) return true;
    return false;
  }
  private readonly frameChunks: Uint8Array[] = [];
  private readonly freeFrameChunks: Uint8Array[] = [];

  /**
   * Where runPacketAt copies a frame on the 'wasm' engine (in linear memory, mapped nowhere in VM
   * memory: only LD_ABS/LD_IND read it), so the module's own LD_ABS/LD_IND read it instead of calling
   * into JavaScript for every load; null when the engine is another or linear memory has no room.
   * @internal
   */
  inPlaceScratch(): Uint8Array | null {
    if (this.scratch !== undefined) return this.scratch;
    this.scratch = null;
    if (this.vm.engine !== 'wasm') return null;
    const bytes = this.vm.memory.allocate(IN_PLACE_SCRATCH);
    // (an allocation that did not fit is an ordinary array: the module's loads could not reach it)
    if (bytes.buffer === this.packetBuffer().bytes.buffer && bytes.byteOffset !== 0) this.scratch = bytes;
    return this.scratch;
  }
  private scratch: Uint8Array | null | undefined;

  /** The program called `name`; throws naming the programs there are when none is. */
  program(name: string): VmProgram {
    return byName(this.programs, 'program', name);
  }
  /** The map called `name`; throws naming the maps there are when none is. */
  map(name: string): VmMap {
    return byName(this.maps, 'map', name);
  }
  /** A map by its handle (prog-array / map-in-map values). */
  mapByHandle(handle: number): BpfMap | undefined {
    return this.rc.maps[handle];
  }
  close(): void {
    for (const m of this.maps.values()) m.close();
  }
}

/**
 * Records per batch, and the bytes of frames a batch copies into linear memory at once (a window: each
 * costs ~1 µs of set-up in JavaScript and at the module's entry, so it should hold the whole batch of
 * small frames — 48 KiB windows of ~430 records cost 1.5-2.5 ns a record more than these).
 */
const BATCH_RECORDS = 1024;
const BATCH_STAGING = 128 * 1024;
/**
 * Frame chunks (VmCollection.takeFrameChunk): a read-ahead scan's two, each up to a 256 KiB read and
 * the reader's 64 KiB room for a cut record (runCapture's, RUN_CHUNK), so that together they take 640 KiB
 * of the 16 MiB linear memory; a scan with larger reads gets ordinary buffers.
 */
const FRAME_CHUNKS = 2;
const FRAME_CHUNK_MAX = (256 << 10) + (64 << 10);
/**
 * Frames runPackets ran where they lay in a frame chunk (VmCollection.takeFrameChunk) since the process
 * started: the copying path gives the same results, so tests read this to see the frames really were not
 * copied.
 */
export const framesInPlace = { records: 0 };

/** Marks a frame chunk whose allocation did not fit linear memory (counted, so it is not tried again). */
const NOT_LINEAR = new Uint8Array(0);
/**
 * Largest frame runPacketAt copies into linear memory: an Ethernet frame with room to spare. Larger
 * ones (loopback's 64 KiB segments) are read where they lie: copying all of one would cost more than the
 * few header loads a filter makes calling out.
 */
export const IN_PLACE_SCRATCH = 4096;

/** Where batches live in linear memory: the control block (packet-loop.ts) and the frames' staging area. */
interface BatchArea {
  ctl: number;
  /** The whole linear memory as int32s. */
  cells: Int32Array;
  staging: Uint8Array;
  stagingLin: number;
  /** Changed packets, each at its frame's offset in `staging`. */
  out: Uint8Array;
}

/**
 * What VmProgram.runPackets reports for frame `i`, in frame order: its retval and whether the packet
 * after the run differs from the frame (run()'s `data` would); when it does, lastPacket() returns that
 * packet during the call. Each report comes before anything a later frame's run does outside the
 * program (helper effects, trace lines); it may be made from inside such a helper, so it must not run
 * the VM itself.
 */
export type PacketResult = (i: number, retval: number, changed: boolean) => void;

/** A program loaded into the VM, with the context its program type gets (`__sk_buff`, `xdp_md` or memory). */
export class VmProgram implements Program {
  readonly name: string;
  readonly type: number;
  readonly fd: number;
  readonly spec: ProgramSpec;
  readonly loaded: LoadedProgram;
  /** Which context the program type gets: an `__sk_buff`, an `xdp_md`, or plain memory. @internal */
  readonly kind: ContextKind;
  private readonly coll: VmCollection;
  private ctxBytes: Uint8Array | undefined;
  private ctxDv: DataView | undefined;
  private ctxAddr = 0;
  private readonly cbSaved = new Uint8Array(20);
  private readonly skbState = newSkbState();
  /** Options handed to Vm.run, built once (r1 = the context's address). */
  private readonly runOpts: { args: number[]; packet: LdAbsPacket | undefined; context: RunContext | undefined } = {
    args: [],
    packet: undefined,
    context: undefined,
  };
  /** Re-derive the __sk_buff after a helper moved the packet (made once, not per run). */
  private readonly syncSkb = (): void => {
    this.cbSavedDirty = true;
    sanitizeSkb(this.coll.rc, this.ctxDv!, this.ctxBytes!, this.coll.packetBuffer(), this.cbSaved);
  };
  /** cbSaved holds a run's cb[] (syncSkb ran): runPacket must zero it before the next run. */
  private cbSavedDirty = true;
  /** The context holds zeros but for the fields writeFreshSkbAt writes (runPacketAt's in-place runs keep it so). */
  private ctxClean = false;
  /** See packet-access.ts: runPacketAt may run this program on a frame where it lies. */
  private readonly inPlace: boolean;
  /** What LD_ABS/LD_IND read in an in-place run (one object, pointed at each frame in turn). */
  private readonly inPlaceView: LdAbsPacket = { bytes: new Uint8Array(0), data: 0, end: 0, mac: 0, net: 0 };
  /** VmCollection.inPlaceScratch, once asked (undefined: not yet). */
  private scratch: Uint8Array | null | undefined;
  /**
   * RunContext.lazyPacket of in-place runs: when a helper's pointer reaches the packet buffer (which
   * holds some older frame), copy the current frame in as runPacket would, once per run.
   */
  private readonly settlePacket = (addr: number, len: number): void => {
    const pb = this.coll.packetBuffer();
    if (addr + len <= pb.base || addr >= pb.base + pb.bytes.length) return;
    const v = this.inPlaceView;
    pb.reset(v.bytes.subarray(v.mac, v.end));
    if (v.data !== v.mac) pb.data = pb.net;
    this.coll.rc.lazyPacket = undefined;
  };

  constructor(coll: VmCollection, spec: ProgramSpec, loaded: LoadedProgram, handle: number) {
    this.coll = coll;
    this.spec = spec;
    this.name = spec.name;
    this.type = spec.type;
    this.fd = handle;
    this.loaded = loaded;
    this.kind = contextKind(spec.type);
    if (this.kind !== 'memory') {
      this.ctxBytes = coll.vm.memory.allocate(this.kind === 'skb' ? SKB_SIZE : XDP_MD_SIZE);
      this.ctxDv = new DataView(this.ctxBytes.buffer, this.ctxBytes.byteOffset, this.ctxBytes.byteLength);
      this.ctxAddr = coll.vm.memory.map(this.ctxBytes, {
        name: `${this.kind === 'skb' ? '__sk_buff' : 'xdp_md'} of ${spec.name}`,
      });
      this.runOpts.args = [this.ctxAddr];
    }
    this.inPlace = this.kind === 'skb' && readsPacketOnlyByLdAbs(loaded);
  }

  /**
   * Set up the packet buffer, the context and the run context for `opts` exactly as run() does, and
   * return the options Vm.run takes — without running. A debugger steps a run from them (VmStepper); the
   * run context keeps its packet until the next run. Programs whose context is plain memory have none.
   */
  prepareRun(opts: RunOptions): VmRunOptions {
    if (this.kind === 'memory') throw new InputError(`program '${this.name}' takes plain memory, not a packet context`);
    this.setUp(opts);
    return { ...this.runOpts };
  }

  /** The part of a context run before the program starts (see prepareRun); says whether the view starts at the network header. */
  private setUp(opts: RunOptions): { pb: PacketBuffer; network: boolean } {
    const coll = this.coll;
    const rc = coll.rc;
    const frame = opts.data ?? new Uint8Array(0);
    const pb = coll.packetBuffer();
    pb.reset(frame);
    this.ctxClean = false;
    const network = this.networkView(frame.length);
    if (network) pb.data = pb.net;
    rc.progType = this.type;
    rc.packet = pb;
    rc.verdicts = [];
    const dv = this.ctxDv!;
    this.ctxBytes!.fill(0);
    if (this.kind === 'skb') {
      rc.skb = skbStateFor(frame, this.skbState);
      rc.skbCtxGiven = opts.ctx !== undefined;
      if (opts.ctx) applyCtxIn(rc.skb, opts.ctx, this.cbSaved);
      else this.cbSaved.fill(0);
      writeSkb(rc, dv, pb);
      this.ctxBytes!.set(this.cbSaved, 48);
      rc.syncCtx = this.syncSkb;
    } else {
      rc.skb = undefined;
      const xs = xdpStateFrom(opts.ctx);
      rc.syncCtx = () => writeXdp(dv, pb, xs);
      rc.syncCtx();
    }
    this.runOpts.packet = pb;
    this.runOpts.context = rc;
    return { pb, network };
  }

  /**
   * Does the program see a frame of `len` bytes from its network header? cgroup_skb programs always do
   * (they run in the IP stack); socket filters with `socketView: 'network'` (BPF_PROG_TEST_RUN's view).
   */
  private networkView(len: number): boolean {
    if (len < 14) return false;
    return (
      this.type === ProgType.CGROUP_SKB || (this.type === ProgType.SOCKET_FILTER && this.coll.socketView === 'network')
    );
  }

  /** Run the program on a packet and/or context, as BPF_PROG_TEST_RUN would in the kernel. */
  run(opts: RunOptions): VmRunResult {
    if (opts.cpu === undefined || opts.cpu === this.coll.rc.host.cpu) return this.runHere(opts);
    const host = this.coll.rc.host;
    if (!Number.isInteger(opts.cpu) || opts.cpu < 0 || opts.cpu >= this.coll.cpus)
      throw new InputError(`cpu ${opts.cpu} is outside the ${this.coll.cpus} CPUs of this collection`);
    const saved = host.cpu;
    host.cpu = opts.cpu;
    try {
      return this.runHere(opts);
    } finally {
      host.cpu = saved;
    }
  }

  /** run() on host.cpu. */
  private runHere(opts: RunOptions): VmRunResult {
    const repeat = Math.max(1, opts.repeat ?? 1);
    if (this.kind === 'memory') return this.runMemory(opts, repeat);
    const coll = this.coll;
    const rc = coll.rc;
    const ctx = this.ctxBytes!;
    try {
      const { pb, network } = this.setUp(opts);
      const t0 = performance.now();
      const res = coll.vm.runRepeat(this.loaded, this.runOpts, repeat);
      const t1 = performance.now();
      if (this.kind === 'skb' && opts.ctx) rc.syncCtx(); // read back what the program wrote, for ctx out
      // XDP: BPF_PROG_TEST_RUN returns the buffer from data_meta (metadata included).
      let data = this.kind === 'xdp' ? pb.packet(pb.meta) : pb.packet();
      if (network) {
        // BPF_PROG_TEST_RUN pushes the Ethernet header back zeroed.
        data = new Uint8Array(pb.end - pb.mac);
        data.set(pb.bytes.subarray(pb.net, pb.end), pb.net - pb.mac);
      }
      return {
        retval: res.retval,
        data,
        ...(opts.ctx ? { ctx: this.kind === 'skb' ? ctxOut(rc, ctx, pb) : ctx.slice() } : {}),
        durationNs: ((t1 - t0) * 1e6) / repeat,
        verdicts: rc.verdicts,
        instructions: res.instructions,
      };
    } finally {
      rc.packet = undefined;
    }
  }

  /** Verdicts of runPacket runs (one array, emptied per run: nothing allocated per packet). */
  private readonly packetVerdicts: Verdict[] = [];

  /**
   * The per-packet entry of capture loops (bpfkit urls runs its filter on every frame through it): the
   * same run as run({ data: frame }) — same packet view, zeroed __sk_buff with the same fields, same
   * retval — but nothing is copied back out and nothing is allocated: the packet is copied into the one
   * mapped packet buffer, which is resized in place, so the compiled program keeps its cached context,
   * stack and map regions from one packet to the next.
   */
  runPacket(frame: Uint8Array): number {
    return this.runPacket32(frame) >>> 0;
  }

  /** runPacket's retval as a signed int32 (see Vm.runRetval32: never boxed on its way out). */
  private runPacket32(frame: Uint8Array): number {
    if (this.kind !== 'skb') {
      const res = this.run({ data: frame });
      this.lastOther = res.data;
      return res.retval | 0;
    }
    const pb = this.coll.packetBuffer();
    pb.reset(frame);
    this.lastNetwork = this.networkView(frame.length);
    if (this.lastNetwork) pb.data = pb.net;
    this.lastInPlace = false;
    this.ctxBytes!.fill(0);
    this.ctxClean = false;
    return this.runFresh(frame, 0, frame.length, pb.base + pb.data, pb.base + pb.end, pb, pb);
  }

  /**
   * runPacket for the frame at bytes[off, off + len), for capture loops that hold frames inside a larger
   * buffer. A program that reads the packet only through LD_ABS/LD_IND and dereferences nothing but its
   * stack (packet-access.ts: the classic socket filter shape) runs on the frame where it lies: the same
   * result and the same __sk_buff, without copying the frame into the packet buffer. Others get a copy.
   */
  runPacketAt(bytes: Uint8Array, off: number, len: number): number {
    return this.runPacketAt32(bytes, off, len) >>> 0;
  }

  /**
   * runPacketAt's retval as a signed int32 (`>>> 0` makes it the u32 retval), for capture loops that
   * only ask whether it is zero: a retval above 2^31 - 1 (a filter's -1) returned as a u32 is a boxed
   * heap number per packet wherever V8 does not inline runPacketAt into its caller (Vm.runRetval32).
   * @internal
   */
  runPacketAt32(bytes: Uint8Array, off: number, len: number): number {
    if (!this.inPlace)
      return this.runPacket32(off === 0 && len === bytes.length ? bytes : bytes.subarray(off, off + len));
    const view = this.inPlaceView;
    // On the 'wasm' engine a copy in linear memory costs less than LD_ABS/LD_IND calling out for
    // every load (the frame's own bytes, so the run and its result are the same). A frame the caller
    // placed in this program's frame window (frameWindow) is in linear memory already: no copy.
    const scratch = this.scratch === undefined ? (this.scratch = this.coll.inPlaceScratch()) : this.scratch;
    if (bytes === this.window) {
      view.bytes = bytes;
      view.mac = off;
    } else if (scratch !== null && len <= scratch.length) {
      scratch.set(bytes.subarray(off, off + len));
      view.bytes = scratch;
      view.mac = 0;
    } else {
      view.bytes = bytes;
      view.mac = off;
    }
    const at = view.mac;
    view.net = at + 14;
    view.end = at + len;
    this.lastNetwork = this.networkView(len);
    this.lastInPlace = true;
    view.data = this.lastNetwork ? at + 14 : at;
    // Such a program cannot write its context (nor can its helpers): after one zeroing, rewriting the
    // per-packet fields is enough.
    if (!this.ctxClean) {
      this.ctxBytes!.fill(0);
      this.ctxClean = true;
    }
    // The __sk_buff says what a copied run's would: data where the packet buffer would hold the frame.
    // (No helper such a program may call looks at the packet buffer: the run gets none.)
    const data = this.coll.packetBuffer().base + XDP_PACKET_HEADROOM + (view.data - at);
    this.coll.rc.lazyPacket = this.settlePacket;
    return this.runFresh(bytes, off, len, data, data + (view.end - view.data), view, undefined);
  }

  /**
   * A buffer of `size` bytes in the 'wasm' engine's linear memory, this program's own (made at the first
   * call; later calls return it while it is large enough), for capture loops that copy many frames at
   * once: runPacketAt on a frame in it reads the frame where it lies instead of copying it first. null
   * when the program is not one runPacketAt runs in place, on another engine, or linear memory has no
   * room. Nothing in the VM maps it: only the LD_ABS/LD_IND of runPacketAt's runs read it, so what the
   * caller writes there between runs is its own affair.
   * @internal
   */
  frameWindow(size: number): Uint8Array | null {
    if (this.window !== undefined) return this.window !== null && this.window.length >= size ? this.window : null;
    this.window = null;
    if (!this.inPlace || this.coll.vm.engine !== 'wasm' || this.coll.inPlaceScratch() === null) return null;
    const bytes = this.coll.vm.memory.allocate(size);
    // (an allocation that did not fit is an ordinary array: the module's loads could not reach it)
    if (bytes.buffer === this.coll.packetBuffer().bytes.buffer && bytes.byteOffset !== 0) this.window = bytes;
    return this.window;
  }
  /** frameWindow's buffer (undefined: not asked for; null: none could be made). */
  private window: Uint8Array | null | undefined;

  /** runPackets may batch this program: undefined until asked, false after the batch was refused twice running. */
  private batchable: boolean | undefined;

  /**
   * The capture loops' entry for many frames: runs the program on src[offs[i], offs[i] + lens[i]) for i in
   * [0, count), in order, each exactly as runPacketAt would (same retvals, maps, helper effects and
   * faults; a fault is thrown after the frames before it were reported), calling `report` for each.
   * On the 'wasm' engine the frames go into linear memory a window at a time and run inside the module
   * one after another (wasm/packet-loop.ts): no JavaScript per frame unless the program calls into it.
   * Programs that see the frame from its network header, and other engines, take runPacketAt per frame.
   */
  runPackets(src: Uint8Array, offs: Int32Array, lens: Int32Array, count: number, report: PacketResult): void {
    if (this.batchable === undefined) this.batchable = this.mayBatch();
    const area = this.batchable ? this.coll.batchArea() : null;
    const pb = this.coll.packetBuffer();
    // frames a capture reader read into linear memory run where they lie (else each window is copied
    // into the batch area's staging first)
    const inPlace = area !== null && this.coll.isFrameChunk(src);
    let i = 0;
    while (i < count) {
      const start = offs[i] as number;
      let j = i;
      let stop = start;
      if (area !== null && this.batchable) {
        // the window: frames that fit the staging area from `start`, each laid out in the record table
        // as it is taken (table index = frame index - i)
        const fit = pb.bytes.length - XDP_PACKET_HEADROOM - SHINFO_SIZE;
        const cells = area.cells;
        const lin = inPlace ? src.byteOffset : area.stagingLin - start;
        // (the bounds hoisted out of the per-frame test: a frame ends at most BATCH_STAGING past `start`)
        const last = Math.min(count, i + BATCH_RECORDS);
        const limit = start + BATCH_STAGING;
        for (let t = (area.ctl + C_RECORDS) >> 2; j < last; j++, t += RECORD_BYTES >> 2) {
          const o = offs[j] as number;
          const len = lens[j] as number;
          const e = o + len;
          if (o < start || e > limit || len > fit) break;
          if (e > stop) stop = e;
          cells[t] = lin + o;
          cells[t + 1] = len;
        }
      }
      if (j === i) {
        const retval = this.runPacketAt(src, start, lens[i] as number);
        report(i, retval, this.packetChanged(src, start, lens[i] as number));
        i++;
        continue;
      }
      if (inPlace) i = this.runBatch(area, src, src.byteOffset, src.byteOffset + start, offs, lens, i, j, report);
      else {
        area!.staging.set(src.subarray(start, stop));
        i = this.runBatch(area!, area!.staging, area!.stagingLin, area!.stagingLin, offs, lens, i, j, report, src);
      }
    }
  }

  /**
   * A buffer of at least `size` bytes for a capture reader to read records into, whose frames
   * runPackets then runs where they lie (on the 'wasm' engine, in its linear memory: no copy into the
   * batch area first); undefined when there is none to give (see VmCollection.takeFrameChunk) — the
   * reader then takes an ordinary one. Give it back with giveBackFrameChunk once no record in it is read.
   * @internal
   */
  takeFrameChunk(size: number): Uint8Array | undefined {
    return this.batchable === false || !this.mayBatch() ? undefined : this.coll.takeFrameChunk(size);
  }

  /** Give back a buffer takeFrameChunk gave (false: `buf` is not one of them, nothing done). @internal */
  giveBackFrameChunk(buf: Uint8Array): boolean {
    return this.coll.giveBackFrameChunk(buf);
  }

  /** Is this program one runPackets can batch (an __sk_buff, the frame seen from its MAC header)? */
  private mayBatch(): boolean {
    if (this.kind !== 'skb' || this.coll.vm.engine !== 'wasm') return false;
    return (
      this.type !== ProgType.CGROUP_SKB && !(this.type === ProgType.SOCKET_FILTER && this.coll.socketView === 'network')
    );
  }

  /**
   * Frames i..j-1 of runPackets, laid out in the batch table from index i - first (table index = frame
   * index - first): runs as many as the module finishes, reports them, and returns the next frame. The
   * table's linear addresses point into `view` (whose byte 0 is at linear address `viewLin`: the
   * staging area, or the frames' own buffer when they lie in linear memory); `winLin` is the linear
   * address of the window's first byte, which the area's `out` mirrors. `src` holds the frames at
   * `offs` (the caller's buffer; the same as `view` when run in place).
   */
  private runBatch(
    area: BatchArea,
    view: Uint8Array,
    viewLin: number,
    winLin: number,
    offs: Int32Array,
    lens: Int32Array,
    first: number,
    end: number,
    report: PacketResult,
    src: Uint8Array = view,
  ): number {
    const coll = this.coll;
    const rc = coll.rc;
    const pb = coll.packetBuffer();
    const cells = area.cells;
    const c = area.ctl >> 2;
    const table = (area.ctl + C_RECORDS) >> 2;
    const stride = RECORD_BYTES >> 2;
    const n = end - first;
    // table index k is frame first + k
    let reported = 0;
    const flush = (k: number): void => {
      for (; reported < k; reported++) {
        const e = table + reported * stride;
        // (where the module copied a changed packet out: lastPacket copies it from there if asked, so a
        // report that does not ask allocates nothing; reportedAt is -1 again after it, so an unchanged
        // record — nearly all of them — stores nothing but its report)
        if (cells[e + 3] === 0) report(first + reported, (cells[e + 2] as number) >>> 0, false);
        else {
          this.reportedAt = (cells[e] as number) - winLin;
          this.reportedLen = cells[e + 1] as number;
          try {
            report(first + reported, (cells[e + 2] as number) >>> 0, true);
          } finally {
            this.reportedAt = -1;
          }
        }
      }
    };
    const batch: PacketBatch = {
      ctl: area.ctl,
      synced: -1,
      sync: (k: number): void => {
        flush(k);
        const len = cells[table + k * stride + 1] as number;
        pb.data = pb.meta = pb.mac = XDP_PACKET_HEADROOM;
        pb.end = XDP_PACKET_HEADROOM + len;
        pb.net = XDP_PACKET_HEADROOM + 14;
        pb.remap();
        rc.skb = skbStateAt(view, (cells[table + k * stride] as number) - viewLin, len, this.skbState);
        if (this.packetVerdicts.length !== 0) this.packetVerdicts.length = 0;
        if (this.cbSavedDirty) {
          this.cbSaved.fill(0);
          this.cbSavedDirty = false;
        }
        batch.synced = k;
      },
      settled: (): boolean => {
        const b = pb.bytes;
        if (b.buffer !== cells.buffer || b.byteOffset !== cells[c + C_PB / 4] || b.length !== cells[c + C_PB_CAP / 4])
          return false;
        if (rc.verdicts !== this.packetVerdicts || this.packetVerdicts.length !== 0 || rc.packet !== pb) return false;
        // a packet a helper moved or resized: the loop's compare and copy-out do not apply (JS reports it)
        const H = XDP_PACKET_HEADROOM;
        return pb.data === H && pb.mac === H && pb.meta === H && pb.net === H + 14 && pb.end === cells[c + C_END / 4];
      },
    };
    // what runFresh sets for every run, the same for the whole batch (sync sets the per-frame parts)
    rc.progType = this.type;
    rc.packet = pb;
    if (this.packetVerdicts.length !== 0) this.packetVerdicts.length = 0;
    rc.verdicts = this.packetVerdicts;
    rc.skbCtxGiven = false;
    rc.syncCtx = this.syncSkb;
    if (this.cbSavedDirty) {
      this.cbSaved.fill(0);
      this.cbSavedDirty = false;
    }
    this.ctxClean = false;
    this.lastInPlace = false;
    this.lastNetwork = false;
    const runOpts = this.runOpts;
    runOpts.packet = pb;
    runOpts.context = rc;
    cells[c + C_PB / 4] = pb.bytes.byteOffset;
    cells[c + C_PB_BASE / 4] = pb.base;
    cells[c + C_PB_CAP / 4] = pb.bytes.length;
    cells[c + C_CTX / 4] = this.ctxBytes!.byteOffset;
    cells[c + C_CTX_ADDR / 4] = this.ctxAddr;
    // (a changed packet is copied out to its frame's linear address plus this: into `out` at its offset
    // in the window)
    cells[c + C_OUT_DELTA / 4] = area.out.byteOffset - winLin;
    let from = 0;
    try {
      while (from < n) {
        cells[c + C_END / 4] = pb.end;
        cells[c] = -1;
        batch.synced = -1;
        const done = coll.vm.runPackets(this.loaded, runOpts, batch, from, n);
        if (done < 0) {
          // not compiled yet (its first run compiles it), or it cannot loop: this frame on its own
          if (from === 0 && this.batchRefused++ > 0) this.batchable = false;
          flush(from);
          const k = first + from;
          const retval = this.runPacketAt(src, offs[k] as number, lens[k] as number);
          report(k, retval, this.packetChanged(src, offs[k] as number, lens[k] as number));
          reported = ++from;
          return first + from;
        }
        this.batchRefused = 0;
        if (view === src) framesInPlace.records += done;
        const last = from + done - 1;
        if (batch.synced !== last) batch.sync(last);
        flush(last);
        const k = first + last;
        report(
          k,
          (cells[table + last * stride + 2] as number) >>> 0,
          this.packetChanged(src, offs[k] as number, lens[k] as number),
        );
        reported = from = last + 1;
      }
    } catch (err) {
      // the frames before the one that faulted were run and are reported first
      const at = cells[c] as number;
      if (at > reported) flush(at);
      throw err;
    } finally {
      rc.packet = undefined;
      rc.lazyPacket = undefined;
    }
    return end;
  }
  private batchRefused = 0;
  /**
   * While runPackets reports a frame whose changed packet the module copied out: where it lies in the
   * batch area's `out` (-1: no such report is being made), and its length.
   */
  private reportedAt = -1;
  private reportedLen = 0;

  /**
   * The part runPacket and runPacketAt share: a fresh __sk_buff for the frame at bytes[off, off + len)
   * (its non-zero fields written into a context zeroed by the caller; `data`/`dataEnd` are the packet's
   * VM addresses), then the run, LD_ABS/LD_IND reading `packet`, helpers seeing `buffer`. Returns the
   * retval as a signed int32 (Vm.runRetval32).
   */
  private runFresh(
    bytes: Uint8Array,
    off: number,
    len: number,
    data: number,
    dataEnd: number,
    packet: LdAbsPacket,
    buffer: PacketBuffer | undefined,
  ): number {
    const rc = this.coll.rc;
    rc.progType = this.type;
    rc.packet = buffer;
    if (this.packetVerdicts.length !== 0) this.packetVerdicts.length = 0; // (setting length is not free)
    rc.verdicts = this.packetVerdicts;
    rc.skb = skbStateAt(bytes, off, len, this.skbState);
    rc.skbCtxGiven = false;
    if (this.cbSavedDirty) {
      this.cbSaved.fill(0);
      this.cbSavedDirty = false;
    }
    writeFreshSkbAt(rc.skb, this.ctxDv!, data, dataEnd);
    rc.syncCtx = this.syncSkb;
    const runOpts = this.runOpts;
    runOpts.packet = packet;
    runOpts.context = rc;
    try {
      return this.coll.vm.runRetval32(this.loaded, runOpts);
    } finally {
      rc.packet = undefined;
      rc.lazyPacket = undefined;
    }
  }

  /** The last runPacket / runPacketAt ran where the frame lies (nothing copied: the packet is the frame). */
  private lastInPlace = false;
  /** ... and saw the frame from its network header (run()'s `data` then has the Ethernet header zeroed). */
  private lastNetwork = false;
  /** run()'s `data` for the last runPacket of a program without an __sk_buff (XDP, plain memory). */
  private lastOther: Uint8Array | undefined;

  /**
   * Would run()'s `data` for the last runPacket / runPacketAt differ from bytes[off, off + len), the frame
   * it ran on? Answered without copying anything (a capture loop asks for every frame). For programs
   * without an __sk_buff, runPacket is run(), whose `data` it keeps and compares.
   */
  packetChanged(bytes: Uint8Array, off: number, len: number): boolean {
    if (this.kind !== 'skb') {
      const after = this.lastOther;
      if (after === undefined) throw new InputError(`program '${this.name}' has not run a packet yet`);
      if (after.length !== len) return true;
      for (let i = 0; i < len; i++) if (bytes[off + i] !== after[i]) return true;
      return false;
    }
    if (this.lastInPlace) {
      // (a program run in place cannot write the packet: only the network view's zeroed header differs)
      if (!this.lastNetwork) return false;
      for (let i = 0; i < 14; i++) if (bytes[off + i] !== 0) return true;
      return false;
    }
    const pb = this.coll.packetBuffer();
    const src = pb.bytes;
    if (this.lastNetwork) {
      if (pb.end - pb.mac !== len) return true;
      const head = pb.net - pb.mac;
      for (let i = 0; i < head; i++) if (bytes[off + i] !== 0) return true;
      for (let i = head; i < len; i++) if (bytes[off + i] !== src[pb.mac + i]) return true;
      return false;
    }
    if (pb.end - pb.data !== len) return true;
    for (let i = 0; i < len; i++) if (bytes[off + i] !== src[pb.data + i]) return true;
    return false;
  }

  /** run()'s `data` for the last runPacket / runPacketAt: the packet after the run (a copy). */
  lastPacket(): Uint8Array {
    if (this.kind !== 'skb') {
      if (this.lastOther === undefined) throw new InputError(`program '${this.name}' has not run a packet yet`);
      return this.lastOther.slice();
    }
    if (this.reportedAt >= 0)
      return this.coll.batchArea()!.out.slice(this.reportedAt, this.reportedAt + this.reportedLen);
    const v: LdAbsPacket = this.lastInPlace ? this.inPlaceView : this.coll.packetBuffer();
    if (!this.lastNetwork) return v.bytes.slice(v.data, v.end);
    // BPF_PROG_TEST_RUN pushes the Ethernet header back zeroed (as run() does)
    const out = new Uint8Array(v.end - v.mac);
    out.set(v.bytes.subarray(v.net, v.end), v.net - v.mac);
    return out;
  }

  private runMemory(opts: RunOptions, repeat: number): VmRunResult {
    const coll = this.coll;
    const rc = coll.rc;
    rc.progType = this.type;
    rc.packet = undefined;
    rc.skb = undefined;
    rc.verdicts = [];
    const mem = (opts.ctx ?? opts.data ?? new Uint8Array(0)).slice();
    let res: ReturnType<Vm['run']> | undefined;
    const t0 = performance.now();
    for (let i = 0; i < repeat; i++) res = coll.vm.runOnMemory(this.loaded, mem, { context: rc });
    const t1 = performance.now();
    return {
      retval: res!.retval,
      data: mem,
      durationNs: ((t1 - t0) * 1e6) / repeat,
      verdicts: rc.verdicts,
      instructions: res!.instructions,
    };
  }

  /** Nothing to release in the VM; here for the Program interface. */
  close(): void {}
}

/**
 * Load an ObjectSpec into a new VM: maps created, map references patched, helpers checked against what the
 * kernel offers each program type. `loadCollection(spec, { engine: 'vm' })` calls this.
 */
export function loadVmCollection(spec: ObjectSpec, opts: VmLoadOptions = {}): VmCollection {
  return new VmCollection(spec, opts);
}
