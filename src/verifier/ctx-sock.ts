/**
 * The cgroup and socket contexts (Linux 6.18's is_valid_access callbacks): cgroup_sock (struct bpf_sock),
 * cgroup_sock_addr (bpf_sock_addr), cgroup_sysctl (bpf_sysctl), cgroup_sockopt (bpf_sockopt), sk_msg
 * (sk_msg_md), sk_lookup (bpf_sk_lookup), sock_ops (bpf_sock_ops) and sk_reuseport (sk_reuseport_md). Which fields a program may touch often depends on the
 * expected attach type (an IPv4 address is no field of an IPv6 hook). Socket pointers (bpf_sock *) load
 * as the kernel's sock (or sock_or_null), read through sock-ptr.ts.
 */
import { ProgType } from '../uapi/types.js';
import { type CtxField, SCALAR, narrowOk } from './ctx-field.js';

/** enum bpf_prog_type numbers src/uapi does not list. */
export const CGROUP_SYSCTL = 23;
/** BPF_PROG_TYPE_CGROUP_SOCKOPT. */
export const CGROUP_SOCKOPT = 25;
/** BPF_PROG_TYPE_SK_LOOKUP. */
export const SK_LOOKUP = 30;

/** enum bpf_attach_type numbers the contexts below depend on. */
export const Attach = {
  SOCK_CREATE: 2,
  INET4_BIND: 8,
  INET6_BIND: 9,
  INET4_CONNECT: 10,
  INET6_CONNECT: 11,
  INET4_POST_BIND: 12,
  INET6_POST_BIND: 13,
  UDP4_SENDMSG: 14,
  UDP6_SENDMSG: 15,
  UDP4_RECVMSG: 19,
  UDP6_RECVMSG: 20,
  GETSOCKOPT: 21,
  SETSOCKOPT: 22,
  INET4_GETPEERNAME: 29,
  INET6_GETPEERNAME: 30,
  INET4_GETSOCKNAME: 31,
  INET6_GETSOCKNAME: 32,
  SOCK_RELEASE: 34,
  UNIX_RECVMSG: 51,
  UNIX_GETPEERNAME: 52,
  UNIX_GETSOCKNAME: 53,
} as const;

const SOCKET: CtxField = { kind: 'sock' };
const SOCKET_OR_NULL: CtxField = { kind: 'sock', nullable: true };
const within = (off: number, start: number, len: number) => off >= start && off < start + len;

/** struct bpf_sock offsets. */
const SK = {
  boundDevIf: 0,
  family: 4,
  type: 8,
  protocol: 12,
  mark: 16,
  priority: 20,
  srcIp4: 24,
  srcIp6: 28,
  srcPort: 44,
  dstPort: 48,
  dstIp4: 52,
  dstIp6: 56,
  state: 72,
  rxQueueMapping: 76,
  size: 80,
};

/** bpf_sock_is_valid_access: which bytes of a bpf_sock may be read (and at which sizes); sock-ptr.ts reads sockets by it too. */
export function bpfSockValid(off: number, size: number): boolean {
  if (off < 0 || off >= SK.size || off % size !== 0) return false;
  // Fields read narrowly from their first byte only (`case offsetof(...)`).
  const exact = [SK.state, SK.family, SK.type, SK.protocol, SK.srcPort, SK.rxQueueMapping];
  if (exact.includes(off)) return narrowOk(size);
  // Addresses: narrow reads anywhere inside.
  if (
    within(off, SK.srcIp4, 4) ||
    within(off, SK.srcIp6, 16) ||
    within(off, SK.dstIp4, 4) ||
    within(off, SK.dstIp6, 16)
  )
    return narrowOk(size);
  // dst_port is a __be16 read whole as 4 bytes (with the padding) or narrowly as 2 or 1; the padding alone is refused.
  if (within(off, SK.dstPort, 2)) return size === 4 || narrowOk(size, 2);
  if (within(off, SK.dstPort + 2, 2)) return false;
  return size === 4;
}

