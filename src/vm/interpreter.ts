/**
 * The VM: a memory, a helper registry, loaded programs, and two engines that execute them with
 * identical results — 'interpreter' (a switch over pre-decoded instructions) and 'jit' (each program
 * translated once into a JavaScript function; the default, several times faster).
 *
 *   const vm = new Vm();
 *   vm.helpers.register(1, 'map_lookup_elem', (c) => { ... c.ret(addr) });
 *   const prog = vm.load(insns, { name: 'filter' });
 *   const base = vm.memory.map(packetBytes, { name: 'packet' });
 *   const res = vm.run(prog, { args: [ctxAddr], packet: { bytes, data: 0, end: bytes.length, mac: 0, net: 14 }, context: hostState });
 *   res.retval  // r0 as u32
 *
 * A run ends in a VmRunResult or throws a VmError (never another exception) naming the program, pc,
 * instruction and, for memory faults, the address. See docs/vm.md.
 */
import type { Instruction } from '../isa/index.js';
import { BpfkitError } from '../util/errors.js';
import { HelperCall, HelperRegistry } from './helper-abi.js';
import { Memory } from './memory.js';
import { LoadedProgram, type LoadOptions } from './interpreter-program.js';
import { DONE, EngineState, type Engine, type LdAbsPacket } from './interpreter-state.js';
import { interpret } from './interpreter-switch.js';
import { compiledEngine } from './interpreter-jit.js';
import { wasmEngine, wasmRepeat, wasmResume } from './wasm/engine.js';
import { noteRetval, wasmPacketPending, wasmPackets, type PacketBatch } from './wasm/packet-batch.js';
import { clearStacks, createWasmShared } from './wasm/shared.js';
import { VmError, inProgram } from './vm-error.js';
import { budgetError, invokeCallback } from './interpreter-ops.js';
import { ENGINES, type EngineKind } from './engine-kind.js';

export { ENGINES, type EngineKind } from './engine-kind.js';
export type { LdAbsPacket };

/** Executed instructions allowed per run by default (the kernel's verifier complexity limit). */
export const DEFAULT_BUDGET = 1_000_000;

/** Options of `new Vm()`. */
export interface VmOptions {
  /** Default 'jit'. */
  engine?: EngineKind;
  /** Executed-instruction budget per run (default 1,000,000). */
  budget?: number;
}

/** Options of one run: arguments, packet, host context, budget. */
export interface VmRunOptions {
  /**
   * r1..r5 at entry. Numbers must be integers in [-2^53, 2^53] (negative ones are sign-extended);
   * BigInts are taken modulo 2^64. Missing ones are 0.
   */
  args?: readonly (number | bigint)[];
  /** The packet LD_ABS/LD_IND read (see LdAbsPacket); runs without one fail on those instructions. */
  packet?: LdAbsPacket;
  /** Per-run host state handed to helpers as `call.context`. */
  context?: unknown;
  /** Budget for this run (default: the VM's). */
  budget?: number;
}

/** What `Vm.run` returns: r0 in int32 halves and the instructions executed. */
export class VmRunResult {
  constructor(
    /** r0's low 32 bits (int32). */
    readonly lo: number,
    /** r0's high 32 bits (int32). */
    readonly hi: number,
    /** Instructions executed. */
    readonly instructions: number,
  ) {}
  /** r0 as an unsigned 64-bit BigInt. */
  get r0(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }
  /** r0 truncated to u32, as BPF_PROG_TEST_RUN reports it. */
  get retval(): number {
    return this.lo >>> 0;
  }
}

/** An eBPF virtual machine: one 32-bit address space, a helper registry, and `load`/`run` for programs. */
export class Vm {
  readonly memory = new Memory();
  readonly helpers = new HelperRegistry();
  readonly engine: EngineKind;
  budget: number;
  private readonly programs: LoadedProgram[] = [];
  private readonly call: HelperCall;
  private readonly st: EngineState;
  private running = false;
  /** The engine's function (fixed with the engine). */
  private readonly engineFn: Engine;

