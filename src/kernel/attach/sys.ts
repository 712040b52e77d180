/**
 * The system calls tracing needs beyond bpf(2), bound through koffi like src/kernel/libc.ts:
 * perf_event_open (through syscall(2): libc has no wrapper), ioctl on perf events, mmap/munmap for ring
 * buffers, and epoll to sleep until a ring has data. epoll_wait is called on koffi's worker thread
 * (`.async`), so a consumer waiting for events never blocks Node's event loop.
 */
import koffi from 'koffi';
import { EnvironmentError } from '../../util/errors.js';
import { errno, libc } from '../libc.js';

type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
interface AsyncFn extends Fn {
  async: (...args: unknown[]) => void;
}

interface TraceSys {
  mmap: Fn;
  munmap: Fn;
  epoll_create1: Fn;
  epoll_ctl: Fn;
  epoll_wait: AsyncFn;
  perf_syscall: Fn;
  sysconf: Fn;
}

let bound: TraceSys | undefined;

function sys(): TraceSys {
  if (bound) return bound;
  libc(); // the platform check and its message
  const lib = koffi.load('libc.so.6');
  bound = {
    mmap: lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)'),
    munmap: lib.func('int munmap(void *addr, size_t len)'),
    epoll_create1: lib.func('int epoll_create1(int flags)'),
    epoll_ctl: lib.func('int epoll_ctl(int epfd, int op, int fd, void *event)'),
    epoll_wait: lib.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)') as AsyncFn,
    sysconf: lib.func('long sysconf(int name)'),
    perf_syscall: lib.func('long syscall(long nr, void *attr, int pid, int cpu, int group_fd, ulong flags)'),
  };
  return bound;
}

function perfEventOpenNumber(): number {
  if (process.arch === 'x64') return 298;
  if (process.arch === 'arm64') return 241;
  throw new EnvironmentError(
    `bpfkit knows perf_event_open's syscall number on x86_64 and aarch64, not ${process.arch}`,
  );
}

/** perf_event_open(2): the fd, or -errno. */
export function perfEventOpenRaw(attr: unknown, pid: number, cpu: number, groupFd: number, flags: number): number {
  const r = sys().perf_syscall(perfEventOpenNumber(), attr, pid, cpu, groupFd, flags) as number;
  return r < 0 ? -errno() : r;
}

/** ioctl(fd, request, arg) with an integer argument: 0 or -errno. */
export function ioctlInt(fd: number, request: number, arg: number): number {
  const r = libc().ioctl(fd, request, arg) as number;
  return r < 0 ? -errno() : r;
}

/** PROT_* and MAP_* (the same on x86_64 and aarch64). */
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;

/** mmap(2) of `len` bytes of `fd` at `offset`: the mapping's address as a koffi pointer, or -errno. */
export function mmapFd(len: number, prot: number, fd: number, offset: number): { ptr: unknown } | number {
  const p = sys().mmap(null, len, prot, MAP_SHARED, fd, offset);
  // MAP_FAILED is (void *)-1.
  if (koffi.address(p) === 0xffffffffffffffffn) return -errno();
  return { ptr: p };
}

/** munmap(2). */
export function munmap(ptr: unknown, len: number): void {
  sys().munmap(ptr, len);
}

/** A JS view over native memory at `ptr` (the mapping stays valid until munmap). */
export function nativeView(ptr: unknown, len: number): ArrayBuffer {
  return koffi.view(ptr, len);
}

/** An epoll instance watching fds for readability. */
export class Epoll {
  readonly fd: number;
  private readonly events = koffi.alloc('uint8_t', 12 * 8);
  private closed = false;
  private waiting = false;

  constructor(watch: number | number[]) {
    const s = sys();
    this.fd = s.epoll_create1(0x80000 /* EPOLL_CLOEXEC */) as number;
    if (this.fd < 0) throw new EnvironmentError(`epoll_create1 failed (errno ${errno()})`);
    // struct epoll_event is packed on x86_64 (12 bytes), 16 bytes elsewhere; events (u32) comes first either way.
    const ev = koffi.alloc('uint8_t', 16);
    const view = new DataView(koffi.view(ev, 16));
    try {
      for (const watchFd of typeof watch === 'number' ? [watch] : watch) {
        view.setUint32(0, 1 /* EPOLLIN */, true);
        view.setUint32(4, watchFd, true);
        const r = s.epoll_ctl(this.fd, 1 /* EPOLL_CTL_ADD */, watchFd, ev) as number;
        if (r < 0) {
          const e = errno();
          libc().close(this.fd);
          throw new EnvironmentError(`epoll_ctl failed (errno ${e})`);
        }
      }
    } finally {
      koffi.free(ev);
    }
  }

  /** Wait up to `timeoutMs` on a worker thread; resolves with the number of ready fds (0 on timeout). */
  wait(timeoutMs: number): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    this.waiting = true;
    return new Promise((resolve) => {
      sys().epoll_wait.async(this.fd, this.events, 8, timeoutMs, (err: unknown, n: number) => {
        this.waiting = false;
        if (this.closed) this.release();
        resolve(err ? 0 : Math.max(0, n));
      });
    });
  }

  /** Close now, or as soon as a pending wait returns. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.waiting) this.release();
  }

  private release(): void {
    libc().close(this.fd);
    koffi.free(this.events);
  }
}

let page = 0;
/** The system's page size (sysconf(_SC_PAGESIZE)). */
export function pageSize(): number {
  if (!page) page = Number(sys().sysconf(30 /* _SC_PAGESIZE */));
  return page;
}
