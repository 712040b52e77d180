/**
 * How helpers plug into a VM. Helpers are registered per VM instance (the conformance suite's test
 * helpers and the kernel's helpers reuse the same numbers), by number and by name.
 *
 * A helper is a plain function of one argument, the VM's reusable HelperCall: it reads r1-r5 through
 * argU32/argI32/argPtr (numbers, no BigInt) or argU64 (BigInt, slow path), sets r0 with ret()/retI32(),
 * reaches VM memory through `memory`, and finds the host's per-run state in `context`. It can end the
 * program (`stop`) or replace it with another program (`tailCall`). A helper that throws a BpfkitError
 * ends the run with that error; any other exception is wrapped in a VmError naming the helper and pc.
 */
import type { Memory } from './memory.js';

/** A helper's implementation: reads its arguments from `call` and sets the return value there. */
export type HelperFn = (call: HelperCall) => void;

/** A registered helper: its number, name and implementation. */
export interface Helper {
  id: number;
  name: string;
  fn: HelperFn;
}

/**
 * Bytes of helper work one budget instruction pays for: a helper that reads, writes, copies or checksums
 * n bytes costs floor(n / 64) instructions on top of its call (chargeBytes), so the instruction budget
 * bounds a run's time even when helpers do the work (a 4 MiB csum_diff costs 65,536).
 */
export const HELPER_BYTES_PER_INSN = 64;

/** Number of bpf_tail_call()s one run may chain (the kernel's MAX_TAIL_CALL_CNT). */
export const MAX_TAIL_CALLS = 33;

/** The helpers a VM offers programs, by number and by name. */
export class HelperRegistry {
  private readonly byIdMap = new Map<number, Helper>();
  private readonly byNameMap = new Map<string, Helper>();
  /** Dense table indexed by id for the interpreters' call path. */
  table: (HelperFn | undefined)[] = [];

  /** Register (or replace) helper `id` under `name`. */
  register(id: number, name: string, fn: HelperFn): this {
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff)
      throw new RangeError(`helper id must be a non-negative int32, got ${id}`);
    const old = this.byIdMap.get(id);
    if (old) this.byNameMap.delete(old.name);
    const h = { id, name, fn };
    this.byIdMap.set(id, h);
    this.byNameMap.set(name, h);
    if (id < 1 << 16) this.table[id] = fn;
    return this;
  }

  /** Register a set at once: `registerAll([[1, 'map_lookup_elem', fn], ...])`. */
  registerAll(list: Iterable<readonly [number, string, HelperFn]>): this {
    for (const [id, name, fn] of list) this.register(id, name, fn);
    return this;
  }

  /** The helper with number `id`, if registered. */
  get(id: number): Helper | undefined {
    return this.byIdMap.get(id);
  }
  /** The helper called `name`, if registered. */
  byName(name: string): Helper | undefined {
    return this.byNameMap.get(name);
  }
  /** True when helper `id` is registered. */
  has(id: number): boolean {
    return this.byIdMap.has(id);
  }
  /** Every registered helper, by number. */
  list(): Helper[] {
    return [...this.byIdMap.values()].sort((a, b) => a.id - b.id);
  }
  /** The function for an id (table lookup for small ids). */
  fn(id: number): HelperFn | undefined {
    return id >= 0 && id < this.table.length ? this.table[id] : this.byIdMap.get(id)?.fn;
  }
}

/** What a helper asked for, besides returning r0. */
export const enum HelperAction {
  None = 0,
  Stop = 1,
  TailCall = 2,
}

/** The program a helper runs in (a LoadedProgram; kept minimal here to avoid an import cycle). */
export interface ProgramRef {
  readonly name: string;
  readonly id: number;
}

/**
 * The argument/return view a helper receives. One instance per VM, reused for every call: do not keep
 * it after the helper returns.
 */
export class HelperCall {
  /** Register halves r0-r10 (lo = low 32 bits, hi = high 32 bits, both as int32). Shared with the VM. */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly memory: Memory;
  /** The host's per-run object (packet region, program type, skb fields, verdicts...): RunOptions.context. */
  context: unknown = undefined;
  /** The running program. */
  program: ProgramRef = { name: '', id: -1 };
  /** Slot index of the call instruction. */
  pc = -1;
  /** Helper id being called. */
  id = -1;
  /** Set by stop()/tailCall(); the interpreter acts on it after the helper returns. @internal */
  action: HelperAction = HelperAction.None;
  /** tailCall() target (a LoadedProgram). */
  target: unknown = undefined;
  /** Tail calls taken so far in this run. */
  tailCalls = 0;
  /** The high half of the last invoke()'s result. */
  invokeHi = 0;
  /** Set by the VM: takes `n` instructions from the run's budget, or ends the run with a budget fault. */
  charger: ((n: number) => void) | undefined = undefined;
  /** Set by the VM: runs a callback (see invoke()). */
  invoker:
    | ((pc: number, fnLo: number, fnHi: number, a1: number, a2: number, a3: number, a4: number, a5: number) => number)
    | undefined = undefined;

  constructor(lo: Int32Array, hi: Int32Array, memory: Memory) {
    this.lo = lo;
    this.hi = hi;
    this.memory = memory;
  }