/** sock_filter_is_valid_access (cgroup_sock): bpf_sock, with the attach type's own fields and writes. */
function cgroupSockAccess(off: number, size: number, write: boolean, attach: number | undefined): CtxField | undefined {
  if (!bpfSockValid(off, size)) return undefined;
  // __sock_filter_check_attach_type.
  if (off === SK.boundDevIf || off === SK.mark || off === SK.priority)
    return attach === Attach.SOCK_CREATE || attach === Attach.SOCK_RELEASE ? SCALAR : undefined;
  const postBind4 = attach === Attach.INET4_POST_BIND;
  const postBind6 = attach === Attach.INET6_POST_BIND;
  if (within(off, SK.srcIp4, 4) && !postBind4) return undefined;
  if (within(off, SK.srcIp6, 16) && !postBind6) return undefined;
  if (within(off, SK.srcPort, 4) && !postBind4 && !postBind6) return undefined;
  return write ? undefined : SCALAR;
}

/** struct bpf_sock_addr offsets. */
const SA = {
  userFamily: 0,
  userIp4: 4,
  userIp6: 8,
  userPort: 24,
  family: 28,
  type: 32,
  protocol: 36,
  msgSrcIp4: 40,
  msgSrcIp6: 44,
  sk: 64,
  size: 72,
};

const V4_ADDR: readonly number[] = [
  Attach.INET4_BIND,
  Attach.INET4_CONNECT,
  Attach.INET4_GETPEERNAME,
  Attach.INET4_GETSOCKNAME,
  Attach.UDP4_SENDMSG,
  Attach.UDP4_RECVMSG,
];
const V6_ADDR: readonly number[] = [
  Attach.INET6_BIND,
  Attach.INET6_CONNECT,
  Attach.INET6_GETPEERNAME,
  Attach.INET6_GETSOCKNAME,
  Attach.UDP6_SENDMSG,
  Attach.UDP6_RECVMSG,
];

/** bpf_ctx_wide_access_ok: an aligned 8-byte access that stays inside an array field. */
const wideOk = (off: number, size: number, start: number, len: number) =>
  size === 8 && off >= start && off + 8 <= start + len && off % 8 === 0;

/** sock_addr_is_valid_access (cgroup_sock_addr). */
function sockAddrAccess(off: number, size: number, write: boolean, attach: number | undefined): CtxField | undefined {
  if (off < 0 || off >= SA.size || off % size !== 0) return undefined;
  const a = attach ?? -1;
  // A field of the other address family (or of sendmsg only) is not the program's.
  if (within(off, SA.userIp4, 4) && !V4_ADDR.includes(a)) return undefined;
  if (within(off, SA.userIp6, 16) && !V6_ADDR.includes(a)) return undefined;
  if (within(off, SA.msgSrcIp4, 4) && a !== Attach.UDP4_SENDMSG) return undefined;
  if (within(off, SA.msgSrcIp6, 16) && a !== Attach.UDP6_SENDMSG) return undefined;
  if (within(off, SA.userIp4, SA.family - SA.userIp4)) {
    // user_ip4, user_ip6, user_port: read 1, 2, 4 (or 8 inside user_ip6), written whole words (or 8).
    if (wideOk(off, size, SA.userIp6, 16)) return SCALAR;
    return (write ? size === 4 : narrowOk(size)) ? SCALAR : undefined;
  }
  if (within(off, SA.msgSrcIp4, 20)) {
    if (wideOk(off, size, SA.msgSrcIp6, 16)) return SCALAR;
    return (write ? size === 4 : narrowOk(size)) ? SCALAR : undefined;
  }
  if (within(off, SA.sk, 8)) return !write && size === 8 ? SOCKET : undefined;
  if (off === SA.userFamily || off === SA.family || off === SA.type || off === SA.protocol)
    return !write && size === 4 ? SCALAR : undefined;
  return undefined;
}

/** sysctl_is_valid_access: struct bpf_sysctl { u32 write; u32 file_pos; }. */
function sysctlAccess(off: number, size: number, write: boolean): CtxField | undefined {
  if (off < 0 || off + size > 8 || off % size !== 0) return undefined;
  if (off < 4) return !write && narrowOk(size) ? SCALAR : undefined;
  return (write ? size === 4 : narrowOk(size)) ? SCALAR : undefined;
}

/** struct bpf_sockopt offsets. */
const SO = { sk: 0, optval: 8, optvalEnd: 16, level: 24, optname: 28, optlen: 32, retval: 36, size: 40 };

/**
 * cg_sockopt_is_valid_access: optval..optval_end is the option's buffer, a packet as far as the verifier
 * is concerned; retval belongs to getsockopt hooks, level and optname are rewritten by setsockopt ones.
 */
