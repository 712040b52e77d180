/**
 * The parts of the WebAssembly JavaScript API the engine uses, typed here because the ES2022 library
 * bpfkit compiles against has no WebAssembly types. Node and every browser provide the API; where it is
 * missing (`wasmApi` undefined) the 'wasm' engine runs programs on the compiled JavaScript engine.
 */

/** A WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** A WebAssembly.Table of function references. */
export interface WasmTable {
  readonly length: number;
  grow(delta: number): number;
  set(index: number, value: unknown): void;
}

/** An instantiated module's exports. */
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

/** The constructors the engine calls. */
export interface WasmApi {
  Memory: new (d: { initial: number; maximum: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Table: new (d: { initial: number; element: 'anyfunc' }) => WasmTable;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}

/** The host's WebAssembly API, if it has one. */
export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