  /** Argument i (1-5) as an unsigned 32-bit number (low half). */
  argU32(i: number): number {
    return (this.lo[i] as number) >>> 0;
  }
  /** Argument i as a signed 32-bit number (low half). */
  argI32(i: number): number {
    return this.lo[i] as number;
  }
  /** High 32 bits of argument i, unsigned. */
  argHi(i: number): number {
    return (this.hi[i] as number) >>> 0;
  }
  /** Argument i as an unsigned 64-bit BigInt (slow path: flags words, 64-bit values). */
  argU64(i: number): bigint {
    return (BigInt((this.hi[i] as number) >>> 0) << 32n) | BigInt((this.lo[i] as number) >>> 0);
  }
  /** Argument i as a JS number: exact below 2^53 (sizes, lengths, u64 flags that fit). */
  argNumber(i: number): number {
    return ((this.hi[i] as number) >>> 0) * 4294967296 + ((this.lo[i] as number) >>> 0);
  }
  /**
   * Argument i as a VM address. A pointer has zero upper bits, or an element's tag when it points into a
   * map value or ring-buffer record (Memory.tagOf): such a pointer must still be inside its element, and
   * an untagged one may not point into elements at all (VmError 'access'). Anything else returns -1,
   * which every memory access rejects (so a helper need not check).
   */
  argPtr(i: number): number {
    return this.memory.pointer(this.lo[i] as number, this.hi[i] as number, `argument ${i}`, this.pc);
  }
  /** Is argument i zero (NULL)? */
  argIsZero(i: number): boolean {
    return this.lo[i] === 0 && this.hi[i] === 0;
  }

  /** Set r0 from two 32-bit halves (hi defaults to 0: a u32 result). */
  ret(lo: number, hi = 0): void {
    this.lo[0] = lo;
    this.hi[0] = hi;
  }
  /** Set r0 to a pointer to VM address `addr`, tagged with its element's tag (Memory.tagOf); 0 stays NULL. */
  retPtr(addr: number): void {
    this.lo[0] = addr;
    this.hi[0] = addr === 0 ? 0 : this.memory.tagOf(addr);
  }
  /** Set r0 to a signed 32-bit value, sign-extended (e.g. -ENOENT). */
  retI32(v: number): void {
    this.lo[0] = v;
    this.hi[0] = (v | 0) < 0 ? -1 : 0;
  }
  /** Set r0 from a JS number in [-2^53, 2^53]. */
  retNumber(v: number): void {
    if (v < 0) {
      const u = -v;
      const l = u >>> 0;
      const h = Math.floor(u / 4294967296) >>> 0;
      // two's complement negate of (h:l)
      const nl = (~l + 1) | 0;
      const nh = (~h + (nl === 0 ? 1 : 0)) | 0;
      this.lo[0] = nl;
      this.hi[0] = nh;
    } else {
      this.lo[0] = v >>> 0;
      this.hi[0] = Math.floor(v / 4294967296) | 0;
    }
  }
  /** Set r0 from a BigInt (slow path). */
  retU64(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.lo[0] = Number(u & 0xffffffffn) | 0;
    this.hi[0] = Number(u >> 32n) | 0;
  }

  /**
   * Call a callback the program passed (argument i's halves, from `lddw rX, <function>`: e.g. bpf_loop's
   * callback_fn) with r1-r5 = a1..a5 (integers; negative ones sign-extended), on a new frame of the same
   * run: same budget, call depth and memory. Returns the callback's r0 low half (int32); the high half is
   * in `invokeHi`. Everything about this call (its arguments, r0) is preserved around it. Use
   * `argU32(i)`/`argHi(i)` of the function argument for fnLo/fnHi.
   */
  invoke(fnLo: number, fnHi: number, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): number {
    const f = this.invoker;
    if (!f) throw new Error('callbacks can only be invoked while a program runs');
    const pc = this.pc;
    const id = this.id;
    const program = this.program;
    const r = f(pc, fnLo, fnHi, a1, a2, a3, a4, a5);
    // a nested helper call inside the callback reused this object: put back what describes our call
    this.pc = pc;
    this.id = id;
    this.program = program;
    return r;
  }

  /**
   * Charge the work of touching `bytes` bytes to the run's instruction budget (HELPER_BYTES_PER_INSN
   * per instruction). Call it before doing the work: when the budget cannot pay, the run ends with the
   * budget fault here and nothing was done, on both engines alike.
   */
  chargeBytes(bytes: number): void {
    if (bytes >= HELPER_BYTES_PER_INSN) this.charger!(Math.floor(bytes / HELPER_BYTES_PER_INSN));
  }

  /** End the program now with r0 = (hi:lo). */
  stop(lo: number, hi = 0): void {
    this.ret(lo, hi);
    this.action = HelperAction.Stop;
  }

  /**
   * Continue in `target` (a LoadedProgram of the same VM) instead of returning: the target starts with
   * r1 = this call's r1 (the context), a fresh stack frame, and replaces the current function (when it
   * exits, control returns where the current function would have returned). Returns false, doing
   * nothing, once the run has chained MAX_TAIL_CALLS tail calls: the helper should then return an
   * error and the program goes on, as in the kernel.
   */
  tailCall(target: unknown): boolean {
    if (this.tailCalls >= MAX_TAIL_CALLS) return false;
    this.target = target;
    this.action = HelperAction.TailCall;
    return true;
  }
}