function sockoptAccess(off: number, size: number, write: boolean, attach: number | undefined): CtxField | undefined {
  if (off < 0 || off >= SO.size || off % size !== 0) return undefined;
  const get = attach === Attach.GETSOCKOPT;
  if (write) {
    if (size !== 4) return undefined;
    if (off === SO.retval) return get ? SCALAR : undefined;
    if (off === SO.optname || off === SO.level) return attach === Attach.SETSOCKOPT ? SCALAR : undefined;
    return off === SO.optlen ? SCALAR : undefined;
  }
  if (within(off, SO.sk, 8)) return size === 8 ? SOCKET : undefined;
  if (within(off, SO.optval, 8)) return size === 8 ? { kind: 'pkt' } : undefined;
  if (within(off, SO.optvalEnd, 8)) return size === 8 ? { kind: 'pkt_end' } : undefined;
  if (within(off, SO.retval, 4)) return size === 4 && get ? SCALAR : undefined;
  return size === 4 ? SCALAR : undefined;
}

/** struct sk_msg_md offsets. */
const MSG = { data: 0, dataEnd: 8, family: 16, size: 68, sk: 72 };

/** sk_msg_is_valid_access: read-only; data/data_end are the message's bytes (packet pointers). */
function skMsgAccess(off: number, size: number, write: boolean): CtxField | undefined {
  if (write || off % size !== 0) return undefined;
  if (within(off, MSG.data, 8)) return size === 8 ? { kind: 'pkt' } : undefined;
  if (within(off, MSG.dataEnd, 8)) return size === 8 ? { kind: 'pkt_end' } : undefined;
  if (within(off, MSG.sk, 8)) return size === 8 ? SOCKET : undefined;
  // family .. size: u32 fields, read whole.
  if (off >= MSG.family && off < MSG.size + 4) return size === 4 ? SCALAR : undefined;
  return undefined;
}

/** struct bpf_sk_lookup offsets. */
const LK = { sk: 0, family: 8, remotePort: 36, localIp4: 40, size: 72, end: 68 };

/** sk_lookup_is_valid_access: read-only; remote_port is a __be16 that may be read as a u32. */
function skLookupAccess(off: number, size: number, write: boolean): CtxField | undefined {
  if (off < 0 || off >= LK.size || off % size !== 0 || write) return undefined;
  if (within(off, LK.sk, 8)) return size === 8 ? SOCKET_OR_NULL : undefined;
  if (within(off, LK.remotePort, 2)) return size === 4 || narrowOk(size, 2) ? SCALAR : undefined;
  // The padding after remote_port, kept readable for old programs.
  if (within(off, LK.remotePort + 2, 2)) return narrowOk(size, 2) ? SCALAR : undefined;
  if (off >= LK.family && off < LK.end) return narrowOk(size) ? SCALAR : undefined;
  return undefined;
}

/** struct bpf_sock_ops offsets. */
const OPS = {
  reply: 4,
  skTxhash: 164,
  bytesReceived: 168,
  sk: 184,
  skbData: 192,
  skbDataEnd: 200,
  skbTcpFlags: 212,
  skbHwtstamp: 216,
  size: 224,
};

/**
 * sock_ops_is_valid_access: u32 fields read whole (skb_tcp_flags narrowly too), the two byte counters and
 * the hardware timestamp as u64; reply and sk_txhash are the only writes. skb_data..skb_data_end is the
 * TCP header, a packet the program reads but may not write.
 */
function sockOpsAccess(off: number, size: number, write: boolean): CtxField | undefined {
  if (off < 0 || off >= OPS.size || off % size !== 0) return undefined;
  if (write) return (off === OPS.reply || off === OPS.skTxhash) && size === 4 ? SCALAR : undefined;
  if (within(off, OPS.bytesReceived, 16) || within(off, OPS.skbHwtstamp, 8)) return size === 8 ? SCALAR : undefined;
  if (within(off, OPS.sk, 8)) return size === 8 ? SOCKET_OR_NULL : undefined;
  if (within(off, OPS.skbData, 8)) return size === 8 ? { kind: 'pkt' } : undefined;
  if (within(off, OPS.skbDataEnd, 8)) return size === 8 ? { kind: 'pkt_end' } : undefined;
  if (off === OPS.skbTcpFlags) return narrowOk(size) ? SCALAR : undefined;
  return size === 4 ? SCALAR : undefined;
}

