/**
 * AF_UNIX datagram sockets that carry file descriptors (SCM_RIGHTS), for tc's map hand-over: the importer
 * binds a socket file and waits; the exporter connects to it and sends datagrams, each with some fds in its
 * control message. The kernel duplicates those fds into the receiver, which is how a bpf map outlives the
 * process that created it without a pin.
 *
 * Sending is synchronous (a datagram socket to a local receiver does not block for long). Receiving waits
 * in epoll on koffi's worker thread, so Node's event loop — and its SIGINT handler — keep running while no
 * one has sent anything yet.
 */
import { unlinkSync } from 'node:fs';
import koffi from 'koffi';
import { libc, errno, errnoName, NativeBuffer } from './libc.js';
import { Epoll } from './attach/sys.js';
import {
  MSGHDR,
  IOVEC,
  CMSGHDR,
  SOCKADDR_UN,
  setPointer,
  setU64,
  setU16,
  setI32,
  getU64Number,
  getI32,
  getU32,
} from './abi/index.js';
import { BpfkitError, EnvironmentError } from '../util/errors.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const MSG_CTRUNC = 0x08;
const MSG_CMSG_CLOEXEC = 0x40000000;

type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
let bound: { connect: Fn; sendmsg: Fn } | undefined;

/** connect(2) and sendmsg(2), which src/kernel/libc.ts does not bind (only this module needs them). */
function calls(): { connect: Fn; sendmsg: Fn } {
  if (bound) return bound;
  libc(); // the platform check and its message
  const lib = koffi.load('libc.so.6');
  bound = {
    connect: lib.func('int connect(int fd, void *addr, uint len)'),
    sendmsg: lib.func('long sendmsg(int fd, void *msg, int flags)'),
  };
  return bound;
}

const align8 = (n: number) => (n + 7) & ~7;
/** CMSG_LEN(bytes): the control message's header plus its data. */
const cmsgLen = (bytes: number) => CMSGHDR.size + bytes;

/** One datagram as received: its bytes and the fds that came with it (already ours, close-on-exec). */
export interface FdDatagram {
  data: Uint8Array;
  fds: number[];
  /** The kernel cut the datagram (MSG_TRUNC) or its fds (MSG_CTRUNC) to fit the buffers. */
  truncated: boolean;
}

function writeAddress(buf: NativeBuffer, at: number, path: string): void {
  const name = Buffer.from(path, 'utf8');
  if (name.length >= SOCKADDR_UN.fields.sun_path.size)
    throw new BpfkitError(`socket path too long (${name.length} bytes, at most 107): ${path}`, 2);
  setU16(buf.view, SOCKADDR_UN.fields.sun_family, AF_UNIX, at);
  buf.bytes.set(name, at + SOCKADDR_UN.fields.sun_path.offset);
}

function openSocket(what: string): number {
  const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) throw new EnvironmentError(`${what}: socket(AF_UNIX): ${errnoName(errno())}`);
  return fd;
}

/**
 * Send `datagrams` to the socket bound at `path`, each with its fds as one SCM_RIGHTS message (the fds stay
 * open here; the receiver gets its own copies). Fails with one line when no one listens there.
 */
export function sendDatagramsWithFds(
  path: string,
  datagrams: readonly { data: Uint8Array; fds: readonly number[] }[],
): void {
  const fd = openSocket(`send to ${path}`);
  const addr = new NativeBuffer(SOCKADDR_UN.size);
  try {
    writeAddress(addr, 0, path);
    if ((calls().connect(fd, addr.ptr, SOCKADDR_UN.size) as number) < 0) {
      const e = errnoName(errno());
      throw new BpfkitError(
        `cannot connect to ${path}: ${e}${e === 'ECONNREFUSED' || e === 'ENOENT' ? ' (is an importer waiting there?)' : ''}`,
      );
    }
    for (const d of datagrams) sendOne(fd, path, d.data, d.fds);
  } finally {
    addr.free();
    libc().close(fd);
  }
}

function sendOne(fd: number, path: string, data: Uint8Array, fds: readonly number[]): void {
  // One native block: msghdr | iovec | control (cmsghdr + the fds) | data.
  const iovAt = MSGHDR.size;
  const ctlAt = iovAt + IOVEC.size;
  const ctlLen = fds.length ? cmsgLen(4 * fds.length) : 0;
  const dataAt = ctlAt + align8(ctlLen);
  const buf = new NativeBuffer(dataAt + Math.max(1, data.length));
  try {
    const v = buf.view;
    const base = buf.address;
    buf.bytes.set(data, dataAt);
    setPointer(v, IOVEC.fields.iov_base, base + BigInt(dataAt), iovAt);
    setU64(v, IOVEC.fields.iov_len, BigInt(data.length), iovAt);
    setPointer(v, MSGHDR.fields.msg_iov, base + BigInt(iovAt));
    setU64(v, MSGHDR.fields.msg_iovlen, 1n);
    if (fds.length) {
      setU64(v, CMSGHDR.fields.cmsg_len, BigInt(ctlLen), ctlAt);
      setI32(v, CMSGHDR.fields.cmsg_level, SOL_SOCKET, ctlAt);
      setI32(v, CMSGHDR.fields.cmsg_type, SCM_RIGHTS, ctlAt);
      fds.forEach((f, i) => v.setInt32(ctlAt + CMSGHDR.size + 4 * i, f, true));
      setPointer(v, MSGHDR.fields.msg_control, base + BigInt(ctlAt));
      setU64(v, MSGHDR.fields.msg_controllen, BigInt(ctlLen));
    }
    if ((calls().sendmsg(fd, buf.ptr, 0) as number) < 0)
      throw new BpfkitError(`cannot send fds to ${path}: ${errnoName(errno())}`);
  } finally {
    buf.free();
  }
}

