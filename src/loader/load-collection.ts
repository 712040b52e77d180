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
import './node-host.js'; // the VM's host facts (CPU count, process ids, V8 flags) on Node
import { verifyObject, ProgramRefusedError } from '../verifier/index.js';
import { applyCore } from './core.js';
import { selectPrograms } from './select.js';
import { resolveExterns } from './externs.js';
import { resolveAttachTargets } from './attach-btf.js';
import { refuseStructOpsInVm, resolveStructOps } from './struct-ops.js';
import { runningKernel, type KernelEnv } from './kernel-env.js';
import { InputError } from '../util/errors.js';
import { ProgType } from '../uapi/types.js';
import { MoreProgTypes } from '../elf/section-types.js';

/** `verify`: the verifier's verdict on every program first; the first refusal stops the load. */
function checkVerified(spec: ObjectSpec, programs: string[] | undefined, how: VerifyLoadOptions, env: KernelEnv): void {
  // A name that is not loaded would be checked by nobody: the load went on unverified without a word.
  const loaded = spec.programs.map((p) => p.name);
  for (const name of how.programs ?? [])
    if (!loaded.includes(name))
      throw new InputError(
        `verify.programs names '${name}', which is not among the programs loaded (${loaded.join(', ') || 'none'})`,
        spec.path ?? 'object',
      );
  // tp_btf, iterator, netfilter and struct_ops programs are checked by the kernel's BTF (their arguments' or
  // context's types, the struct_ops member resolveStructOps found): parsed only when one is there.
  const kernelBtf = spec.programs.some(
    (p) =>
      p.type === MoreProgTypes.TRACING || p.type === MoreProgTypes.NETFILTER || p.type === MoreProgTypes.STRUCT_OPS,
  )
    ? env.btf()
    : undefined;
  for (const { program, result } of verifyObject(spec, { programs: how.programs ?? programs, kernelBtf })) {
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
  // CO-RE and externs first, so the verifier, the VM and the kernel all see the same relocated instructions.
  const env = runningKernel();
  const relocated = prepareSpec(spec, opts, env);
  if (opts.verify) {
    const how = opts.verify === true ? {} : opts.verify;
    checkVerified(relocated, opts.engine === 'kernel' ? opts.kernel?.programs : undefined, how, env);
  }
  if (opts.engine === 'vm') return loadVmCollection(relocated, opts.vm);
  if (opts.engine === 'kernel') {
    const { loadKernelCollection } = await import('../kernel/collection.js');
    // prepareSpec kept what kernel.programs asked for and the programs their prog arrays hold; the engine
    // filters by name again, so name all that were kept, or the tail-call slots stay empty (tc's ID/KEY).
    const kernel = opts.kernel?.programs
      ? { ...opts.kernel, programs: relocated.programs.map((p) => p.name) }
      : opts.kernel;
    return loadKernelCollection(relocated, kernel);
  }
  throw new BpfkitError(`unknown engine '${String(opts.engine)}' (vm or kernel)`, 2);
}

/**
 * Everything between parsing and an engine, in order: the programs asked for (autoload), a refusal for
 * programs no engine can take, CO-RE relocations (so the verifier, the VM and the kernel all see the same
 * instructions), externs, and — for the kernel — attach targets. Exported for synchronous loaders (the trace API) and for tests, which pass their own env.
 */
export function prepareSpec(spec: ObjectSpec, opts: LoadOptions, env: KernelEnv): ObjectSpec {
  // Both lists for a kernel load: the top-level one was used and kernel.programs dropped without a word.
  const kernelAsked = opts.engine === 'kernel' ? opts.kernel?.programs : undefined;
  if (
    opts.programs &&
    kernelAsked &&
    [...new Set(opts.programs)].sort().join('\0') !== [...new Set(kernelAsked)].sort().join('\0')
  )
    throw new BpfkitError(
      `programs (${opts.programs.join(', ')}) and kernel.programs (${kernelAsked.join(', ')}) name different programs to load: give one list`,
      2,
    );
  const asked = opts.programs ?? (opts.engine === 'kernel' ? opts.kernel?.programs : undefined);
  // Not asked by name: every program but those in `?` sections (libbpf's autoload off), with every map.
  const wanted =
    asked ??
    (spec.programs.some((p) => p.autoload === false)
      ? spec.programs.filter((p) => p.autoload !== false).map((p) => p.name)
      : undefined);
  // kernel.programs (tc) keeps every map: iproute2 creates them all, and hands them all over.
  let s = wanted ? selectPrograms(spec, wanted, { allMaps: !opts.programs }) : spec;
  checkLoadable(s, opts.engine === 'kernel');
  if (opts.engine === 'vm') refuseStructOpsInVm(s);
  s = applyCore(s, opts.targetBtf);
  s = resolveExterns(s, env, opts.engine === 'vm' ? 'vm' : 'kernel');
  if (opts.engine === 'kernel') s = resolveStructOps(resolveAttachTargets(s, env), env);
  return s;
}

/** Programs in sections no engine can load (freplace, struct_ops), and for the kernel ones of unknown type. */
function checkLoadable(spec: ObjectSpec, kernel: boolean): void {
  for (const p of spec.programs) {
    const where = `${spec.path ?? 'object'}: program '${p.name}'`;
    // A section's reason (freplace, struct_ops) reads after the section; an instruction's names its function.
    if (p.unsupported)
      throw new InputError(
        p.unsupported.startsWith('function ')
          ? `not supported: ${p.unsupported}`
          : `section '${p.section}' is not supported: ${p.unsupported}`,
        where,
      );
    if (kernel && p.type === ProgType.UNSPEC)
      throw new InputError(
        `section '${p.section}' is not a section name libbpf knows (socket, xdp, tc, kprobe/..., tp_btf/...); give the program type with --type`,
        where,
      );
  }
}
