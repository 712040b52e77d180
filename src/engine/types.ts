/**
 * One API over two engines. A Collection is what an ObjectSpec becomes once loaded into the userspace VM
 * ('vm') or the Linux kernel ('kernel'). Programs run and maps are read and written the same way on
 * both, so a user switches engines with one option and tests compare them like for like.
 *
 * Everything here is synchronous: the VM is, and the kernel's bpf(2) calls are quick syscalls.
 * Keys and values are raw bytes in the host's byte order, exactly as the kernel stores them.
 */

/** Which engine a collection runs on: the userspace VM or the Linux kernel. */
export type EngineName = 'vm' | 'kernel';

/** What one run of a program gets: packet bytes, context bytes, a repeat count. */
export interface RunOptions {
  /**
   * Packet bytes. For packet programs (socket filter, tc, XDP) this is the frame from its MAC header
   * (the raw-socket view; see docs on SOCKET_FILTER and BPF_PROG_TEST_RUN).
   */
  data?: Uint8Array;
  /** Context bytes (e.g. a struct __sk_buff with mark/priority/cb set, or an xdp_md) — optional. */
  ctx?: Uint8Array;
  /** Run this many times (like BPF_PROG_TEST_RUN's repeat); the result is the last run's. */
  repeat?: number;
  /**
   * The CPU the run happens on: which value of a per-CPU map it reads and writes, and what
   * bpf_get_smp_processor_id says. Default: the VM's `host.cpu` (0 unless set); the kernel engine pins
   * the test run's thread to it (CPU 0 by default), so both engines touch the same slot.
   */
  cpu?: number;
}

/** What a run returns, the same on both engines. */
export interface RunResult {
  /** r0 at exit, truncated to 32 bits unsigned as BPF_PROG_TEST_RUN reports it. */
  retval: number;
  /** The packet after the run (programs may rewrite it, grow or shrink it). */
  data: Uint8Array;
  /** The context after the run, when one was given. */
  ctx?: Uint8Array;
  /** Average duration of one run in nanoseconds, when the engine measures it. */
  durationNs?: number;
}

/** A loaded program, in the VM or in the kernel. */
export interface Program {
  readonly name: string;
  /** ProgType.* */
  readonly type: number;
  /** Kernel fd, or a VM handle; usable in prog-array updates of the same collection. */
  readonly fd: number;
  /** Run the program once (or `repeat` times) on a packet and/or context. */
  run(opts: RunOptions): RunResult;
  /**
   * Optional per-packet entry for capture loops: run on `frame` as run({ data: frame }) does and return
   * only the retval, without copying the packet back out or allocating a result (the VM implements it).
   */
  runPacket?(frame: Uint8Array): number;
  /** runPacket for the frame at bytes[off, off + len) (the VM may then run it without copying it). */
  runPacketAt?(bytes: Uint8Array, off: number, len: number): number;
  /** Release the program (the kernel's fd; nothing to do in the VM). */
  close(): void;
}

/** A loaded map. Keys and values are raw bytes in the host's byte order, as the kernel stores them. */
export interface BpfMap {
  readonly name: string;
  /** MapType.* */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** Kernel fd, or a VM handle. */
  readonly fd: number;
  /** The value stored under `key` (a copy), or undefined when there is none. */
  lookup(key: Uint8Array): Uint8Array | undefined;
  /** Per-CPU maps: one value per possible CPU. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined;
  /** flags: UpdateFlag.ANY / NOEXIST / EXIST. Errors are BpfkitErrors carrying the errno name (EEXIST, ENOENT, E2BIG). */
  update(key: Uint8Array, value: Uint8Array, flags?: number): void;
  /** Per-CPU maps: set one value per possible CPU. */
  updatePerCpu?(key: Uint8Array, values: Uint8Array[], flags?: number): void;
  /** Remove `key`; false when it was not there. */
  delete(key: Uint8Array): boolean;
  /** Iterate keys with get-next-key semantics. */
  keys(): IterableIterator<Uint8Array>;
  /** Queue/stack maps. */
  push?(value: Uint8Array, flags?: number): void;
  /** Queue/stack maps: take the next value out (undefined when empty). */
  pop?(): Uint8Array | undefined;
  /** Queue/stack maps: the next value, left in place (undefined when empty). */
  peek?(): Uint8Array | undefined;
  /** Release the map (the kernel's fd; the VM's memory). */
  close(): void;
}

/** What an object becomes once loaded: its programs and maps by name, on one engine. */
export interface Collection {
  readonly engine: EngineName;
  readonly programs: ReadonlyMap<string, Program>;
  readonly maps: ReadonlyMap<string, BpfMap>;
  /** The program called `name`; throws naming the programs there are when none is. */
  program(name: string): Program;
  /** The map called `name`; throws naming the maps there are when none is. */
  map(name: string): BpfMap;
  /** Close every program, map and link the collection owns. */
  close(): void;
}
