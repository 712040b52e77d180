/**
 * Loading a program into the VM: validate once, then pre-decode into typed-array columns indexed by slot
 * so the engines never look at Instruction objects while running.
 *
 * Rejected at load (VmError kind 'load', naming the pc and the instruction): anything src/isa's
 * checkProgram rejects (unknown opcode, bad register, reserved fields, jump out of range or into the
 * middle of an lddw), writes to r10, an lddw pseudo form (map fd/value, BTF id, function) the host did
 * not resolve, a helper id not registered in this VM, kfunc calls.
 */
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_PSEUDO_FUNC,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DW,
  BPF_FETCH,
  BPF_JMP,
  BPF_LD,
  BPF_LDX,
  BPF_STX,
  BPF_W,
  OP_LDDW,
  REG_FP,
  checkProgram,
  classOf,
  describeOpcode,
  slotsOf,
  type Instruction,
} from '../isa/index.js';
import { disassembleOne } from '../asm/disassemble.js';
import type { HelperRegistry } from './helper-abi.js';
import { VmError } from './vm-error.js';
import { helperName } from './helpers/helper-names.js';

/** hi half of a BPF_PSEUDO_FUNC value: this tag | the program id (lo = the callback's slot). */
export const FUNC_TAG = 0x40000000;

const EMPTY_RUNS = new Int32Array(0);

/** Options of `Vm.load`. */
export interface LoadOptions {
  /** Name used in errors (default 'prog'). */
  name?: string;
  /**
   * Resolve an `lddw` whose src is a pseudo kind (BPF_PSEUDO_MAP_FD, _MAP_VALUE, _MAP_IDX..., _BTF_ID,
   * _FUNC): return the 64-bit value the register gets as [lo, hi] int32 halves (e.g. a map handle, or the
   * VM address of a map value), or undefined to reject the program.
   */
  resolvePseudo?: (insn: Instruction) => readonly [lo: number, hi: number] | undefined;
  /** Anything the host wants to find again from the program (e.g. its ProgramSpec / program type). */
  owner?: unknown;
  /**
   * The helpers this program may call (e.g. its program type's set). `call` instructions are checked at
   * load; `callx` takes its helper number at run time and faults on one outside the set. Default: any
   * helper registered in the VM.
   */
  mayCall?: (id: number) => boolean;
}

/**
 * An instruction as text for error messages: LLVM syntax, as llvm-objdump prints it (the assembler's
 * disassembler), or the bare fields for a slot it cannot print.
 */
export function formatInsn(i: Instruction): string {
  try {
    return disassembleOne(i);
  } catch {
    return `${describeOpcode(i.code)?.name ?? 'opcode'} 0x${i.code.toString(16).padStart(2, '0')} dst=r${i.dst} src=r${i.src} off=${i.off} imm=${i.imm}`;
  }
}

/** A program validated and pre-decoded by `Vm.load`, ready to run. */
export class LoadedProgram {
  readonly id: number;
  readonly name: string;
  readonly insns: readonly Instruction[];
  readonly owner: unknown;
  /** Number of 8-byte slots. */
  readonly slots: number;
  // Columns, one entry per slot (the second slot of an lddw has code 0 and is never executed).
  readonly code: Uint8Array;
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly off: Int32Array;
  /** imm; for lddw the low half of the (resolved) constant. */
  readonly imm: Int32Array;
  /** lddw: the high half of the (resolved) constant. */
  readonly imm2: Int32Array;
  /** Instruction at a slot (undefined on lddw second halves). */
  readonly bySlot: (Instruction | undefined)[];
  /** Compiled form for the 'jit' engine, built on first use. */
  compiled: unknown = undefined;
  /** Compiled form for the 'wasm' engine (wasm/engine.ts), built on first use. */
  wasm: unknown = undefined;
  /**
   * The interpreter's form (interpreter-switch.ts), built on first use: one int32 per slot packing a dense
   * case number with dst and src, and one more slot past the end that stops a run falling off it.
   */
  interp: Int32Array | undefined = undefined;
  /** Beside `interp`: each slot's number of instructions to the end of its straight run (interpreter-switch.ts runsOf). */
  interpRuns: Int32Array = EMPTY_RUNS;
  /**
   * 1 at the slots some `lddw rX, <function>` of this program names: the only places a callback may
   * start (a function pointer with any other slot is a forgery and faults in both engines).
   */
  readonly funcEntry: Uint8Array;
  private readonly helpers: HelperRegistry;
  private readonly helperFilter: ((id: number) => boolean) | undefined;

