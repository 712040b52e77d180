/**
 * A live packet source: an AF_PACKET raw socket (every frame from its MAC header, on one interface or
 * all), with an optional kernel filter (an eBPF SOCKET_FILTER program or a classic BPF program).
 *
 * Reading never blocks Node: the socket is non-blocking and libuv watches it (koffi's poll handle);
 * when it becomes readable we drain it with recvmsg until EAGAIN. Each packet carries the kernel's
 * nanosecond receive timestamp (SO_TIMESTAMPNS control message), its original length (MSG_TRUNC reports
 * it even when the snaplen cut the copy), the interface it crossed and its packet type (host, outgoing...).
 */
import koffi from 'koffi';
import { EnvironmentError } from '../util/errors.js';
import { NativeBuffer, errno, errnoName, interfaceIndex, libc } from './libc.js';
import { PermissionError, KernelError } from './errors.js';
import { track, untrack } from './lifecycle.js';
import { RxRing, type RingOptions } from './packet-ring.js';
import {
  CMSGHDR,
  IOVEC,
  MSGHDR,
  OLD_TIMESPEC,
  PACKET_MREQ,
  SOCKADDR_LL,
  SOCK_FILTER,
  SOCK_FPROG,
  TPACKET_STATS,
  align8,
  getI32,
  getI64Number,
  getU32,
  getU64Number,
  getU8,
  setAddress,
  setI32,
  setPointer,
  setU16,
  setU32,
  setU64Number,
  setU8,
} from './abi/index.js';

/** One packet received from an AF_PACKET socket. */
export interface LivePacket {
  data: Uint8Array;
  tsSec: number;
  tsNsec: number;
  /** Length on the wire (data may be shorter when cut by snaplen). */
  origLen: number;
  ifindex: number;
  /** PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3, OUTGOING 4 (linux/if_packet.h). */
  pktType: number;
}

/** Options of `PacketSocket.open`. */
export interface PacketSocketOptions {
  /** Interface to capture on; all interfaces when absent. */
  ifname?: string;
  promiscuous?: boolean;
  /** Bytes kept per packet (default 262144). */
  snaplen?: number;
  /** Kernel receive buffer size in bytes (SO_RCVBUF); default: the system's. */
  bufferSize?: number;
  /**
   * Read through a TPACKET_V3 ring shared with the kernel: no system call per packet, about 4x less CPU
   * per packet than recvmsg and far fewer drops under load, but blocks are handed over when full or after
   * `blockTimeoutMs` (10 ms by default), so a packet can wait that long before userspace sees it.
   * Default: off (recvmsg(2), each packet as soon as it arrives), unless BPFKIT_PACKET_RING=1.
   * When the kernel refuses the ring, recvmsg is used.
   */
  ring?: boolean | RingOptions;
}

/** One classic BPF instruction (struct sock_filter). */
export interface ClassicInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Constants from linux/socket.h, linux/if_packet.h, linux/if_ether.h, asm-generic/socket.h.
const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL = 3)
const SOL_SOCKET = 1;
const SOL_PACKET = 263;
const SO_RCVBUF = 8;
const SO_ATTACH_FILTER = 26;
const SO_DETACH_FILTER = 27; // same number as SO_DETACH_BPF
const SO_TIMESTAMPNS = 35; // SO_TIMESTAMPNS_OLD: struct timespec with 64-bit fields on 64-bit hosts
const SO_ATTACH_BPF = 50;
const PACKET_ADD_MEMBERSHIP = 1;
const PACKET_MR_PROMISC = 1;
const PACKET_STATISTICS = 6;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;

// recvmsg(2) gets one native block: the msghdr, then what it points to: one iovec, the sockaddr_ll
// the kernel fills in, and the control buffer (8-aligned, as cmsghdr needs).
const IOV_AT = MSGHDR.size;
const NAME_AT = IOV_AT + IOVEC.size;
const CONTROL_AT = align8(NAME_AT + SOCKADDR_LL.size);
const CONTROL_SIZE = 64;
const RECV_BLOCK_SIZE = CONTROL_AT + CONTROL_SIZE;
/** Where a control message's data starts (CMSG_DATA). */
const CMSG_DATA = align8(CMSGHDR.size);
/** Pause reading when this many packets wait for the consumer (the kernel queue then holds or drops). */
const HIGH_WATER = 4096;

