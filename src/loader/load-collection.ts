/**
 * loadCollection: an ObjectSpec into the engine the caller names. This sits above both engines (they
 * depend on src/engine, never on this folder), which is what keeps the folders free of import cycles.
 *
 * The VM is imported statically. The kernel engine is imported on first use, by a fixed path: it loads
 * koffi, a native addon, which VM-only users (capture files on any OS, including ones koffi has no
 * build for) must never need.
 */
import type { ObjectSpec } from '../elf/spec.js';
import type { Collection } from '../engine/types.js';
import type { LoadOptions, VerifyLoadOptions } from '../engine/options.js';
import { BpfkitError } from '../util/errors.js';
import { loadVmCollection } from '../vm/collection.js';
import { verifyObject, ProgramRefusedError } from '../verifier/index.js';
import { applyCore } from './core.js';

/** `verify`: the verifier's verdict on every program first; the first refusal stops the load. */
function checkVerified(spec: ObjectSpec, programs: string[] | undefined, how: VerifyLoadOptions): void {
  for (const { program, result } of verifyObject(spec, { programs: how.programs ?? programs })) {
    if (result.accepted) continue;
    if (result.unmodelled && how.onUnmodelled) how.onUnmodelled(program.name, result.message!);
    else throw new ProgramRefusedError(program.name, result);
  }
}

/**
 * Load `spec` into `opts.engine` ('vm' or 'kernel') with that engine's options (`opts.vm`, `opts.kernel`).
 * CO-RE relocations are applied first against `opts.targetBtf` (default the running kernel's BTF).
 * Each engine refuses a faulty spec the same way (validateSpec: a SpecError, exit 2) before it creates anything.
 */
export async function loadCollection(spec: ObjectSpec, opts: LoadOptions): Promise<Collection> {
  // CO-RE first, so the verifier, the VM and the kernel all see the same relocated instructions.
  const relocated = applyCore(spec, opts.targetBtf);
  if (opts.verify) {
    const how = opts.verify === true ? {} : opts.verify;
    checkVerified(relocated, opts.engine === 'kernel' ? opts.kernel?.programs : undefined, how);
  }
  if (opts.engine === 'vm') return loadVmCollection(relocated, opts.vm);
  if (opts.engine === 'kernel') {
    const { loadKernelCollection } = await import('../kernel/collection.js');
    return loadKernelCollection(relocated, opts.kernel);
  }
  throw new BpfkitError(`unknown engine '${String(opts.engine)}' (vm or kernel)`, 2);
}
