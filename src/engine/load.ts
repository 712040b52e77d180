/**
 * Load an ObjectSpec into an engine. The engines live in src/vm and src/kernel; they are imported lazily so
 * that VM-only users never load koffi and kernel users never pay for the interpreter's setup.
 */
import type { ObjectSpec } from '../elf/spec.js';
import type { Collection, EngineName } from './types.js';
import type { HostConfig } from '../vm/contexts/run-context.js';

/** How to load an object: which engine, and the options of that engine. */
export interface LoadOptions {
  engine: EngineName;
  /** VM: number of CPUs that per-CPU maps have (default: the host's CPU count, like the kernel's possible CPUs). */
  cpus?: number;
  /** VM: the host values helpers report (clocks, ids, CPU, random seed); default: the real host's. */
  host?: Partial<HostConfig>;
  /** Kernel: directory on bpffs where maps with pinning are pinned/reused (default /sys/fs/bpf/bpfkit). */
  pinPath?: string;
  /** Kernel: verifier log level (0 = only on failure). */
  logLevel?: number;
}

/**
 * Load an object's programs and maps into the VM (`engine: 'vm'`) or the kernel (`engine: 'kernel'`).
 * The kernel engine (and koffi) is loaded only when asked for.
 */
export async function loadCollection(spec: ObjectSpec, opts: LoadOptions): Promise<Collection> {
  if (opts.engine === 'vm') {
    const { loadVmCollection } = await import('../vm/collection.js');
    return loadVmCollection(spec, opts);
  }
  const { loadKernelCollection } = await import('../kernel/collection.js');
  return loadKernelCollection(spec, opts);
}
