/**
 * Socket pointers (Linux 6.18): PTR_TO_SOCK_COMMON, PTR_TO_SOCKET and PTR_TO_TCP_SOCK, each maybe NULL,
 * and the references the socket lookups take. A lookup (bpf_sk_lookup_tcp/udp, bpf_skc_lookup_tcp)
 * acquires a reference that bpf_sk_release must give back on every path; bpf_sk_fullsock and bpf_tcp_sock
 * are casts, whose result carries the argument's reference (releasing either releases both). Loads
 * through them read struct bpf_sock, struct bpf_tcp_sock or the sock_common part of bpf_sock, by the
 * kernel's is_valid_access callbacks; stores and pointer arithmetic are refused. A socket map's lookup
 * acquires too, and finds a socket; an XSKMAP lookup finds an AF_XDP socket (PTR_TO_XDP_SOCK, no
 * reference), whose queue_id is all a program reads. Sockets by BTF id (bpf_skc_to_*, PTR_TO_BTF_ID) are
 * not modelled.
 */
import { bpfSockValid } from './ctx-sock.js';
import { type Env, newId } from './env.js';
import { Rejection } from './reject.js';
import { isConst, signedBits, unsignedBits } from './scalar.js';
import {
  type Reg,
  type RegKind,
  type State,
  UNKNOWN_SCALAR,
  type VerifierMap,
  kindText,
  ptrReg,
  scalarReg,
} from './state.js';
import { MapType } from '../uapi/types.js';

/** The socket pointer kinds, by the kernel's names. */
export type SockKind = 'sock_common' | 'sock' | 'tcp_sock' | 'xdp_sock';

/** Is this one of the socket pointer kinds (type_is_sk_pointer, or its _or_null)? */
export const isSockKind = (k: RegKind): k is SockKind =>
  k === 'sock_common' || k === 'sock' || k === 'tcp_sock' || k === 'xdp_sock';

/** ARG_PTR_TO_SOCK_COMMON's register types (sock_types), as the kernel lists them when it refuses one. */
const SOCK_TYPES = 'sock_common, sock, tcp_sock, xdp_sock';
/** ARG_PTR_TO_BTF_ID_SOCK_COMMON's (bpf_sk_release): the socket kinds and sockets by BTF id. */
const BTF_SOCK_TYPES = `${SOCK_TYPES}, ptr_, trusted_ptr_`;

/**
 * A helper's socket argument (check_func_arg): 'sock_common' takes any non-NULL socket pointer; 'sk_release'
 * (ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE) one that carries a reference; 'sock_or_null' any socket
 * pointer or NULL; 'sock_btf' any socket pointer (ARG_PTR_TO_BTF_ID_SOCK_COMMON, the kernel's list of
 * types); 'fullsock_or_null' a sock only, maybe NULL, or NULL. Returns the reference the register carries (meta->ref_obj_id), 0 if none.
 */
export function sockArg(
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  type: 'sock_common' | 'sk_release' | 'sock_or_null' | 'sock_btf' | 'fullsock_or_null',
): number {
  const want = type === 'sock_common' ? SOCK_TYPES : type === 'fullsock_or_null' ? 'sock' : BTF_SOCK_TYPES;
  const maybeNull = type === 'sock_or_null' || type === 'fullsock_or_null';
  // register_is_null: a known zero passes an argument that may be NULL.
  if (maybeNull && reg.kind === 'scalar' && isConst(reg.s) && reg.s.t.value === 0n) return 0;
  const kindOk = type === 'fullsock_or_null' ? reg.kind === 'sock' : isSockKind(reg.kind);
  if (!kindOk || (reg.nullable && !maybeNull))
    throw new Rejection(pc, `R${regno} type=${kindText(reg)} expected=${want}`);
  if (type === 'sk_release' && !reg.ref)
    throw new Rejection(pc, `R${regno} must be referenced when passed to release function`);
  if (type === 'sk_release') outsideCallback(st, pc);
  return reg.ref;
}

/**
 * References taken or given back inside a callback (bpf_loop, for_each_map_elem) follow rules of their
 * own (which references a callback may release, what it must release before it returns) that bpfkit
 * does not model, and raw programs cannot show the kernel (callbacks need BTF): said so, never guessed.
 */
function outsideCallback(st: State, pc: number): void {
  if (st.frames.some((f) => f.callback))
    throw new Rejection(pc, 'a socket reference taken or released inside a callback: bpfkit does not model it');
}

