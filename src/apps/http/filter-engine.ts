/**
 * Loads the committed eBPF filter objects (src/apps/http/bpf/*.o) into an engine — the userspace VM or
 * the kernel — through the engine API, and adapts the loaded program and its `sessions` map to the
 * filter interfaces the pipelines use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { EnvironmentError } from '../../util/errors.js';
import type { ClassicFilter, SessionTable } from './classic-filter.js';
import type { FullFilter } from './full-pipeline.js';
import type { FlowEnds } from '../../packet/flow/flow-key.js';
import { frameBytes, type Frame } from '../../packet/frame.js';
import type { Collection, Program, BpfMap } from '../../engine/types.js';
import type { ObjectSpec } from '../../elf/spec.js';
import type { VmExecution, VmLoadOptions } from '../../engine/options.js';
import { FULL_KEY_SIZE, writeFullSessionKey } from './full-key.js';
import { readCachedSpec } from './filter-spec-cache.js';
import { compileOnBaselineTier } from './baseline-tier.js';

export interface LoadedFilter {
  collection: Collection;
  program: Program;
  sessions: BpfMap | undefined;
  classic(): ClassicFilter;
  full(): FullFilter;
  /**
   * Full mode in the VM: count capture time from `ts` instead of from the first frame filtered (a shard
   * of a sharded run filters only some frames, but its clock must read what one thread's would).
   */
  startClock(ts: number): void;
  close(): void;
}

const OBJECTS: Record<string, { file: string; program: string }> = {
  v1: { file: 'http_filter_v1.o', program: 'http_filter' },
  v2: { file: 'http_filter_v2.o', program: 'http_filter' },
  full: { file: 'http_filter_full.o', program: 'http_filter' },
};

/** Where the committed objects live: src/apps/http/bpf in the repository, whichever build runs us. */
export function bpfObjectPath(mode: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // here = <root>/dist/src/apps/http (or another out dir mirroring src/): walk up to the repo root.
  const candidates = [
    join(here, 'bpf'),
    join(here, '..', '..', '..', '..', 'src', 'apps', 'http', 'bpf'),
    join(process.cwd(), 'src', 'apps', 'http', 'bpf'),
  ];
  // (existsSync, not a trial read: the object is read once, by parseFilterObject)
  for (const dir of candidates) if (existsSync(join(dir, OBJECTS[mode]!.file))) return join(dir, OBJECTS[mode]!.file);
  throw new EnvironmentError(
    `the eBPF object ${OBJECTS[mode]!.file} is missing (looked in ${candidates.join(', ')}); run tools/build-http-bpf.sh`,
  );
}

export async function loadFilterObject(
  mode: string,
  engine: 'vm' | 'kernel',
  vmEngine?: VmExecution,
): Promise<LoadedFilter> {
  return loadFilterSpec(await parseFilterObject(mode), mode, engine, vmEngine);
}

/**
 * The mode's committed object, parsed (pure: no engine involved; the spec can go to another thread):
 * from the cache beside it when that was made from exactly this object (filter-spec-cache.ts), which
 * spares every run the ELF parser.
 */
export async function parseFilterObject(mode: string): Promise<ObjectSpec> {
  const path = bpfObjectPath(mode);
  const bytes = new Uint8Array(readFileSync(path));
  const cached = readCachedSpec(path, bytes);
  if (cached !== undefined) return cached;
  const { parseObject } = await import('../../elf/index.js');
  return parseObject(bytes, path);
}

