/**
 * Single-stepping one run of a loaded program, for debuggers (`bpfkit cbpf dbg` steps eBPF programs with
 * it). It adds no second definition of any instruction: each step runs the interpreter engine with a
 * budget of one instruction, and the budget fault that engine raises before the second instruction says
 * where the run stopped. Registers, frames and stacks live in the stepper's own EngineState between steps;
 * memory, helpers and loaded programs are the Vm's, so maps change exactly as in Vm.run. A helper call is
 * one step: callbacks it invokes (bpf_loop, for_each_map_elem) run to their end inside that step.
 */
import { STACK_SIZE } from '../isa/index.js';
import { HelperCall } from './helper-abi.js';
import { DEFAULT_BUDGET, type Vm, type VmRunOptions } from './interpreter.js';
import type { LoadedProgram } from './interpreter-program.js';
import { DONE, EngineState, type Engine } from './interpreter-state.js';
import { interpret } from './interpreter-switch.js';
import { budgetError, invokeCallback } from './interpreter-ops.js';
import { VmError } from './vm-error.js';

/** One run of a program, advanced an instruction at a time (see the file comment). */
export class VmStepper {
  #program: LoadedProgram;
  #pc = 0;
  #executed = 0;
  #done = false;
  /** Instructions (and helper byte costs) the whole run may still spend: stepping cannot loop forever. */
  #left: number;
  readonly #st: EngineState;
  readonly #vm: Vm;

  /**
   * Start a run of `program` (loaded by `vm`) with Vm.run's options: r1-r5, the packet LD_ABS reads, the
   * helpers' context. Call close() when done: the stepper maps its own stack frames into the VM's memory.
   */
  constructor(vm: Vm, program: LoadedProgram, opts: VmRunOptions = {}) {
    if (vm.loaded[program.id] !== program)
      throw new VmError('load', `program '${program.name}' was not loaded by this VM`);
    this.#vm = vm;
    this.#program = program;
    this.#left = opts.budget ?? vm.budget;
    const call = new HelperCall(new Int32Array(11), new Int32Array(11), vm.memory);
    const st = new EngineState(vm.memory, call, vm.helpers, vm.loaded as LoadedProgram[]);
    this.#st = st;
    call.charger = (n) => {
      if ((this.#left -= n) < 0) throw budgetError(call.pc, opts.budget ?? vm.budget);
    };
    const result = new Int32Array(2);
    call.invoker = (pc, fnLo, fnHi, a1, a2, a3, a4, a5) => {
      invokeCallback(st, pc, fnLo | 0, fnHi | 0, a1, a2, a3, a4, a5, result);
      call.invokeHi = result[1] as number;
      return result[0] as number;
    };
    // Callbacks run to their end with the rest of the run's budget; the step's own budget (spent by the
    // call instruction) is put back after, so the step still stops at the instruction after the call.
    const callbackEngine: Engine = (s, p, pc) => {
      const stepBudget = s.budget;
      s.budget = s.limit = Math.max(0, this.#left);
      try {
        return interpret(s, p, pc);
      } finally {
        this.#left = s.budget;
        s.budget = stepBudget;
      }
    };
    st.engine = callbackEngine;
    const L = st.lo;
    const H = st.hi;
    (opts.args ?? []).slice(0, 5).forEach((v, i) => {
      const big = BigInt.asUintN(64, BigInt(v));
      L[i + 1] = Number(big & 0xffffffffn) | 0;
      H[i + 1] = Number(big >> 32n) | 0;
    });
    L[10] = st.stackTops[0] as number;
    st.packet = opts.packet;
    call.context = opts.context;
  }

  /** The program the run is in (another one after a tail call). */
  get program(): LoadedProgram {
    return this.#program;
  }
  /** The next instruction's slot. */
  get pc(): number {
    return this.#pc;
  }
  /** Instructions executed so far (callbacks' included). */
  get executed(): number {
    return this.#executed;
  }
  /** True once the program has exited. */
  get done(): boolean {
    return this.#done;
  }
  /** Local-call depth (0 = the entry function). */
  get depth(): number {
    return this.#st.depth;
  }
  /** Register r0-r10 as an unsigned 64-bit value. */
  register(r: number): bigint {
    return (BigInt((this.#st.hi[r] as number) >>> 0) << 32n) | BigInt((this.#st.lo[r] as number) >>> 0);
  }
  /** The current frame's 512-byte stack (index 511 is the byte at r10 - 1 of the frame's entry). */
  stack(): Uint8Array {
    return this.#st.stacks[this.#st.depth]!.subarray(0, STACK_SIZE);
  }

  /**
   * Execute one instruction (a helper call with its callbacks counts as one). Returns true while the
   * program runs on; false once it has exited (r0 then holds the return value). A fault ends the run
   * and throws the VmError that Vm.run would throw.
   */
  step(): boolean {
    if (this.#done) return false;
    const st = this.#st;
    if (this.#left <= 0) throw budgetError(this.#pc, DEFAULT_BUDGET);
    st.budget = st.limit = 1;
    let outcome: number;
    try {
      outcome = interpret(st, this.#program, this.#pc);
    } catch (err) {
      if (err instanceof VmError && err.kind === 'budget' && st.budget === 0 && this.#left > 0) {
        // The one instruction ran; the engine stopped before the next one, at err.pc.
        this.#pc = err.pc;
        this.#executed++;
        this.#left--;
        return true;
      }
      this.#done = true;
      throw err;
    }
    this.#executed++;
    this.#left--;
    if (outcome === DONE) {
      this.#done = true;
      return false;
    }
    // A tail call: the run goes on at the start of another program.
    this.#program = st.next as LoadedProgram;
    this.#pc = st.pc;
    return true;
  }

  /** Unmap the stepper's stack frames from the VM's memory. */
  close(): void {
    for (const base of this.#st.stackBases) this.#vm.memory.unmap(base);
  }
}
