/**
 * The C library calls bpfkit needs, bound once through koffi (no native build). Everything the kernel
 * reads or writes through a pointer lives in native memory from `NativeBuffer`, never in a JS typed array,
 * because V8 may move small on-heap arrays and the kernel must see a stable address.
 *
 * Every call returns the raw C result; `errno()` reads the thread's errno right after a failing call.
 */
import koffi from 'koffi';
import { EnvironmentError, InputError } from '../util/errors.js';

type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Libc {
  syscall: Fn;
  socket: Fn;
  bind: Fn;
  setsockopt: Fn;
  getsockopt: Fn;
  recvmsg: Fn;
  sendto: Fn;
  recv: Fn;
  close: Fn;
  if_nametoindex: Fn;
  if_indextoname: Fn;
  mount: Fn;
  ioctl: Fn;
  sched_setaffinity: Fn;
  sched_getaffinity: Fn;
}

let bound: Libc | undefined;

/** Bind libc lazily: importing src/kernel must not fail on machines where only the VM is used. */
export function libc(): Libc {
  if (bound) return bound;
  if (process.platform !== 'linux') throw new EnvironmentError('the kernel engine needs Linux (bpf(2))');
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libc.so.6');
  } catch (err) {
    throw new EnvironmentError(`cannot load libc.so.6 through koffi: ${(err as Error).message}`);
  }
  bound = {
    syscall: lib.func('long syscall(long nr, long cmd, void *attr, ulong size)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    bind: lib.func('int bind(int fd, void *addr, uint len)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *val, uint len)'),
    getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *val, _Inout_ uint *len)'),
    recvmsg: lib.func('long recvmsg(int fd, void *msg, int flags)'),
    sendto: lib.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint addrlen)'),
    recv: lib.func('long recv(int fd, void *buf, size_t len, int flags)'),
    close: lib.func('int close(int fd)'),
    if_nametoindex: lib.func('uint if_nametoindex(str name)'),
    if_indextoname: lib.func('char *if_indextoname(uint index, void *buf)'),
    mount: lib.func('int mount(str source, str target, str fstype, ulong flags, void *data)'),
    ioctl: lib.func('int ioctl(int fd, ulong request, void *arg)'),
    sched_setaffinity: lib.func('int sched_setaffinity(int pid, size_t size, void *mask)'),
    sched_getaffinity: lib.func('int sched_getaffinity(int pid, size_t size, void *mask)'),
  };
  return bound;
}

export function errno(): number {
  return koffi.errno();
}

const errnoNames = new Map<number, string>();
/** 'ENOENT' for 2, and so on (koffi carries the platform's table); ENOTSUPP (524) is kernel-internal. */
export function errnoName(code: number): string {
  if (errnoNames.size === 0) {
    for (const [name, value] of Object.entries(koffi.os.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);
    errnoNames.set(524, 'ENOTSUPP');
  }
  return errnoNames.get(code) ?? `errno ${code}`;
}

/** Number of errno `name` on this platform (e.g. 'EAGAIN'). */
export function errnoOf(name: string): number {
  if (name === 'ENOTSUPP') return 524;
  const v = koffi.os.errno[name];
  if (v === undefined) throw new Error(`unknown errno name ${name}`);
  return v;
}

/**
 * Native memory with a JS view. `bytes`/`view` read and write it; `ptr` is what koffi passes as `void *`;
 * `address` is the pointer value the kernel expects inside attribute structs (__aligned_u64).
 */
export class NativeBuffer {
  readonly ptr: unknown;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly address: bigint;
  /** The address as two 32-bit halves, for hot paths that must not allocate BigInts. */
  readonly addressLo: number;
  readonly addressHi: number;
  private freed = false;

  constructor(readonly size: number) {
    // koffi.alloc returns uninitialised memory: zero it (bpf_attr must be zero-filled past the fields we set).
    this.ptr = koffi.alloc('uint8_t', Math.max(1, size));
    this.bytes = new Uint8Array(koffi.view(this.ptr, Math.max(1, size)));
    this.bytes.fill(0);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.address = koffi.address(this.ptr);
    this.addressLo = Number(this.address & 0xffffffffn);
    this.addressHi = Number(this.address >> 32n);
  }

  static from(data: Uint8Array): NativeBuffer {
    const b = new NativeBuffer(data.length);
    b.bytes.set(data);
    return b;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    koffi.free(this.ptr);
  }
}

/**
 * Index of a network interface by name, or an InputError naming it: the name given is wrong for this
 * machine (exit 2, as `bpfkit tc` says of a device it cannot find), not a privilege it lacks.
 */
export function interfaceIndex(name: string): number {
  const idx = libc().if_nametoindex(name) as number;
  if (!idx) throw new InputError(`no network interface named '${name}'`);
  return idx;
}

/** Name of a network interface by index, or undefined. */
export function interfaceName(index: number): string | undefined {
  const buf = new NativeBuffer(16);
  try {
    const r = libc().if_indextoname(index, buf.ptr);
    if (!r) return undefined;
    const end = buf.bytes.indexOf(0);
    return Buffer.from(buf.bytes.subarray(0, end < 0 ? 16 : end)).toString('latin1');
  } finally {
    buf.free();
  }
}