/** An AF_PACKET raw socket: the live packet source, with an eBPF or classic filter and an optional mmap ring. */
export class PacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  private readonly snaplen: number;
  private readonly buf: NativeBuffer; // packet bytes
  private readonly hdr: NativeBuffer; // msghdr + iovec + sockaddr_ll + control
  private closed = false;
  private queue: LivePacket[] = [];
  private wake: (() => void) | undefined;
  private poller: { start(o: object, cb: (ev: unknown) => void): void; stop(): void; close(): void } | undefined;
  private polling = false;
  private readError: Error | undefined;
  private ring: RxRing | undefined;

  private constructor(fd: number, ifindex: number, snaplen: number) {
    this.fd = fd;
    this.ifindex = ifindex;
    this.snaplen = snaplen;
    this.buf = new NativeBuffer(snaplen);
    this.hdr = new NativeBuffer(RECV_BLOCK_SIZE);
    const v = this.hdr.view;
    const at = (offset: number) => this.hdr.address + BigInt(offset);
    setPointer(v, MSGHDR.fields.msg_name, at(NAME_AT));
    setPointer(v, MSGHDR.fields.msg_iov, at(IOV_AT));
    setU64Number(v, MSGHDR.fields.msg_iovlen, 1);
    setPointer(v, MSGHDR.fields.msg_control, at(CONTROL_AT));
    setAddress(v, IOVEC.fields.iov_base, this.buf, IOV_AT);
    setU64Number(v, IOVEC.fields.iov_len, snaplen, IOV_AT);
    track(this);
  }

  /** Open a raw socket on one interface (or all) and bind it; needs CAP_NET_RAW. */
  static open(opts: PacketSocketOptions = {}): PacketSocket {
    const c = libc();
    const ifindex = opts.ifname ? interfaceIndex(opts.ifname) : 0;
    const snaplen = opts.snaplen ?? 262144;
    if (!Number.isInteger(snaplen) || snaplen < 1)
      throw new EnvironmentError(`snaplen must be a positive integer, got ${snaplen}`);
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, ETH_P_ALL_BE) as number;
    if (fd < 0) throw socketError('socket(AF_PACKET, SOCK_RAW)', errno());
    let sock: PacketSocket;
    try {
      sock = new PacketSocket(fd, ifindex, snaplen);
    } catch (err) {
      c.close(fd);
      throw err;
    }
    try {
      const ringWanted = opts.ring ?? process.env.BPFKIT_PACKET_RING === '1';
      if (ringWanted !== false) {
        try {
          sock.ring = RxRing.setup(fd, snaplen, typeof opts.ring === 'object' ? opts.ring : {});
        } catch {
          sock.ring = undefined; // no ring on this kernel/socket: recvmsg below
        }
      }
      if (!sock.ring) sock.setInt(SOL_SOCKET, SO_TIMESTAMPNS, 1, 'SO_TIMESTAMPNS');
      if (opts.bufferSize) sock.setInt(SOL_SOCKET, SO_RCVBUF, opts.bufferSize, 'SO_RCVBUF');
      // bind(2) to the interface (ifindex 0 = every interface) with protocol ETH_P_ALL.
      const sll = new NativeBuffer(SOCKADDR_LL.size);
      try {
        setU16(sll.view, SOCKADDR_LL.fields.sll_family, AF_PACKET);
        setU16(sll.view, SOCKADDR_LL.fields.sll_protocol, ETH_P_ALL_BE);
        setI32(sll.view, SOCKADDR_LL.fields.sll_ifindex, ifindex);
        if (c.bind(fd, sll.ptr, SOCKADDR_LL.size) < 0)
          throw socketError(`bind(AF_PACKET, ${opts.ifname ?? 'any'})`, errno());
      } finally {
        sll.free();
      }
      if (opts.promiscuous && ifindex) {
        const mreq = new NativeBuffer(PACKET_MREQ.size);
        try {
          setI32(mreq.view, PACKET_MREQ.fields.mr_ifindex, ifindex);
          setU16(mreq.view, PACKET_MREQ.fields.mr_type, PACKET_MR_PROMISC);
          if (c.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq.ptr, PACKET_MREQ.size) < 0) {
            throw socketError('PACKET_ADD_MEMBERSHIP (promiscuous mode)', errno());
          }
        } finally {
          mreq.free();
        }
      }
    } catch (err) {
      sock.close();
      throw err;
    }
    return sock;
  }

  /** Filter with an eBPF SOCKET_FILTER program (SO_ATTACH_BPF). Packets queued before it are discarded. */
  attachBpf(progFd: number): void {
    this.blockAndDrain();
    this.setInt(SOL_SOCKET, SO_ATTACH_BPF, progFd, 'SO_ATTACH_BPF');
  }

  /** Filter with a classic BPF program (SO_ATTACH_FILTER, struct sock_fprog). */
  attachClassicFilter(insns: ClassicInsn[]): void {
    this.blockAndDrain();
    this.setClassic(insns);
  }

  /** Remove any filter: every packet is delivered again. No error when none is attached. */
  detachFilter(): void {
    this.ensureOpen();
    const v = new NativeBuffer(4);
    try {
      if (libc().setsockopt(this.fd, SOL_SOCKET, SO_DETACH_FILTER, v.ptr, 4) < 0) {
        const e = errno();
        if (errnoName(e) !== 'ENOENT') throw socketError('SO_DETACH_FILTER', e);
      }
    } finally {
      v.free();
    }
  }

  /**
   * The packets as they arrive, until close(), the signal aborts, or the consumer stops iterating.
   * Only one iteration at a time makes sense (they share the socket).
   */
  async *packets(signal?: AbortSignal): AsyncGenerator<LivePacket> {
    this.ensureOpen();
    const onAbort = () => this.notify();
    signal?.addEventListener('abort', onAbort);
    try {
      this.startPolling();
      for (;;) {
        if (this.closed) return;
        if (signal?.aborted) {
          // Stop promptly even when packets keep coming faster than they are consumed, but first hand over
          // what the kernel already queued on the socket (one drain, at most HIGH_WATER packets): it has
          // counted those as received, and a capture stopped by SIGINT after its traffic ended must hold
          // every packet of that traffic, not those a busy machine had not yet let it read. (With the ring,
          // a block the kernel has not retired yet stays behind.)
          this.drain();
          while (this.queue.length > 0) yield this.queue.shift()!;
          return;
        }
        if (this.queue.length > 0) {
          const p = this.queue.shift()!;
          if (!this.polling && !this.closed && this.queue.length < HIGH_WATER / 2) this.startPolling();
          yield p;
          continue;
        }
        if (this.readError) throw this.readError;
        // Maybe the poll callback was missed between drains: read once before sleeping.
        this.drain();
        if (this.queue.length > 0) continue;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.stopPolling();
    }
  }

  /** True when packets come through the shared TPACKET_V3 ring (false: recvmsg). */
  get usesRing(): boolean {
    return this.ring !== undefined;
  }

  /** Read whatever is queued right now without waiting (for tests and synchronous callers). */
  readAvailable(max = Infinity): LivePacket[] {
    this.ensureOpen();
    const out = this.queue.splice(0, max);
    if (this.ring) {
      this.ring.read(out, max);
      return out;
    }
    while (out.length < max) {
      const p = this.recvOne();
      if (!p) break;
      out.push(p);
    }
    return out;
  }

  /** Packets received and dropped by the kernel since the last call (the kernel resets them on read). */
  stats(): { packets: number; drops: number } {
    this.ensureOpen();
    const b = new NativeBuffer(TPACKET_STATS.size);
    try {
      if (libc().getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, b.ptr, [TPACKET_STATS.size]) < 0) {
        throw socketError('PACKET_STATISTICS', errno());
      }
      return {
        packets: getU32(b.view, TPACKET_STATS.fields.tp_packets),
        drops: getU32(b.view, TPACKET_STATS.fields.tp_drops),
      };
    } finally {
      b.free();
    }
  }

  /** Close the socket (and its ring). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    untrack(this);
    if (this.poller) {
      this.poller.stop();
      this.poller.close();
      this.poller = undefined;
      this.polling = false;
    }
    this.ring?.close();
    libc().close(this.fd);
    this.buf.free();
    this.hdr.free();
    this.notify();
  }

  // --- internals ---

  private ensureOpen(): void {
    if (this.closed) throw new EnvironmentError('packet socket is closed');
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private startPolling(): void {
    if (this.closed || this.polling) return;
    if (!this.poller) {
      this.poller = koffi.node.poll(this.fd, { readable: true }, () => this.onReadable());
    } else {
      this.poller.start({ readable: true }, () => this.onReadable());
    }
    this.polling = true;
  }

  private stopPolling(): void {
    if (this.poller && this.polling) this.poller.stop();
    this.polling = false;
  }

  private onReadable(): void {
    if (this.closed) return;
    this.drain();
    this.notify();
  }

  private drain(): void {
    if (this.ring) {
      this.ring.read(this.queue, HIGH_WATER);
      if (this.queue.length >= HIGH_WATER) this.stopPolling();
      return;
    }
    try {
      while (this.queue.length < HIGH_WATER) {
        const p = this.recvOne();
        if (!p) break;
        this.queue.push(p);
      }
    } catch (err) {
      this.readError = err as Error;
    }
    if (this.queue.length >= HIGH_WATER) this.stopPolling();
  }

  /** One non-blocking recvmsg; undefined when nothing is queued. */
  private recvOne(): LivePacket | undefined {
    const h = this.hdr;
    const v = h.view;
    const m = MSGHDR.fields;
    // The msghdr's pointers never change (built once in the constructor); the kernel rewrites only the
    // lengths and flags, so reset those. No BigInt on this per-packet path.
    setI32(v, m.msg_namelen, SOCKADDR_LL.size);
    setU64Number(v, m.msg_controllen, CONTROL_SIZE);
    setU32(v, m.msg_flags, 0);
    const n = Number(libc().recvmsg(this.fd, h.ptr, MSG_TRUNC | MSG_DONTWAIT));
    if (n < 0) {
      const e = errno();
      const name = errnoName(e);
      if (name === 'EAGAIN' || name === 'EWOULDBLOCK' || name === 'EINTR') return undefined;
      throw socketError('recvmsg', e);
    }
    const kept = Math.min(n, this.snaplen);
    const data = this.buf.bytes.slice(0, kept);
    let tsSec = 0;
    let tsNsec = 0;
    // Walk the control messages for SCM_TIMESTAMPNS (level SOL_SOCKET, type 35, struct timespec).
    const c = CMSGHDR.fields;
    const ctlLen = getU64Number(v, m.msg_controllen); // never above CONTROL_SIZE
    for (let at = CONTROL_AT; at + CMSGHDR.size <= CONTROL_AT + ctlLen;) {
      const len = getU64Number(v, c.cmsg_len, at);
      const level = getI32(v, c.cmsg_level, at);
      const type = getI32(v, c.cmsg_type, at);
      if (len < CMSGHDR.size) break;
      if (level === SOL_SOCKET && type === SO_TIMESTAMPNS && len >= CMSG_DATA + OLD_TIMESPEC.size) {
        // 64-bit tv_sec (exact in a double until the year 285 million) and tv_nsec < 1e9
        tsSec = getI64Number(v, OLD_TIMESPEC.fields.tv_sec, at + CMSG_DATA);
        tsNsec = getI64Number(v, OLD_TIMESPEC.fields.tv_nsec, at + CMSG_DATA);
      }
      at += align8(len);
    }
    if (tsSec === 0 && tsNsec === 0) {
      // No timestamp (should not happen with SO_TIMESTAMPNS): fall back to the wall clock.
      const now = Date.now();
      tsSec = Math.floor(now / 1000);
      tsNsec = (now % 1000) * 1e6;
    }
    return {
      data,
      tsSec,
      tsNsec,
      origLen: n,
      ifindex: getI32(v, SOCKADDR_LL.fields.sll_ifindex, NAME_AT),
      pktType: getU8(v, SOCKADDR_LL.fields.sll_pkttype, NAME_AT),
    };
  }

  /**
   * Before attaching a filter, packets that arrived unfiltered since open() sit in the queue. Attach a
   * reject-everything classic filter, discard the queue, and only then attach the real filter, so no
   * matching packet that arrives in between is lost (libpcap's approach).
   */
  private blockAndDrain(): void {
    this.ensureOpen();
    this.setClassic([{ code: 0x06, jt: 0, jf: 0, k: 0 }]); // ret #0
    this.queue.length = 0;
    if (this.ring) {
      // The block the kernel is filling may hold packets from before the reject-all filter; it is handed
      // over at the latest one block timeout later. Wait for that (once, at attach time), then discard.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.ring.blockTimeoutMs * 2 + 5);
      this.ring.discard();
      return;
    }
    while (this.recvOne()) {
      /* discard */
    }
  }

  private setClassic(insns: ClassicInsn[]): void {
    this.ensureOpen();
    if (insns.length === 0 || insns.length > 4096)
      throw new EnvironmentError(`classic BPF program must have 1..4096 instructions, got ${insns.length}`);
    const prog = new NativeBuffer(insns.length * SOCK_FILTER.size);
    const fprog = new NativeBuffer(SOCK_FPROG.size);
    try {
      const f = SOCK_FILTER.fields;
      insns.forEach((i, n) => {
        const at = n * SOCK_FILTER.size;
        setU16(prog.view, f.code, i.code, at);
        setU8(prog.view, f.jt, i.jt, at);
        setU8(prog.view, f.jf, i.jf, at);
        setU32(prog.view, f.k, i.k, at);
      });
      setU16(fprog.view, SOCK_FPROG.fields.len, insns.length);
      setAddress(fprog.view, SOCK_FPROG.fields.filter, prog);
      if (libc().setsockopt(this.fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog.ptr, SOCK_FPROG.size) < 0) {
        throw socketError('SO_ATTACH_FILTER (classic BPF rejected by the kernel)', errno());
      }
    } finally {
      prog.free();
      fprog.free();
    }
  }

  private setInt(level: number, name: number, value: number, what: string): void {
    const b = new NativeBuffer(4);
    try {
      b.view.setInt32(0, value, true);
      if (libc().setsockopt(this.fd, level, name, b.ptr, 4) < 0) throw socketError(what, errno());
    } finally {
      b.free();
    }
  }
}

function socketError(what: string, code: number): Error {
  const name = errnoName(code);
  if (name === 'EPERM' || name === 'EACCES') return new PermissionError(what, name);
  return new KernelError(what, name, code);
}