  constructor(opts: VmOptions = {}) {
    this.engine = opts.engine ?? 'jit';
    if (!ENGINES.includes(this.engine))
      throw new BpfkitError(`unknown VM engine '${String(opts.engine)}' (${ENGINES.join(', ')})`, 2);
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    this.engineFn = this.engine === 'jit' ? compiledEngine : this.engine === 'wasm' ? wasmEngine : interpret;
    const wasm = this.engine === 'wasm' ? createWasmShared(this.memory) : undefined;
    this.call = new HelperCall(wasm?.lo ?? new Int32Array(11), wasm?.hi ?? new Int32Array(11), this.memory);
    this.st = new EngineState(this.memory, this.call, this.helpers, this.programs, wasm);
    const result = new Int32Array(2);
    this.call.charger = (n) => {
      const st = this.st;
      if ((st.budget -= n) < 0) {
        st.budget = 0;
        throw budgetError(this.call.pc, st.limit);
      }
    };
    this.call.invoker = (pc, fnLo, fnHi, a1, a2, a3, a4, a5) => {
      if (!this.running)
        throw new VmError('internal', 'callbacks can only be invoked by a helper while a program runs');
      invokeCallback(this.st, pc, fnLo | 0, fnHi | 0, a1, a2, a3, a4, a5, result);
      this.call.invokeHi = result[1] as number;
      return result[0] as number;
    };
  }

  /** Validate and pre-decode a program (see interpreter-program.ts for what is rejected). */
  load(insns: readonly Instruction[], opts: LoadOptions = {}): LoadedProgram {
    const p = new LoadedProgram(this.programs.length, insns, this.helpers, opts);
    this.programs.push(p);
    return p;
  }

  /** Programs loaded so far, by id. */
  get loaded(): readonly LoadedProgram[] {
    return this.programs;
  }

  /** Run a loaded program. Not re-entrant: a helper may not call run() on the same VM. */
  run(prog: LoadedProgram, opts: VmRunOptions = {}): VmRunResult {
    const executed = this.execute(prog, opts, 1);
    return new VmRunResult(this.st.lo[0] as number, this.st.hi[0] as number, executed);
  }

  /**
   * run() `repeat` times in a row with the same options, as BPF_PROG_TEST_RUN's repeat does: every run
   * starts afresh (registers, zeroed stacks, whole budget) on whatever the previous one left in memory,
   * maps and context; the result is the last run's. The same runs as a loop over run(), without its
   * per-run set-up (options, engine choice, result object): what is left per run is what the kernel's
   * loop does, reset the registers and call the program.
   */
  runRepeat(prog: LoadedProgram, opts: VmRunOptions, repeat: number): VmRunResult {
    const executed = this.execute(prog, opts, Math.max(1, Math.floor(repeat)));
    return new VmRunResult(this.st.lo[0] as number, this.st.hi[0] as number, executed);
  }

  /**
   * run() for per-packet loops: the same run, returning only r0's low 32 bits as a signed int32 (`>>> 0`
   * makes it the u32 retval), allocating nothing. Signed, because a u32 above 2^31 - 1 (a filter's -1:
   * keep the whole packet) is a boxed heap number to V8 whenever it leaves a function not inlined into its
   * caller: 16 bytes per packet. An int32 never is.
   */
  runRetval32(prog: LoadedProgram, opts: VmRunOptions): number {
    // execute()'s one run, without its repeat loop and engine choice (per packet, these add up)
    this.checkEntry(prog);
    const st = this.st;
    const call = this.call;
    const limit = opts.budget ?? this.budget;
    st.limit = limit;
    const engine = this.engineFn;
    st.engine = engine;
    let p = prog;
    this.running = true;
    try {
      this.reset(opts.args, limit);
      st.packet = opts.packet;
      call.context = opts.context;
      let state = engine(st, p, 0);
      while (state !== DONE) {
        p = st.next as LoadedProgram;
        state = engine(st, p, st.pc);
      }
      return st.lo[0] as number;
    } catch (err) {
      throw enrich(err, p);
    } finally {
      this.running = false;
      st.packet = undefined;
      call.context = undefined;
      call.id = -1;
    }
  }