/** Load a parsed filter object into an engine and adapt it to the pipelines' filter interfaces. */
export async function loadFilterSpec(
  spec: ObjectSpec,
  mode: string,
  engine: 'vm' | 'kernel',
  /** The VM's engine (default: the VM's default). */
  vmEngine?: VmExecution,
): Promise<LoadedFilter> {
  // Full mode in the VM runs on capture time: the filter's bpf_ktime_get_ns reads the clock of the
  // frame being filtered (so a run depends only on the file, and costs no clock read per frame).
  const clock = engine === 'vm' && mode === 'full' ? new CaptureClock() : undefined;
  const vm = {
    ...(clock ? { host: { clockNs: clock.read, bootClockNs: clock.read } } : {}),
    ...(vmEngine ? { execution: vmEngine } : {}),
  };
  const collection =
    engine === 'vm' && plainObject(spec) ? await loadIntoVm(spec, vm) : await loadAny(spec, engine, vm);
  const program = collection.program(OBJECTS[mode]!.program);
  // (in the VM: its WebAssembly made now, on the tier that costs a capture's run least: baseline-tier.ts)
  if (engine === 'vm') compileOnBaselineTier(program);
  const sessions = collection.maps.get('sessions');
  // Per frame: the VM's allocation-free packet entry when the engine has one, else a full test run.
  const run = program.runPacket
    ? (frame: Uint8Array) => program.runPacket!(frame) !== 0
    : (frame: Uint8Array) => program.run({ data: frame }).retval !== 0;
  const { keep, beginChunk, endChunk } = fullKeep(program, run, clock);
  // (one key buffer for every ended flow: the map copies what it keeps)
  const key = new Uint8Array(FULL_KEY_SIZE);
  const keyView = new DataView(key.buffer);
  return {
    collection,
    program,
    sessions,
    classic: () => ({ keep: run, sessions: sessions ? mapTable(sessions) : undefined }),
    full: () => ({
      keep,
      beginChunk,
      endChunk,
      forget: (flow: FlowEnds) => {
        if (!sessions) return;
        writeFullSessionKey(keyView, 0, flow);
        sessions.delete(key);
      },
      get sessions() {
        let n = 0;
        if (sessions) for (const _ of sessions.keys()) n++;
        return n;
      },
    }),
    startClock: (ts: number) => clock?.start(ts),
    close: () => collection.close(),
  };
}

/**
 * Full mode's per-frame verdict: Ethernet frames run the filter where they lie in the capture's buffer
 * (the VM's runPacketAt; an engine without it gets a view of the frame), others pass (the filter reads
 * Ethernet only). This runs for every frame of a capture, so what does not change from one frame to the
 * next (the engine's entry, whether a capture clock runs) is decided here, once, and each frame pays
 * only for the run.
 *
 * Between beginChunk() and endChunk() (the frames of one read of a capture file: they lie in one
 * buffer nobody writes meanwhile) the VM's runs go through its frame window: the bytes from a frame on
 * are copied into linear memory FRAME_WINDOW at a time, and the frames after it that lie in that copy
 * run there. One copy for a hundred-odd frames costs less than one per frame (a subarray and a set), and
 * each frame is the same bytes either way. endChunk() forgets the copy: the reader refills its buffers.
 */
function fullKeep(program: Program, run: (frame: Uint8Array) => boolean, clock: CaptureClock | undefined) {
  // (the VM's int32 entry when it has one: the same retval but for its sign, and only its being 0 counts
  // here; the u32 of the filter's -1 would be a boxed number per frame: VmProgram.runPacketAt32)
  const vm = 'runPacketAt32' in program ? (program as Int32Program) : undefined;
  const at =
    vm !== undefined
      ? (b: Uint8Array, o: number, len: number): number => vm.runPacketAt32(b, o, len)
      : program.runPacketAt?.bind(program);
  const none = { beginChunk: () => {}, endChunk: () => {} };
  if (at === undefined)
    return {
      keep: (frame: Frame): boolean => {
        if (frame.linktype !== 1) return true;
        clock?.set(frame.ts);
        return run(frameBytes(frame));
      },
      ...none,
    };
  if (clock === undefined)
    return {
      keep: (frame: Frame): boolean => frame.linktype !== 1 || at(frame.bytes, frame.offset, frame.caplen) !== 0,
      ...none,
    };
  const win = 'frameWindow' in program ? (program as WindowProgram).frameWindow(FRAME_WINDOW) : null;
  if (win === null)
    return {
      keep: (frame: Frame): boolean => {
        if (frame.linktype !== 1) return true;
        clock.set(frame.ts);
        return at(frame.bytes, frame.offset, frame.caplen) !== 0;
      },
      ...none,
    };
  /** inside a chunk (the window may be used) */
  let open = false;
  /** what the window holds: src[from, to) (src undefined: nothing) */
  let src: Uint8Array | undefined;
  let from = 0;
  let to = 0;
  return {
    keep: (frame: Frame): boolean => {
      if (frame.linktype !== 1) return true;
      clock.set(frame.ts);
      const b = frame.bytes;
      const o = frame.offset;
      const len = frame.caplen;
      if (b !== src || o < from || o + len > to) {
        if (!open || len > FRAME_WINDOW) return at(b, o, len) !== 0;
        src = b;
        from = o;
        to = Math.min(o + FRAME_WINDOW, b.length);
        win.set(b.subarray(from, to));
      }
      return at(win, o - from, len) !== 0;
    },
    beginChunk: () => {
      open = true;
      src = undefined;
    },
    endChunk: () => {
      open = false;
      src = undefined;
    },
  };
}

