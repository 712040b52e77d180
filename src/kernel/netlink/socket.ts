/**
 * A netlink socket (AF_NETLINK, NETLINK_ROUTE by default) through koffi: send one request, read until the
 * kernel's answer is complete — the ACK (NLMSG_ERROR with errno 0) for a change, NLMSG_DONE for a dump —
 * and turn a refusal into a `NetlinkError` carrying the kernel's extended-ACK sentence.
 *
 * Extended ACK is switched on at open (NETLINK_EXT_ACK) and the echoed request capped (NETLINK_CAP_ACK), so an
 * error message stays small. The calls are synchronous: the kernel answers rtnetlink requests at once.
 */
import { libc, errno, errnoName, NativeBuffer } from '../libc.js';
import { kernelError } from '../bpf-syscall.js';
import { BpfkitError } from '../../util/errors.js';
import {
  encodeMessage,
  splitMessages,
  parseAck,
  parseDone,
  NLMSG_ERROR,
  NLMSG_DONE,
  NLMSG_NOOP,
  NLM_F_REQUEST,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  type NetlinkMessage,
} from './codec.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
/** The routing family: links, addresses, qdiscs, classes, filters. */
export const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const SOCKADDR_NL_SIZE = 12;
/** Big enough for any one datagram of a dump (the kernel sizes them to a page or 32 KiB). */
const RECV_SIZE = 1 << 17;
/** How many times a dump the kernel marks interrupted is asked for before bpfkit gives up. */
const DUMP_ATTEMPTS = 5;
const EINTR = 4;

/** The kernel refused a netlink request: errno plus, when it said one, the extended-ACK sentence. */
export class NetlinkError extends BpfkitError {
  readonly errno: string;
  readonly code: number;
  /** The kernel's own text (NLMSGERR_ATTR_MSG), if it gave one. */
  readonly extack: string | undefined;
  constructor(what: string, code: number, extack: string | undefined, exitCode = 1) {
    super(`${what}: ${extack ? `${extack} (${errnoName(code)})` : errnoName(code)}`, exitCode);
    this.errno = errnoName(code);
    this.code = code;
    this.extack = extack;
  }
}

/** One open netlink socket; `close()` releases it. */
export class NetlinkSocket {
  private fd: number;
  private seq = Math.floor(Date.now() / 1000) & 0x7fffffff;
  private readonly rx = new NativeBuffer(RECV_SIZE);
  private readonly addr = new NativeBuffer(SOCKADDR_NL_SIZE);
  /** Reused for every request (grown when one is bigger): a batch of requests allocates no native memory. */
  private tx = new NativeBuffer(4096);

  constructor(protocol = NETLINK_ROUTE) {
    const c = libc();
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol) as number;
    if (fd < 0) {
      const e = errno();
      this.rx.free();
      this.addr.free();
      this.tx.free();
      throw kernelError(e, 'socket(AF_NETLINK)');
    }
    this.fd = fd;
    const one = NativeBuffer.from(new Uint8Array([1, 0, 0, 0]));
    try {
      // Best effort: old kernels lack these and still work, only with terser errors.
      c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one.ptr, 4);
      c.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one.ptr, 4);
    } finally {
      one.free();
    }
    this.addr.view.setUint16(0, AF_NETLINK, true); // nl_pid 0, nl_groups 0: the kernel picks our port id
    if ((c.bind(fd, this.addr.ptr, SOCKADDR_NL_SIZE) as number) < 0) {
      const e = errno();
      this.close();
      throw kernelError(e, 'bind(AF_NETLINK)');
    }
  }

  /**
   * Send a change request (NLM_F_REQUEST | NLM_F_ACK | `flags`) and wait for its ACK. Messages the kernel
   * sends before the ACK (an echo, a notification) are returned. `what` names the operation in errors.
   */
  request(type: number, flags: number, payload: Uint8Array, what: string): NetlinkMessage[] {
    return this.exchange(type, NLM_F_REQUEST | NLM_F_ACK | flags, payload, what);
  }

  /**
   * Send a dump request (NLM_F_REQUEST | NLM_F_DUMP) and collect every message up to NLMSG_DONE. A dump
   * the kernel marks interrupted (NLM_F_DUMP_INTR: the table changed under it) is asked for again, a few
   * times, then refused: half of an old table and half of a new one is no answer.
   */
  dump(type: number, payload: Uint8Array, what: string): NetlinkMessage[] {
    for (let attempt = 1; ; attempt++) {
      const replies = this.exchange(type, NLM_F_REQUEST | NLM_F_DUMP, payload, what);
      if (!replies.some((m) => m.flags & NLM_F_DUMP_INTR)) return replies;
      if (attempt === DUMP_ATTEMPTS)
        throw new NetlinkError(what, EINTR, `the table kept changing during ${DUMP_ATTEMPTS} dumps`, 1);
    }
  }

  private exchange(type: number, flags: number, payload: Uint8Array, what: string): NetlinkMessage[] {
    if (this.fd < 0) throw new Error('netlink socket is closed');
    const seq = (this.seq = (this.seq + 1) & 0x7fffffff);
    const bytes = encodeMessage(type, flags, seq, payload);
    if (bytes.length > this.tx.size) {
      this.tx.free();
      this.tx = new NativeBuffer(bytes.length);
    }
    this.tx.bytes.set(bytes);
    this.addr.bytes.fill(0);
    this.addr.view.setUint16(0, AF_NETLINK, true);
    const sent = libc().sendto(this.fd, this.tx.ptr, bytes.length, 0, this.addr.ptr, SOCKADDR_NL_SIZE) as number;
    if (sent < 0) throw kernelError(errno(), `${what}: sendto(netlink)`);
    const replies: NetlinkMessage[] = [];
    for (;;) {
      const n = libc().recv(this.fd, this.rx.ptr, RECV_SIZE, 0) as number;
      if (n < 0) {
        const e = errno();
        if (errnoName(e) === 'EINTR') continue;
        throw kernelError(e, `${what}: recv(netlink)`);
      }
      // Copy out: the receive buffer is reused for the next datagram.
      for (const m of splitMessages(this.rx.bytes.slice(0, n))) {
        if (m.seq !== seq || m.type === NLMSG_NOOP) continue; // a stale answer or a notification
        if (m.type === NLMSG_DONE) {
          const done = parseDone(m);
          if (done.errno === 0) return replies;
          throw new NetlinkError(what, done.errno, done.message ?? 'the dump ended with an error', 1);
        }
        if (m.type === NLMSG_ERROR) {
          const ack = parseAck(m);
          if (ack.errno === 0) return replies;
          const name = errnoName(ack.errno);
          const exit = name === 'EPERM' || name === 'EACCES' ? 3 : 1;
          throw new NetlinkError(what, ack.errno, ack.message, exit);
        }
        replies.push(m);
      }
    }
  }

  /** Close the socket (idempotent). */
  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
    this.fd = -1;
    this.rx.free();
    this.addr.free();
    this.tx.free();
  }
}

/** Run `fn` with a fresh NETLINK_ROUTE socket, closed afterwards. */
export function withRtnetlink<T>(fn: (s: NetlinkSocket) => T): T {
  const s = new NetlinkSocket(NETLINK_ROUTE);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}
