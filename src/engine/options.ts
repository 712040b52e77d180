/**
 * How a spec is loaded, for either engine. The options live here, in the engine-neutral layer, so that
 * src/vm and src/kernel (which implement them) and src/loader (which picks between them) all depend on
 * this folder and never on each other.
 */
import type { EngineName } from './types.js';

/** Host-side values the VM's helpers report (bpf_get_current_pid_tgid, clocks, ...), all overridable. */
export interface HostConfig {
  pid: number;
  tgid: number;
  uid: number;
  gid: number;
  /** CPU the program runs on (bpf_get_smp_processor_id, per-CPU maps). */
  cpu: number;
  /** bpf_ktime_get_ns(): the monotonic clock in ns (default: the host's). */
  clockNs: () => number;
  /** bpf_ktime_get_boot_ns(): nanoseconds since boot (default: the host's). */
  bootClockNs: () => number;
  /** bpf_ktime_get_coarse_ns(): the coarse monotonic clock (default: clockNs). */
  coarseClockNs: () => number;
  /** bpf_ktime_get_tai_ns(): the TAI clock (default: the host's real time, in ns). */
  taiClockNs: () => number;
  /** bpf_jiffies64(): the jiffies counter (default: clockNs at HZ 250, the usual distribution kernel's). */
  jiffies: () => number;
  /** bpf_get_current_comm(): the current task's name, cut to 15 bytes (default: this process's title). */
  comm: string;
  /**
   * bpf_get_current_task() / get_current_task_btf(): the bytes of a `struct task_struct` image to map
   * read-only into VM memory as the current task, so that probe reads and CO-RE field loads through the
   * returned pointer read them. Default: none, and both helpers return NULL (0): every probe read through
   * it is then -EFAULT, never a made-up value.
   */
  task?: Uint8Array;
  /** Seed of bpf_get_prandom_u32's generator (deterministic runs). */
  randomSeed: number;
  /** Where bpf_trace_printk lines go (default: kept in the collection's `trace`). */
  trace: (line: string) => void;
}

/** How the VM executes programs: compiled to JavaScript ('jit', the default), to WebAssembly ('wasm'), or by the switch interpreter. */
export type VmExecution = 'jit' | 'interpreter' | 'wasm';

/** Options of the userspace engine. */
export interface VmLoadOptions {
  /** Number of CPUs that per-CPU maps have (default: the host's CPU count, like the kernel's possible CPUs). */
  cpus?: number;
  /** The host values helpers report (clocks, ids, CPU, random seed, trace sink); default: the real host's. */
  host?: Partial<HostConfig>;
  /** 'jit', 'wasm' or 'interpreter'; default: 'wasm' for objects it runs faster (src/vm/wasm/preference.ts), else 'jit'. */
  execution?: VmExecution;
  /** Executed-instruction budget per run (default 1,000,000). */
  budget?: number;
  /**
   * Socket filters: 'mac' (default) runs them on the frame from its MAC header, as an AF_PACKET raw socket
   * does; 'network' gives BPF_PROG_TEST_RUN's view (skb->data at the network header, and the MAC header
   * zeroed in the packet returned).
   */
  socketView?: 'mac' | 'network';
}

/** Options of the kernel engine. */
export interface KernelLoadOptions {
  /** Directory on bpffs where maps with pinning are pinned or reused (default $BPFKIT_PIN_PATH or /sys/fs/bpf/bpfkit). */
  pinPath?: string;
  /**
   * The pin directory (`pinPath`, which must then be given: the default one is shared and is refused
   * here) belongs to this load alone: the collection's close() removes it with everything in
   * it — and so does the process's exit, SIGINT or SIGTERM (src/kernel/lifecycle.ts), which close every
   * live collection. (SIGKILL cannot be caught: after one, the directory stays until removed by hand.)
   */
  privatePinPath?: boolean;
  /**
   * Where each pinned map (pinning 'object' or 'global') lives, when one directory does not fit: tc pins
   * PIN_GLOBAL_NS maps in /sys/fs/bpf/tc/globals and PIN_OBJECT_NS maps in a directory per object. Takes
   * precedence over `pinPath`; returning undefined falls back to it.
   */
  mapPinPath?: (map: { name: string; pinning: 'none' | 'object' | 'global' }) => string | undefined;
  /** Verifier log level (0 = a log only when a program is refused). */
  logLevel?: number;
  /** Load only these programs (default: all). */
  programs?: string[];
}

/** `loadCollection`'s `verify` as an object: which programs, and what to do where bpfkit cannot tell. */
export interface VerifyLoadOptions {
  /** Check only these programs (default: every one the engine loads); a name that is not loaded is refused. */
  programs?: string[];
  /** Called with the program and the verifier's one-line reason when it cannot judge that program. */
  onUnmodelled?: (program: string, reason: string) => void;
}

/**
 * `loadCollection`'s options: the engine, and each engine's own options. Only the chosen engine's are
 * read, so one object can describe a load on both (differential runs: `{ engine, vm: {...}, kernel: {...} }`).
 */
export interface LoadOptions {
  engine: EngineName;
  /**
   * Check every program with bpfkit's verifier (src/verifier) before loading, and refuse the load with the
   * verifier's first fault when it predicts the kernel would refuse a program (default false). With
   * `onUnmodelled`, a program needing something the verifier does not model is reported there and loaded
   * unverified instead of refusing the load; with `programs`, only those are checked.
   */
  verify?: boolean | VerifyLoadOptions;
  vm?: VmLoadOptions;
  kernel?: KernelLoadOptions;
  /**
   * Target BTF for CO-RE relocations, for both engines alike: a BTF file's path or raw BTF bytes
   * (default: the running kernel's /sys/kernel/btf/vmlinux).
   */
  targetBtf?: string | Uint8Array;
  /**
   * Load only these programs and what they need (programs they tail-call; for the VM, the maps they use),
   * as libbpf's autoload does: a program left out is never resolved or loaded, so it cannot stop the others.
   * A kernel load given this and a different `kernel.programs` is refused (one list, not a silent choice).
   */
  programs?: string[];
}