/** Bytes of a capture's buffer copied into the VM's frame window at once. */
const FRAME_WINDOW = 64 * 1024;

/** The VM's program with its int32 per-packet entry (VmProgram.runPacketAt32). */
type Int32Program = Program & { runPacketAt32(bytes: Uint8Array, off: number, len: number): number };

/** The VM's program with its frame window (VmProgram.frameWindow). */
type WindowProgram = Program & { frameWindow(size: number): Uint8Array | null };

/**
 * The filters are plain socket filters: no CO-RE relocations, no externs, nothing the loader must
 * resolve against the running kernel. Such an object goes straight into the VM, and reading a file then
 * loads neither the loader nor the verifier and kernel probes behind it (a fifth of start-up's modules).
 */
function plainObject(spec: ObjectSpec): boolean {
  if (spec.externs?.length) return false;
  return spec.programs.every((p) => !p.coreRelos?.length && !p.externRefs?.length && p.unsupported === undefined);
}

async function loadIntoVm(spec: ObjectSpec, vm: VmLoadOptions): Promise<Collection> {
  const [{ loadVmCollection }] = await Promise.all([
    import('../../vm/collection.js'),
    // the VM's host facts on Node (CPU count, V8's flag setter for the JIT), as the loader would give them
    import('../../loader/node-host.js'),
  ]);
  return loadVmCollection(spec, vm);
}

async function loadAny(spec: ObjectSpec, engine: 'vm' | 'kernel', vm: VmLoadOptions): Promise<Collection> {
  const { loadCollection } = await import('../../loader/index.js');
  return loadCollection(spec, { engine, vm });
}

/**
 * Capture time as a monotonic nanosecond clock: the time of the frame being filtered, counted from 1 s
 * at the first frame (as the kernel's clock never reads 0), never going back when a capture's
 * timestamps do.
 *
 * Per frame set() keeps only the latest timestamp seen; read() turns it into nanoseconds. The filter
 * reads the clock on few frames (where it starts tracking a session), and the reading is the same as
 * converting every frame's time and keeping the largest: the conversion (a subtraction, a product and a
 * rounding, each monotonic in floating point) never puts a later time before an earlier one, so the
 * largest reading is the latest time's.
 */
class CaptureClock {
  // The cells are doubles from the first frame on (see Cell): as plain fields holding the first
  // frames' small integers, V8 would compile integer arithmetic into the frame loop (set() is inlined
  // there) and throw that code away when they leave the small-integer range (an overflow deopt, and a
  // map change for the field). The values are the same: to JavaScript every number is a double.
  private readonly t = new Float64Array([-Infinity, NaN]);
  /** Count from `ts` (before the first frame; later calls change nothing). */
  start(ts: number): void {
    if (Number.isNaN(this.t[Cell.First]!)) this.t[Cell.First] = ts;
  }
  set(ts: number): void {
    const t = this.t;
    if (Number.isNaN(t[Cell.First]!)) t[Cell.First] = ts;
    if (ts > t[Cell.Latest]!) t[Cell.Latest] = ts;
  }
  readonly read = (): number => {
    const t = this.t;
    // (no frame yet: -Infinity or NaN, which the comparison makes 1 s, as it does a time before the first)
    const ns = Math.round((t[Cell.Latest]! - t[Cell.First]!) * 1e9) + 1e9;
    return ns > 1e9 ? ns : 1e9;
  };
}

/** CaptureClock's cells: the latest frame time set, the time counted from. */
const enum Cell {
  Latest,
  First,
}

function mapTable(m: BpfMap): SessionTable {
  return {
    lookup: (k) => m.lookup(k),
    update: (k, v) => m.update(k, v),
    delete: (k) => m.delete(k),
    keys: () => m.keys(),
  };
}
