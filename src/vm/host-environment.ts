/**
 * What the VM would like to know about the machine and JavaScript runtime it runs on, kept out of src/vm's
 * code so that the same modules run in Node and in a browser (no `node:*` import, no Node global).
 *
 * The defaults are what any runtime can tell: the CPU count from `navigator.hardwareConcurrency` (else 1),
 * process ids 0, and no way to tune the JavaScript engine. On Node, src/loader/node-host.ts fills in the
 * real values (os.cpus(), process.pid/uid/gid/title, v8.setFlagsFromString) when it is imported — the
 * loader, the CLI and the benchmarks import it; a Node program that uses `bpfkit/vm` alone may call
 * {@link configureVmHost} itself (docs/vm.md, "In the browser").
 */
import type { ModuleCache } from './wasm/module-cache.js';

/** The host facts the VM uses, set by {@link configureVmHost}. */
export interface VmHostEnvironment {
  /** CPUs of a collection whose load options name none (per-CPU maps have one value per CPU). */
  cpus: number;
  /** bpf_get_current_pid_tgid's pid and tgid. */
  pid: number;
  /** bpf_get_current_uid_gid's uid. */
  uid: number;
  /** bpf_get_current_uid_gid's gid. */
  gid: number;
  /** bpf_get_current_comm's name (at most 15 bytes are used). */
  comm: string;
  /**
   * Sets one V8 command-line flag at run time (Node's v8.setFlagsFromString). The JIT engine raises V8's
   * size limit for optimizing a function when it compiles a large program; without this hook such
   * programs may run unoptimized, and slower, but with the same results.
   */
  setEngineFlag: ((flag: string) => void) | undefined;
  /**
   * Where the 'wasm' engine keeps compiled modules between processes (wasm/module-cache.ts), or
   * undefined: every program is compiled in every process. bpfkit's CLI sets a file store
   * (src/loader/module-cache-files.ts) for the commands that run programs.
   */
  moduleCache: ModuleCache | undefined;
}

function portableCpuCount(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 1;
}

/** The facts in effect (read by the collection and the JIT engine when they need one). */
export const vmHost: VmHostEnvironment = {
  cpus: portableCpuCount(),
  pid: 0,
  uid: 0,
  gid: 0,
  comm: 'bpfkit',
  setEngineFlag: undefined,
  moduleCache: undefined,
};

/**
 * Tell the VM about its host: any field given replaces the default for every collection loaded after
 * (and, for `setEngineFlag`, every program compiled after). Node's setup (src/loader/node-host.ts) calls it.
 */
export function configureVmHost(facts: Partial<VmHostEnvironment>): void {
  if (facts.cpus !== undefined && (!Number.isInteger(facts.cpus) || facts.cpus < 1))
    throw new RangeError(`cpus must be a positive integer (got ${facts.cpus})`);
  Object.assign(vmHost, facts);
}
