/**
 * The names of the VM's execution engines, in a module of their own: a command line that only checks
 * `--vm-engine` (src/cli/vm-engine-flag.ts) learns them without loading the VM behind them.
 */

/**
 * The VM's execution engines: `jit` compiles each program to a JavaScript function, `wasm` to a
 * WebAssembly module (docs/wasm.md), `interpreter` is a switch loop (the reference).
 */
export type EngineKind = 'interpreter' | 'jit' | 'wasm';

/** Every engine, the default first. */
export const ENGINES: readonly EngineKind[] = ['jit', 'interpreter', 'wasm'];