  constructor(id: number, insns: readonly Instruction[], helpers: HelperRegistry, opts: LoadOptions = {}) {
    this.id = id;
    this.name = opts.name ?? 'prog';
    this.owner = opts.owner;
    this.insns = insns;
    const fail = (pc: number, message: string): never => {
      const insn = insns.find((i) => i.pc === pc);
      throw new VmError('load', message, { pc, program: this.name, ...(insn ? { insnText: formatInsn(insn) } : {}) });
    };
    // Instructions must carry consecutive slot numbers (decodeProgram/assemble produce them).
    let slots = 0;
    for (const i of insns) {
      if (i.pc !== slots)
        fail(i.pc, `instruction pcs are not consecutive slot indices (expected ${slots}); use assignPcs()`);
      slots += slotsOf(i);
    }
    const problem = checkProgram(insns);
    if (problem) fail(problem.pc, problem.message);
    this.slots = slots;
    this.code = new Uint8Array(slots);
    this.dst = new Uint8Array(slots);
    this.src = new Uint8Array(slots);
    this.off = new Int32Array(slots);
    this.imm = new Int32Array(slots);
    this.imm2 = new Int32Array(slots);
    this.bySlot = new Array(slots).fill(undefined);
    this.funcEntry = new Uint8Array(slots);
    this.helpers = helpers;
    this.helperFilter = opts.mayCall;
    const starts = new Set(insns.map((i) => i.pc));
    for (const i of insns) {
      const cls = classOf(i.code);
      const writesDst = cls === BPF_ALU || cls === BPF_ALU64 || cls === BPF_LDX || i.code === OP_LDDW;
      if (writesDst && i.dst === REG_FP) fail(i.pc, 'r10 (the frame pointer) is read-only');
      // atomics with BPF_FETCH (and xchg) write the old value into src
      if (i.code === (BPF_STX | BPF_ATOMIC | BPF_W) || i.code === (BPF_STX | BPF_ATOMIC | BPF_DW)) {
        if (i.src === REG_FP && (i.imm & BPF_FETCH) !== 0 && i.imm !== BPF_CMPXCHG)
          fail(i.pc, 'r10 (the frame pointer) is read-only: it cannot receive a fetched value');
      }
      let imm = i.imm;
      let imm2 = i.imm2;
      if (i.code === OP_LDDW && i.src === BPF_PSEUDO_FUNC) {
        // a callback's address: the VM's own function-pointer encoding (see invokeCallback)
        const target = i.pc + i.imm + 1;
        if (!starts.has(target))
          fail(i.pc, `lddw function pointer target ${target} is not an instruction of the program`);
        imm = target;
        imm2 = FUNC_TAG | id;
        this.funcEntry[target] = 1;
      } else if (i.code === OP_LDDW && i.src !== 0) {
        const v = opts.resolvePseudo?.(i);
        if (!v)
          fail(
            i.pc,
            `lddw with pseudo source ${i.src} is not resolved (load it through a collection that provides maps)`,
          );
        else [imm, imm2] = v;
      }
      if (i.code === (BPF_JMP | BPF_CALL)) {
        if (i.src === 2) fail(i.pc, 'kfunc calls are not supported by the VM');
        if (i.src === 0 && !helpers.has(i.imm)) fail(i.pc, `${helperName(i.imm)} is not registered in this VM`);
        if (i.src === 0 && opts.mayCall && !opts.mayCall(i.imm))
          fail(i.pc, `${helperName(i.imm)} may not be called by this program`);
      }
      if (classOf(i.code) === BPF_LD && i.code !== OP_LDDW && i.src > 10)
        fail(i.pc, `invalid source register r${i.src}`);
      this.code[i.pc] = i.code;
      this.dst[i.pc] = i.dst;
      this.src[i.pc] = i.src;
      this.off[i.pc] = i.off;
      this.imm[i.pc] = imm;
      this.imm2[i.pc] = imm2;
      this.bySlot[i.pc] = i;
    }
  }

  /** May `callx` call helper `id` (the 64-bit register holding lo:hi)? Registered and in the program's set. */
  mayCallx(lo: number, hi: number): boolean {
    if (hi !== 0 || lo < 0 || !this.helpers.has(lo)) return false;
    return this.helperFilter === undefined || this.helperFilter(lo);
  }

  /** Is helper `id` registered in the VM this program was loaded into? */
  registered(id: number): boolean {
    return this.helpers.has(id);
  }

  /** The instruction at a slot as text (for errors). */
  describe(pc: number): string | undefined {
    const i = this.bySlot[pc];
    return i ? formatInsn(i) : undefined;
  }
}