  /**
   * Per-packet batches ('wasm' engine only; wasm/packet-loop.ts): runs of `prog` on records from..n-1 of
   * `batch`, one after another inside its module, each the run run() would make on that record. Returns
   * how many finished (retvals in the batch's table, the last one's r0 also in the register file), or -1
   * when the program cannot run so (another engine, not compiled yet): then run() it. A run the module
   * cannot finish alone (a helper that ends or switches the program, the budget, a fault) is finished
   * here exactly, after batch.sync() made JavaScript's state that record's; the batch stops after it.
   * VmProgram.runPackets is the entry to use.
   * @internal
   */
  runPackets(prog: LoadedProgram, opts: VmRunOptions, batch: PacketBatch, from: number, n: number): number {
    if (this.engine !== 'wasm') return -1;
    this.checkEntry(prog);
    const st = this.st;
    const call = this.call;
    const limit = opts.budget ?? this.budget;
    st.limit = limit;
    st.engine = wasmEngine;
    let p = prog;
    this.running = true;
    try {
      this.reset(opts.args, limit);
      st.packet = opts.packet;
      call.context = opts.context;
      const done = wasmPackets(st, prog, batch, from, n);
      if (done < 0 || !wasmPacketPending(st)) return done;
      if (batch.synced !== from + done) batch.sync(from + done);
      let state = wasmResume(st, prog);
      while (state !== DONE) {
        p = st.next as LoadedProgram;
        state = wasmEngine(st, p, st.pc);
      }
      noteRetval(st, batch, from + done);
      return done + 1;
    } catch (err) {
      throw enrich(err, p);
    } finally {
      this.running = false;
      st.packet = undefined;
      call.context = undefined;
      call.id = -1;
    }
  }

  /** Every run's entry: `prog` must be this VM's, and no run may be in progress (helpers may not re-enter). */
  private checkEntry(prog: LoadedProgram): void {
    if (this.programs[prog.id] !== prog) throw new VmError('load', `program '${prog.name}' was not loaded by this VM`);
    if (this.running)
      throw new VmError('internal', 'Vm.run() called while the VM is running (helpers may not re-enter it)');
  }

  /** `repeat` runs; r0 of the last is left in st.lo[0] / st.hi[0]. Returns the instructions it executed. */
  private execute(prog: LoadedProgram, opts: VmRunOptions, repeat: number): number {
    this.checkEntry(prog);
    const st = this.st;
    const call = this.call;
    const args = opts.args;
    const limit = opts.budget ?? this.budget;
    st.limit = limit;
    const engine = this.engineFn;
    st.engine = engine;
    // Runs after the first stay inside the module's repeat loop while they can (wasm/repeat-loop.ts).
    let loop = engine === wasmEngine && repeat > 1;
    let p = prog;
    this.running = true;
    try {
      for (let i = 0; i < repeat; i++) {
        this.reset(args, limit);
        // (per run: a helper may have replaced them)
        st.packet = opts.packet;
        call.context = opts.context;
        p = prog;
        let state: number;
        if (loop && i > 0) {
          const done = wasmRepeat(st, prog, repeat - i);
          // (a program that calls into JavaScript every run gains nothing from the loop)
          if (done <= 1) loop = false;
          if (done >= 0) {
            i += done;
            state = wasmResume(st, prog);
            if (state < 0) {
              if (done === 0) throw new VmError('internal', 'the repeat loop made no progress');
              i--; // (no run in progress: the next one starts from a reset)
              continue;
            }
          } else state = engine(st, p, 0);
        } else state = engine(st, p, 0);
        while (state !== DONE) {
          p = st.next as LoadedProgram;
          state = engine(st, p, st.pc);
        }
      }
      return limit - st.budget;
    } catch (err) {
      throw enrich(err, p);
    } finally {
      this.running = false;
      st.packet = undefined;
      call.context = undefined;
      call.id = -1;
    }
  }

