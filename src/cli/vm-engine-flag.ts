/**
 * `--vm-engine jit|wasm|interpreter`, shared by `run`, `urls` and `conformance`: which of the VM's engines
 * runs the programs (docs/wasm.md). Checked here once so every command words the error the same way.
 */
import { UsageError } from '../util/errors.js';
// (the names only: checking a flag must not load the VM, which a run may not even use)
import { ENGINES, type EngineKind } from '../vm/engine-kind.js';

/** Help line for the flag. */
export const VM_ENGINE_HELP = `--vm-engine E        the VM's engine: ${ENGINES.join(', ')} (default: wasm for objects it runs faster, else jit)`;

/** The flag's value as an engine, undefined when not given; a UsageError for anything else. */
export function vmEngineFlag(value: string | undefined): EngineKind | undefined {
  if (value === undefined) return undefined;
  if (!ENGINES.includes(value as EngineKind))
    throw new UsageError(`--vm-engine must be ${ENGINES.join(', ')}, got '${value}'`);
  return value as EngineKind;
}