/** A datagram socket bound at a path, receiving fds; `close()` closes it and removes the socket file. */
export class FdReceiver {
  private fd: number;
  private readonly epoll: Epoll;

  private constructor(
    fd: number,
    readonly path: string,
  ) {
    this.fd = fd;
    this.epoll = new Epoll(fd);
  }

  /** Bind a new socket file at `path` (it must not exist yet). */
  static bind(path: string): FdReceiver {
    const fd = openSocket(`listen at ${path}`);
    const addr = new NativeBuffer(SOCKADDR_UN.size);
    try {
      writeAddress(addr, 0, path);
      if ((libc().bind(fd, addr.ptr, SOCKADDR_UN.size) as number) < 0) {
        const e = errnoName(errno());
        throw new BpfkitError(
          `cannot bind ${path}: ${e}${e === 'EADDRINUSE' ? ' (the file exists: remove it first)' : ''}`,
        );
      }
    } catch (err) {
      libc().close(fd);
      throw err;
    } finally {
      addr.free();
    }
    return new FdReceiver(fd, path);
  }

  /**
   * Wait for the next datagram (at most `maxBytes` of data and `maxFds` fds). `signal` aborts the wait:
   * the promise then rejects with the signal's reason.
   */
  async receive(maxBytes: number, maxFds: number, signal?: AbortSignal): Promise<FdDatagram> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      if (this.fd < 0) throw new Error('receiver is closed');
      if ((await this.epoll.wait(100)) === 0) continue;
      if (signal?.aborted) throw signal.reason;
      const got = this.tryReceive(maxBytes, maxFds);
      if (got) return got;
    }
  }

  private tryReceive(maxBytes: number, maxFds: number): FdDatagram | undefined {
    const iovAt = MSGHDR.size;
    const ctlAt = iovAt + IOVEC.size;
    const ctlLen = align8(cmsgLen(4 * maxFds));
    const dataAt = ctlAt + ctlLen;
    const buf = new NativeBuffer(dataAt + maxBytes);
    try {
      const v = buf.view;
      const base = buf.address;
      setPointer(v, IOVEC.fields.iov_base, base + BigInt(dataAt), iovAt);
      setU64(v, IOVEC.fields.iov_len, BigInt(maxBytes), iovAt);
      setPointer(v, MSGHDR.fields.msg_iov, base + BigInt(iovAt));
      setU64(v, MSGHDR.fields.msg_iovlen, 1n);
      setPointer(v, MSGHDR.fields.msg_control, base + BigInt(ctlAt));
      setU64(v, MSGHDR.fields.msg_controllen, BigInt(ctlLen));
      const n = libc().recvmsg(this.fd, buf.ptr, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) as number;
      if (n < 0) {
        const e = errnoName(errno());
        if (e === 'EAGAIN' || e === 'EINTR') return undefined;
        throw new BpfkitError(`cannot receive from ${this.path}: ${e}`);
      }
      const flags = getU32(v, MSGHDR.fields.msg_flags);
      const fds: number[] = [];
      // Walk the control messages the kernel wrote (msg_controllen now says how many bytes).
      const used = getU64Number(v, MSGHDR.fields.msg_controllen);
      for (let at = 0; at + CMSGHDR.size <= used;) {
        const len = getU64Number(v, CMSGHDR.fields.cmsg_len, ctlAt + at);
        if (len < CMSGHDR.size) break;
        const level = getI32(v, CMSGHDR.fields.cmsg_level, ctlAt + at);
        const type = getI32(v, CMSGHDR.fields.cmsg_type, ctlAt + at);
        if (level === SOL_SOCKET && type === SCM_RIGHTS)
          for (let i = CMSGHDR.size; i + 4 <= len; i += 4) fds.push(v.getInt32(ctlAt + at + i, true));
        at += align8(len);
      }
      return {
        data: buf.bytes.slice(dataAt, dataAt + Math.min(n, maxBytes)),
        fds,
        truncated: (flags & (MSG_TRUNC | MSG_CTRUNC)) !== 0,
      };
    } finally {
      buf.free();
    }
  }

  /** Close the socket and remove its file (idempotent). */
  close(): void {
    if (this.fd < 0) return;
    this.epoll.close();
    libc().close(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: nothing to clean
    }
  }
}