/** What a socket helper returns, after its arguments. */
export type SockRet = 'sock_or_null' | 'sock_common_or_null' | 'tcp_sock_or_null';

/**
 * r0 after a socket helper: a fresh maybe-NULL id; an acquiring lookup then takes a reference, which
 * becomes the id too (as for ring buffer records); a cast keeps the argument's reference (`argRef`).
 */
export function sockReturn(
  env: Env,
  st: State,
  pc: number,
  ret: SockRet,
  how: 'acquire' | 'cast' | 'plain',
  argRef: number,
): Reg {
  const kind: SockKind = ret === 'sock_or_null' ? 'sock' : ret === 'tcp_sock_or_null' ? 'tcp_sock' : 'sock_common';
  if (how === 'acquire') outsideCallback(st, pc);
  const id = newId(env);
  if (how === 'acquire') {
    const ref = newId(env);
    st.refs.set(ref, pc);
    return ptrReg(kind, { nullable: true, id: ref, ref });
  }
  return ptrReg(kind, { nullable: true, id, ref: how === 'cast' ? argRef : 0 });
}

/** Is this a socket map (SOCKMAP, SOCKHASH), whose lookups find sockets? */
export const isSockMap = (map: VerifierMap | undefined): boolean =>
  map?.type === MapType.SOCKMAP || map?.type === MapType.SOCKHASH;

/**
 * A lookup in a socket map (is_acquire_function): a socket that may be NULL (Linux 6.18 calls it
 * sock_or_null from the call on, not map_value_or_null), carrying a fresh reference: the maybe-NULL id
 * is taken first, then the reference's, which becomes the id. The register keeps the map it came from
 * (the kernel's map_ptr, set by the lookup and never cleared): state pruning compares a socket's
 * register bytewise (regs_exact), so it does not match a socket from bpf_sk_lookup_*.
 */
export function sockMapLookup(env: Env, st: State, pc: number, map: VerifierMap): Reg {
  outsideCallback(st, pc);
  newId(env);
  const ref = newId(env);
  st.refs.set(ref, pc);
  return ptrReg('sock', { map, nullable: true, id: ref, ref });
}

/** struct bpf_tcp_sock: u32 fields but bytes_received and bytes_acked (u64), up to icsk_retransmits. */
const TCP_SOCK = { bytesReceived: 80, bytesAcked: 88, end: 112 };

/** bpf_tcp_sock_is_valid_access: whole fields only. */
function tcpSockValid(off: number, size: number): boolean {
  if (off < 0 || off >= TCP_SOCK.end || off % size !== 0) return false;
  if (off === TCP_SOCK.bytesReceived || off === TCP_SOCK.bytesAcked) return size === 8;
  return size === 4;
}

/** bpf_sock_common_is_valid_access: bpf_sock without type, protocol, mark and priority (offsets 8..23). */
const sockCommonValid = (off: number, size: number): boolean => !(off >= 8 && off < 24) && bpfSockValid(off, size);

/**
 * A load or store through a non-NULL socket pointer (check_mem_access): no writes, then the field table
 * (which refuses a misaligned offset itself: off % size). Returns what a load gives.
 */
export function sockAccess(
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  write: boolean,
  signed: boolean,
): Reg {
  const kind = reg.kind as SockKind;
  // Arithmetic on these pointers is refused (alu.ts), so the pointer itself sits at offset 0.
  if (reg.off !== 0 || !isConst(reg.s))
    throw new Rejection(pc, `R${regno} ${kind} pointer with an offset: bpfkit does not model it`);
  if (write) throw new Rejection(pc, `R${regno} cannot write into ${kind}`);
  const valid =
    kind === 'sock'
      ? bpfSockValid(off, size)
      : kind === 'tcp_sock'
        ? tcpSockValid(off, size)
        : kind === 'xdp_sock'
          ? // bpf_xdp_sock_is_valid_access: struct bpf_xdp_sock is one __u32, queue_id.
            off === 0 && size === 4
          : sockCommonValid(off, size);
  if (!valid) throw new Rejection(pc, `R${regno} invalid ${kind} access off=${off} size=${size}`);
  // mark_reg_unknown, then coerce_reg_to_size(_sx): the load's size and sign, as for any memory.
  if (size === 8) return UNKNOWN_SCALAR;
  return scalarReg(signed ? signedBits(size * 8) : unsignedBits(size * 8));
}