  /** A run's fresh start: registers (r1.. from `args`, r10 the stack top), zeroed stacks, the whole budget. */
  private reset(args: VmRunOptions['args'], limit: number): void {
    const st = this.st;
    const L = st.lo;
    const H = st.hi;
    const w = st.wasm;
    if (w !== undefined) {
      // r0-r9 as 8-byte words (+0.0 is eight zero bytes): 12 stores instead of 22, measured 16 ns
      // against 25 for the loop below on every per-packet run
      const lo = w.lo64;
      const hi = w.hi64;
      lo[0] = 0;
      lo[1] = 0;
      lo[2] = 0;
      lo[3] = 0;
      lo[4] = 0;
      hi[0] = 0;
      hi[1] = 0;
      hi[2] = 0;
      hi[3] = 0;
      hi[4] = 0;
      L[10] = 0;
      H[10] = 0;
    } else for (let r = 0; r < 11; r++) L[r] = H[r] = 0; // (a loop: fill() costs more on 11 entries)
    // (no default array: per-packet runs pass no args and should allocate nothing)
    if (args !== undefined)
      for (let i = 0; i < args.length && i < 5; i++) {
        const v = args[i] as number | bigint;
        // (a u32 — an address, a length: per-packet runs pass their context's — without setArg's call)
        if (typeof v === 'number' && v >>> 0 === v) {
          L[i + 1] = v | 0;
          H[i + 1] = 0;
        } else setArg(L, H, i + 1, v);
      }
    // Fresh, zeroed stacks: runs never see each other's data. All of them, not only the frames the last
    // run entered: pointer arithmetic on r10 reaches the other frames' regions too (4 KiB, one fill).
    if (w !== undefined) clearStacks(w, st.maxDepth);
    else st.allStacks.fill(0);
    st.maxDepth = 0;
    st.depth = 0;
    L[10] = st.stackTops[0] as number;
    st.budget = limit;
    const call = this.call;
    call.tailCalls = 0;
    call.action = 0;
    call.id = -1;
    st.hostReturn = false;
  }

  /**
   * The conformance suite's plain-memory mode: `mem` mapped writable as 'input', r1 = its address
   * (0 when empty), r2 = its length; LD_ABS/LD_IND read the same bytes.
   */
  runOnMemory(prog: LoadedProgram, mem: Uint8Array, opts: Omit<VmRunOptions, 'args' | 'packet'> = {}): VmRunResult {
    if (mem.length === 0)
      return this.run(prog, { ...opts, args: [0, 0], packet: { bytes: mem, data: 0, end: 0, mac: 0, net: 0 } });
    const base = this.memory.map(mem, { name: 'input' });
    try {
      return this.run(prog, {
        ...opts,
        args: [base, mem.length],
        packet: { bytes: mem, data: 0, end: mem.length, mac: 0, net: 0 },
      });
    } finally {
      this.memory.unmap(base);
    }
  }
}

function setArg(L: Int32Array, H: Int32Array, r: number, v: number | bigint): void {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    L[r] = Number(u & 0xffffffffn) | 0;
    H[r] = Number(u >> 32n) | 0;
    return;
  }
  if (v >= 0 && v <= 0xffffffff && Number.isInteger(v)) {
    // the common case (addresses, lengths, small values): no BigInt per run
    L[r] = v | 0;
    H[r] = 0;
    return;
  }
  if (v < 0 && v >= -0x80000000 && Number.isInteger(v)) {
    L[r] = v;
    H[r] = -1;
    return;
  }
  if (!Number.isInteger(v) || Math.abs(v) > 2 ** 53)
    throw new VmError('internal', `argument r${r} must be an integer (got ${v})`);
  setArg(L, H, r, BigInt(v));
}

/** Add the program name and instruction text to a VmError; wrap anything else so callers only see VmErrors/BpfkitErrors. */
function enrich(err: unknown, p: LoadedProgram): unknown {
  if (err instanceof VmError) return inProgram(err, p);
  if (err instanceof BpfkitError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new VmError('internal', `internal VM error while running '${p.name}': ${msg}`);
}
