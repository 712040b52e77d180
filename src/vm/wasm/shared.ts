/**
 * The one page of WebAssembly linear memory a Vm running the 'wasm' engine owns: the register file
 * (EngineState.lo / hi), the budget cell and the call frames' stacks (EngineState.allStacks) are views of
 * it, so the interpreter, the compiled JavaScript engine, helpers and Memory read and write the very
 * bytes the WebAssembly modules do. It never grows (growing would detach those views).
 */
import { MAX_CALL_FRAMES, STACK_SIZE } from '../../isa/index.js';
import { wasmApi, type WasmMemory } from './runtime.js';
import { MEM_BUDGET, MEM_HI, MEM_LO, MEM_LOAD_HI, MEM_PAGES, MEM_STACKS } from './body.js';

/** Index of the budget cell in WasmShared.cells. */
export const BUDGET_CELL = MEM_BUDGET / 4;
/** Index of the cell a 64-bit load's high half comes back in. */
export const LOAD_HI_CELL = MEM_LOAD_HI / 4;

/** A Vm's linear memory and the views the engines share. */
export interface WasmShared {
  memory: WasmMemory;
  /** The whole page as int32s (the budget and load cells). */
  cells: Int32Array;
  /** Register file halves (EngineState.lo / hi). */
  lo: Int32Array;
  hi: Int32Array;
  /** Every frame's stack bytes (EngineState.allStacks). */
  stacks: Uint8Array;
  /** Budget beyond what the i32 cell holds (huge budgets). */
  extra: number;
}

/** A new Vm's linear memory and its views (undefined without WebAssembly: the engine then runs the JIT). */
export function createWasmShared(): WasmShared | undefined {
  if (wasmApi === undefined) return undefined;
  const memory = new wasmApi.Memory({ initial: MEM_PAGES, maximum: MEM_PAGES });
  const buf = memory.buffer;
  return {
    memory,
    cells: new Int32Array(buf),
    lo: new Int32Array(buf, MEM_LO, 11),
    hi: new Int32Array(buf, MEM_HI, 11),
    stacks: new Uint8Array(buf, MEM_STACKS, MAX_CALL_FRAMES * STACK_SIZE),
    extra: 0,
  };
}