/** struct sk_reuseport_md offsets. */
const RP = { data: 0, dataEnd: 8, len: 16, ethProtocol: 20, hash: 32, sk: 40, migratingSk: 48, size: 56 };

/**
 * sk_reuseport_is_valid_access: read-only; the packet read through data..data_end, eth_protocol as 2 or 4
 * bytes, len/ip_protocol/bind_inany narrowly, hash whole; the migrating socket a sock_common_or_null.
 */
function skReuseportAccess(off: number, size: number, write: boolean): CtxField | undefined {
  if (off < 0 || off >= RP.size || off % size !== 0 || write) return undefined;
  if (off === RP.data) return size === 8 ? { kind: 'pkt' } : undefined;
  if (off === RP.dataEnd) return size === 8 ? { kind: 'pkt_end' } : undefined;
  if (off === RP.hash) return size === 4 ? SCALAR : undefined;
  if (off === RP.sk) return size === 8 ? SOCKET : undefined;
  if (off === RP.migratingSk) return size === 8 ? { kind: 'sock_common', nullable: true } : undefined;
  if (within(off, RP.ethProtocol, 4)) return size >= 2 && narrowOk(size) ? SCALAR : undefined;
  if (within(off, RP.len, 4) || within(off, RP.ethProtocol + 4, 8)) return narrowOk(size) ? SCALAR : undefined;
  return undefined;
}

/**
 * The expected attach types bpf_prog_load_check_attach takes for each type of this file: any other is
 * refused at load (EINVAL) before the verifier runs. sk_msg, sock_ops and cgroup_sysctl load with any
 * (bpf_prog_load_check_attach does not look): their context does not depend on it, and the helpers that do
 * (bpf_get_retval, bpf_set_retval) are held to the attach type in helpers.ts.
 */
const LOADABLE: ReadonlyMap<number, readonly number[]> = new Map([
  [ProgType.CGROUP_SOCK, [Attach.SOCK_CREATE, Attach.SOCK_RELEASE, Attach.INET4_POST_BIND, Attach.INET6_POST_BIND]],
  [
    ProgType.CGROUP_SOCK_ADDR,
    [...V4_ADDR, ...V6_ADDR, 49, 50, Attach.UNIX_RECVMSG, Attach.UNIX_GETPEERNAME, Attach.UNIX_GETSOCKNAME],
  ],
  [CGROUP_SOCKOPT, [Attach.GETSOCKOPT, Attach.SETSOCKOPT]],
  [SK_LOOKUP, [36]],
  [ProgType.SK_REUSEPORT, [39, 40]],
  // netfilter (its context: netfilter.ts): BPF_NETFILTER.
  [32, [45]],
]);

/** Does a program of `type` load with expected attach type `attach` (true for the types it does not matter to)? */
export function attachTypeLoads(type: number, attach: number | undefined): boolean {
  const ok = LOADABLE.get(type);
  return !ok || (attach !== undefined && ok.includes(attach));
}

/** Program types whose context this file models. */
export const isSockCtxType = (type: number): boolean =>
  type === ProgType.CGROUP_SOCK ||
  type === ProgType.CGROUP_SOCK_ADDR ||
  type === CGROUP_SYSCTL ||
  type === CGROUP_SOCKOPT ||
  type === ProgType.SK_MSG ||
  type === SK_LOOKUP ||
  type === ProgType.SOCK_OPS ||
  type === ProgType.SK_REUSEPORT;

/** The field a program of one of the cgroup/socket types reaches at ctx+off, or undefined when the kernel refuses it. */
export function sockCtxAccess(
  type: number,
  off: number,
  size: number,
  write: boolean,
  attach: number | undefined,
): CtxField | undefined {
  switch (type) {
    case ProgType.CGROUP_SOCK:
      return cgroupSockAccess(off, size, write, attach);
    case ProgType.CGROUP_SOCK_ADDR:
      return sockAddrAccess(off, size, write, attach);
    case CGROUP_SYSCTL:
      return sysctlAccess(off, size, write);
    case CGROUP_SOCKOPT:
      return sockoptAccess(off, size, write, attach);
    case ProgType.SK_MSG:
      return skMsgAccess(off, size, write);
    case SK_LOOKUP:
      return skLookupAccess(off, size, write);
    case ProgType.SOCK_OPS:
      return sockOpsAccess(off, size, write);
    case ProgType.SK_REUSEPORT:
      return skReuseportAccess(off, size, write);
    default:
      return undefined;
  }
}
