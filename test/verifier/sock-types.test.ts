/**
 * The cgroup and socket program types (src/verifier/ctx-sock.ts, their helper tables and return ranges):
 * cgroup_sock_addr, cgroup_sock, cgroup_sysctl, cgroup_sockopt, sk_msg, sk_lookup, sock_ops and
 * sk_reuseport; and the
 * lightweight tunnel types (lwt_in, lwt_out, lwt_xmit: a __sk_buff, ctx-access.ts). For each, context
 * reads and writes the kernel accepts and ones it refuses (offset, size, a read-only field, a field of
 * another attach type), a helper the type may call and one it may not, and both edges of its return
 * range. bpfkit's verdict is held to the expectation here, and as root the running kernel judges every
 * program too (loaded with the case's expected attach type): same verdict, same instruction, same words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { verifyInstructions, type VerifierMap, type VerifyResult } from '../../src/verifier/index.js';
import type { Instruction } from '../../src/isa/index.js';
import { needs } from '../support/env.js';
import { build } from './boundary-programs.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { assertKernelAgrees, lastLine } from './expect.js';

const { CGROUP_SOCK, CGROUP_SOCK_ADDR, SK_MSG, SOCK_OPS, LWT_IN, LWT_OUT, LWT_XMIT, SK_REUSEPORT } = ProgType;
const CGROUP_SYSCTL = 23;
const CGROUP_SOCKOPT = 25;
const SK_LOOKUP = 30;

/** enum bpf_attach_type. */
const A = {
  sockCreate: 2,
  msgVerdict: 7,
  bind4: 8,
  connect4: 10,
  connect6: 11,
  postBind4: 12,
  postBind6: 13,
  sendmsg4: 14,
  sendmsg6: 15,
  sysctl: 18,
  recvmsg4: 19,
  getsockopt: 21,
  setsockopt: 22,
  getsockname6: 32,
  skLookup: 36,
  sockOps: 3,
  reuseport: 39,
  reuseportMigrate: 40,
  sendmsgUnix: 50,
  getpeernameUnix: 52,
};

/** ok, or refused at `pc` with a last message line matching `re`. */
type Want = { ok: true } | { pc: number; re: RegExp };

interface Case {
  name: string;
  type: number;
  attach: number;
  text: string;
  maps?: VerifierMap[];
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, re: RegExp): Want => ({ pc, re });
const ctxRefused = (pc: number, off: number, size: number) =>
  at(pc, new RegExp(`^invalid bpf_context access off=${off} size=${size}$`));
const notForType = (pc: number, name: string, id: number) =>
  at(pc, new RegExp(`^program of this type cannot use helper bpf_${name}#${id}$`));
const range = (pc: number, v: number, lo: number, hi: number) =>
  at(
    pc,
    new RegExp(`^At program exit the register R0 has smin=${v} smax=${v} should have been in \\[${lo}, ${hi}\\]$`),
  );
const map = (type: number): VerifierMap => ({
  name: 'm',
  type,
  keySize: 4,
  valueSize: type === MapType.SOCKMAP || type === MapType.SOCKHASH || type === MapType.PERF_EVENT_ARRAY ? 4 : 8,
  maxEntries: 4,
  readOnly: false,
});

const ret = (v: number) => `r0 = ${v}\nexit`;
const ok1 = ret(1);
/** A load of `size` bits at ctx+off, then return 1. */
const load = (size: number, off: number) => `r2 = *(u${size} *)(r1 + ${off})\n${ok1}`;
/** A store of r2 (a scalar) with `size` bits at ctx+off, then return 1. */
const store = (size: number, off: number) => `r2 = 7\n*(u${size} *)(r1 + ${off}) = r2\n${ok1}`;
/** `call id` with r1 still the context, then return 1. */
const call = (id: number) => `call ${id}\n${ok1}`;
/** Delete key 0 from map 0 (a socket map), then return 1. */
const del = `r2 = 0\n*(u64 *)(r10 - 8) = r2\nr2 = r10\nr2 += -8\nr1 = map 0\n${call(3)}`;
/** data at `doff`, data_end at `eoff` (8-byte pointers), 4 bytes proven, one byte written. */
const pktWrite = (doff: number, eoff: number) => `
  r0 = 1
  r2 = *(u64 *)(r1 + ${doff})
  r3 = *(u64 *)(r1 + ${eoff})
  r4 = r2
  r4 += 4
  if r4 > r3 goto +LAST
  r5 = 1
  *(u8 *)(r2 + 3) = r5
  exit`;

function program(text: string): Instruction[] {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const last = lines.length - 1;
  return build(lines.map((l, i) => l.replace('+LAST', `+${last - i - 1}`)).join('\n'));
}

const SOCK_ADDR: Case[] = [
  { name: 'connect4: user_ip4 read', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: load(32, 4), want: OK },
  { name: 'connect4: user_ip4 byte 1', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: load(8, 5), want: OK },
  { name: 'connect4: user_ip4 written', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: store(32, 4), want: OK },
  {
    name: 'connect4: user_ip4 written narrowly',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: store(16, 4),
    want: ctxRefused(1, 4, 2),
  },
  { name: 'connect4: user_port written', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: store(32, 24), want: OK },
  {
    name: 'connect4: user_ip6 is not its field',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: load(32, 8),
    want: ctxRefused(0, 8, 4),
  },
  {
    name: 'connect4: msg_src_ip4 is sendmsg4s',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: load(32, 40),
    want: ctxRefused(0, 40, 4),
  },
  { name: 'connect4: family read', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: load(32, 28), want: OK },
  {
    name: 'connect4: family read narrowly',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: load(16, 28),
    want: ctxRefused(0, 28, 2),
  },
  {
    name: 'connect4: family written',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: store(32, 28),
    want: ctxRefused(1, 28, 4),
  },
  {
    name: 'connect4: the padding before sk',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: load(32, 60),
    want: ctxRefused(0, 60, 4),
  },
  {
    name: 'connect4: past the end',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: load(32, 72),
    want: ctxRefused(0, 72, 4),
  },
  { name: 'connect4: sk', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: load(64, 64), want: OK },
  { name: 'connect6: user_ip6 wide read', type: CGROUP_SOCK_ADDR, attach: A.connect6, text: load(64, 8), want: OK },
  { name: 'connect6: user_ip6 wide write', type: CGROUP_SOCK_ADDR, attach: A.connect6, text: store(64, 16), want: OK },
  {
    name: 'connect6: user_ip6 wide, misaligned',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect6,
    text: load(64, 12),
    want: ctxRefused(0, 12, 8),
  },
  { name: 'sendmsg4: msg_src_ip4', type: CGROUP_SOCK_ADDR, attach: A.sendmsg4, text: store(32, 40), want: OK },
  { name: 'sendmsg6: msg_src_ip6 wide', type: CGROUP_SOCK_ADDR, attach: A.sendmsg6, text: load(64, 48), want: OK },
  {
    name: 'sendmsg6: msg_src_ip6 wide past it',
    type: CGROUP_SOCK_ADDR,
    attach: A.sendmsg6,
    text: load(64, 56),
    want: ctxRefused(0, 56, 8),
  },
  { name: 'connect4: returns 0', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: ret(0), want: OK },
  { name: 'connect4: returns 2', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: ret(2), want: range(1, 2, 0, 1) },
  { name: 'bind4: returns 3', type: CGROUP_SOCK_ADDR, attach: A.bind4, text: ret(3), want: OK },
  { name: 'bind4: returns 4', type: CGROUP_SOCK_ADDR, attach: A.bind4, text: ret(4), want: range(1, 4, 0, 3) },
  { name: 'recvmsg4: returns 1', type: CGROUP_SOCK_ADDR, attach: A.recvmsg4, text: ret(1), want: OK },
  { name: 'recvmsg4: returns 0', type: CGROUP_SOCK_ADDR, attach: A.recvmsg4, text: ret(0), want: range(1, 0, 1, 1) },
  {
    name: 'getsockname6: returns 2',
    type: CGROUP_SOCK_ADDR,
    attach: A.getsockname6,
    text: ret(2),
    want: range(1, 2, 1, 1),
  },
  { name: 'connect4: get_socket_cookie', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: call(46), want: OK },
  { name: 'connect4: get_retval', type: CGROUP_SOCK_ADDR, attach: A.connect4, text: call(186), want: OK },
  {
    name: 'recvmsg4: get_retval',
    type: CGROUP_SOCK_ADDR,
    attach: A.recvmsg4,
    text: call(186),
    want: notForType(0, 'get_retval', 186),
  },
  {
    name: 'connect4: get_netns_cookie(NULL)',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: `r1 = 0\n${call(122)}`,
    want: OK,
  },
  {
    name: 'connect4: skb_load_bytes',
    type: CGROUP_SOCK_ADDR,
    attach: A.connect4,
    text: call(26),
    want: notForType(0, 'skb_load_bytes', 26),
  },
];

const SOCK: Case[] = [
  { name: 'sock_create: bound_dev_if', type: CGROUP_SOCK, attach: A.sockCreate, text: load(32, 0), want: OK },
  { name: 'sock_create: mark written', type: CGROUP_SOCK, attach: A.sockCreate, text: store(32, 16), want: OK },
  {
    name: 'sock_create: priority written narrowly',
    type: CGROUP_SOCK,
    attach: A.sockCreate,
    text: store(16, 20),
    want: ctxRefused(1, 20, 2),
  },
  { name: 'sock_create: family byte', type: CGROUP_SOCK, attach: A.sockCreate, text: load(8, 4), want: OK },
  {
    name: 'sock_create: family written',
    type: CGROUP_SOCK,
    attach: A.sockCreate,
    text: store(32, 4),
    want: ctxRefused(1, 4, 4),
  },
  {
    name: 'sock_create: src_ip4 is post_bind4s',
    type: CGROUP_SOCK,
    attach: A.sockCreate,
    text: load(32, 24),
    want: ctxRefused(0, 24, 4),
  },
  { name: 'sock_create: dst_port u16', type: CGROUP_SOCK, attach: A.sockCreate, text: load(16, 48), want: OK },
  {
    name: 'sock_create: dst_port padding',
    type: CGROUP_SOCK,
    attach: A.sockCreate,
    text: load(16, 50),
    want: ctxRefused(0, 50, 2),
  },
  {
    name: 'sock_create: state byte 1',
    type: CGROUP_SOCK,
    attach: A.sockCreate,
    text: load(8, 73),
    want: ctxRefused(0, 73, 1),
  },
  { name: 'post_bind4: src_ip4 byte 1', type: CGROUP_SOCK, attach: A.postBind4, text: load(8, 25), want: OK },
  { name: 'post_bind4: src_port', type: CGROUP_SOCK, attach: A.postBind4, text: load(32, 44), want: OK },
  {
    name: 'post_bind4: src_port written',
    type: CGROUP_SOCK,
    attach: A.postBind4,
    text: store(32, 44),
    want: ctxRefused(1, 44, 4),
  },
  {
    name: 'post_bind4: mark is sock_creates',
    type: CGROUP_SOCK,
    attach: A.postBind4,
    text: load(32, 16),
    want: ctxRefused(0, 16, 4),
  },
  { name: 'post_bind6: src_ip6', type: CGROUP_SOCK, attach: A.postBind6, text: load(32, 32), want: OK },
  {
    name: 'post_bind6: src_ip4',
    type: CGROUP_SOCK,
    attach: A.postBind6,
    text: load(32, 24),
    want: ctxRefused(0, 24, 4),
  },
  { name: 'sock_create: returns 1', type: CGROUP_SOCK, attach: A.sockCreate, text: ret(1), want: OK },
  { name: 'sock_create: returns 2', type: CGROUP_SOCK, attach: A.sockCreate, text: ret(2), want: range(1, 2, 0, 1) },
  { name: 'sock_create: get_socket_cookie', type: CGROUP_SOCK, attach: A.sockCreate, text: call(46), want: OK },
  {
    name: 'sock_create: skb_load_bytes',
    type: CGROUP_SOCK,
    attach: A.sockCreate,
    text: call(26),
    want: notForType(0, 'skb_load_bytes', 26),
  },
];

const SYSCTL: Case[] = [
  { name: 'sysctl: write byte', type: CGROUP_SYSCTL, attach: A.sysctl, text: load(8, 0), want: OK },
  {
    name: 'sysctl: write written',
    type: CGROUP_SYSCTL,
    attach: A.sysctl,
    text: store(32, 0),
    want: ctxRefused(1, 0, 4),
  },
  { name: 'sysctl: file_pos written', type: CGROUP_SYSCTL, attach: A.sysctl, text: store(32, 4), want: OK },
  {
    name: 'sysctl: file_pos written narrowly',
    type: CGROUP_SYSCTL,
    attach: A.sysctl,
    text: store(16, 4),
    want: ctxRefused(1, 4, 2),
  },
  { name: 'sysctl: 8 bytes', type: CGROUP_SYSCTL, attach: A.sysctl, text: load(64, 0), want: ctxRefused(0, 0, 8) },
  { name: 'sysctl: past the end', type: CGROUP_SYSCTL, attach: A.sysctl, text: load(32, 8), want: ctxRefused(0, 8, 4) },
  { name: 'sysctl: returns 0', type: CGROUP_SYSCTL, attach: A.sysctl, text: ret(0), want: OK },
  { name: 'sysctl: returns -1', type: CGROUP_SYSCTL, attach: A.sysctl, text: ret(-1), want: range(1, -1, 0, 1) },
  { name: 'sysctl: get_current_uid_gid', type: CGROUP_SYSCTL, attach: A.sysctl, text: call(15), want: OK },
  {
    name: 'sysctl: get_socket_cookie',
    type: CGROUP_SYSCTL,
    attach: A.sysctl,
    text: call(46),
    want: notForType(0, 'get_socket_cookie', 46),
  },
];

const SOCKOPT: Case[] = [
  {
    name: 'getsockopt: a byte of optval written',
    type: CGROUP_SOCKOPT,
    attach: A.getsockopt,
    text: pktWrite(8, 16),
    want: OK,
  },
  {
    name: 'getsockopt: optval read as u32',
    type: CGROUP_SOCKOPT,
    attach: A.getsockopt,
    text: load(32, 8),
    want: ctxRefused(0, 8, 4),
  },
  { name: 'getsockopt: retval written', type: CGROUP_SOCKOPT, attach: A.getsockopt, text: store(32, 36), want: OK },
  { name: 'getsockopt: optlen written', type: CGROUP_SOCKOPT, attach: A.getsockopt, text: store(32, 32), want: OK },
  {
    name: 'getsockopt: level written',
    type: CGROUP_SOCKOPT,
    attach: A.getsockopt,
    text: store(32, 24),
    want: ctxRefused(1, 24, 4),
  },
  {
    name: 'getsockopt: level read narrowly',
    type: CGROUP_SOCKOPT,
    attach: A.getsockopt,
    text: load(16, 24),
    want: ctxRefused(0, 24, 2),
  },
  { name: 'setsockopt: optname written', type: CGROUP_SOCKOPT, attach: A.setsockopt, text: store(32, 28), want: OK },
  {
    name: 'setsockopt: retval read',
    type: CGROUP_SOCKOPT,
    attach: A.setsockopt,
    text: load(32, 36),
    want: ctxRefused(0, 36, 4),
  },
  { name: 'getsockopt: sk', type: CGROUP_SOCKOPT, attach: A.getsockopt, text: load(64, 0), want: OK },
  {
    // Every helper may take the option buffer (may_access_direct_pkt_data), pkt_access or not.
    name: 'setsockopt: strtol reads optval',
    type: CGROUP_SOCKOPT,
    attach: A.setsockopt,
    text: `
      r2 = *(u64 *)(r1 + 8)
      r3 = *(u64 *)(r1 + 16)
      r4 = r2
      r4 += 8
      if r4 > r3 goto +6
      r1 = r2
      r2 = 8
      r3 = 0
      r4 = r10
      r4 += -8
      call 105
      r0 = 1
      exit`,
    want: OK,
  },
  { name: 'getsockopt: returns 0', type: CGROUP_SOCKOPT, attach: A.getsockopt, text: ret(0), want: OK },
  {
    name: 'getsockopt: returns 2',
    type: CGROUP_SOCKOPT,
    attach: A.getsockopt,
    text: ret(2),
    want: range(1, 2, 0, 1),
  },
  {
    name: 'getsockopt: get_netns_cookie',
    type: CGROUP_SOCKOPT,
    attach: A.getsockopt,
    text: call(122),
    want: OK,
  },
  {
    name: 'getsockopt: get_socket_cookie',
    type: CGROUP_SOCKOPT,
    attach: A.getsockopt,
    text: call(46),
    want: notForType(0, 'get_socket_cookie', 46),
  },
];

const MSG: Case[] = [
  { name: 'sk_msg: a byte of data written', type: SK_MSG, attach: A.msgVerdict, text: pktWrite(0, 8), want: OK },
  { name: 'sk_msg: data as u32', type: SK_MSG, attach: A.msgVerdict, text: load(32, 0), want: ctxRefused(0, 0, 4) },
  { name: 'sk_msg: family', type: SK_MSG, attach: A.msgVerdict, text: load(32, 16), want: OK },
  { name: 'sk_msg: size', type: SK_MSG, attach: A.msgVerdict, text: load(32, 68), want: OK },
  {
    name: 'sk_msg: family narrowly',
    type: SK_MSG,
    attach: A.msgVerdict,
    text: load(16, 16),
    want: ctxRefused(0, 16, 2),
  },
  {
    name: 'sk_msg: family written',
    type: SK_MSG,
    attach: A.msgVerdict,
    text: store(32, 16),
    want: ctxRefused(1, 16, 4),
  },
  { name: 'sk_msg: past the end', type: SK_MSG, attach: A.msgVerdict, text: load(32, 80), want: ctxRefused(0, 80, 4) },
  { name: 'sk_msg: sk', type: SK_MSG, attach: A.msgVerdict, text: load(64, 72), want: OK },
  { name: 'sk_msg: returns anything', type: SK_MSG, attach: A.msgVerdict, text: ret(-7), want: OK },
  { name: 'sk_msg: msg_apply_bytes', type: SK_MSG, attach: A.msgVerdict, text: `r2 = 10\n${call(61)}`, want: OK },
  {
    name: 'sk_msg: msg_redirect_map, a sockmap',
    type: SK_MSG,
    attach: A.msgVerdict,
    text: `r2 = map 0\nr3 = 0\nr4 = 0\n${call(60)}`,
    maps: [map(MapType.SOCKMAP)],
    want: OK,
  },
  {
    name: 'sk_msg: msg_redirect_map, a sockhash',
    type: SK_MSG,
    attach: A.msgVerdict,
    text: `r2 = map 0\nr3 = 0\nr4 = 0\n${call(60)}`,
    maps: [map(MapType.SOCKHASH)],
    want: at(4, /^cannot pass map_type 18 into func bpf_msg_redirect_map#60$/),
  },
  {
    name: 'sk_msg: skb_load_bytes',
    type: SK_MSG,
    attach: A.msgVerdict,
    text: call(26),
    want: notForType(0, 'skb_load_bytes', 26),
  },
];

const LOOKUP: Case[] = [
  { name: 'sk_lookup: family', type: SK_LOOKUP, attach: A.skLookup, text: load(32, 8), want: OK },
  { name: 'sk_lookup: remote_port u16', type: SK_LOOKUP, attach: A.skLookup, text: load(16, 36), want: OK },
  { name: 'sk_lookup: remote_port u32', type: SK_LOOKUP, attach: A.skLookup, text: load(32, 36), want: OK },
  { name: 'sk_lookup: remote_port padding', type: SK_LOOKUP, attach: A.skLookup, text: load(16, 38), want: OK },
  { name: 'sk_lookup: local_port byte', type: SK_LOOKUP, attach: A.skLookup, text: load(8, 60), want: OK },
  { name: 'sk_lookup: ingress_ifindex', type: SK_LOOKUP, attach: A.skLookup, text: load(32, 64), want: OK },
  {
    name: 'sk_lookup: family written',
    type: SK_LOOKUP,
    attach: A.skLookup,
    text: store(32, 8),
    want: ctxRefused(1, 8, 4),
  },
  {
    name: 'sk_lookup: the tail padding',
    type: SK_LOOKUP,
    attach: A.skLookup,
    text: load(32, 68),
    want: ctxRefused(0, 68, 4),
  },
  { name: 'sk_lookup: sk', type: SK_LOOKUP, attach: A.skLookup, text: load(64, 0), want: OK },
  { name: 'sk_lookup: returns 1', type: SK_LOOKUP, attach: A.skLookup, text: ret(1), want: OK },
  { name: 'sk_lookup: returns 2', type: SK_LOOKUP, attach: A.skLookup, text: ret(2), want: range(1, 2, 0, 1) },
  { name: 'sk_lookup: get_prandom_u32', type: SK_LOOKUP, attach: A.skLookup, text: call(7), want: OK },
  {
    name: 'sk_lookup: get_socket_cookie',
    type: SK_LOOKUP,
    attach: A.skLookup,
    text: call(46),
    want: notForType(0, 'get_socket_cookie', 46),
  },
];

const OPS: Case[] = [
  { name: 'sock_ops: op', type: SOCK_OPS, attach: A.sockOps, text: load(32, 0), want: OK },
  { name: 'sock_ops: args[2]', type: SOCK_OPS, attach: A.sockOps, text: load(32, 12), want: OK },
  { name: 'sock_ops: op narrowly', type: SOCK_OPS, attach: A.sockOps, text: load(8, 0), want: ctxRefused(0, 0, 1) },
  { name: 'sock_ops: reply written', type: SOCK_OPS, attach: A.sockOps, text: store(32, 4), want: OK },
  {
    name: 'sock_ops: replylong[1] written',
    type: SOCK_OPS,
    attach: A.sockOps,
    text: store(32, 8),
    want: ctxRefused(1, 8, 4),
  },
  { name: 'sock_ops: sk_txhash written', type: SOCK_OPS, attach: A.sockOps, text: store(32, 164), want: OK },
  { name: 'sock_ops: bytes_acked', type: SOCK_OPS, attach: A.sockOps, text: load(64, 176), want: OK },
  {
    name: 'sock_ops: bytes_acked as u32',
    type: SOCK_OPS,
    attach: A.sockOps,
    text: load(32, 176),
    want: ctxRefused(0, 176, 4),
  },
  { name: 'sock_ops: skb_tcp_flags byte', type: SOCK_OPS, attach: A.sockOps, text: load(8, 212), want: OK },
  { name: 'sock_ops: skb_hwtstamp', type: SOCK_OPS, attach: A.sockOps, text: load(64, 216), want: OK },
  {
    name: 'sock_ops: past the end',
    type: SOCK_OPS,
    attach: A.sockOps,
    text: load(32, 224),
    want: ctxRefused(0, 224, 4),
  },
  { name: 'sock_ops: sk', type: SOCK_OPS, attach: A.sockOps, text: load(64, 184), want: OK },
  {
    // The TCP header is the program's to read, never to write.
    name: 'sock_ops: a byte of the header written',
    type: SOCK_OPS,
    attach: A.sockOps,
    text: pktWrite(192, 200),
    want: at(7, /^cannot write into packet$/),
  },
  { name: 'sock_ops: returns 1', type: SOCK_OPS, attach: A.sockOps, text: ret(1), want: OK },
  { name: 'sock_ops: returns 2', type: SOCK_OPS, attach: A.sockOps, text: ret(2), want: range(1, 2, 0, 1) },
  {
    name: 'sock_ops: sock_ops_cb_flags_set',
    type: SOCK_OPS,
    attach: A.sockOps,
    text: `r2 = 0\n${call(59)}`,
    want: OK,
  },
  {
    name: 'sock_ops: sockmap delete',
    type: SOCK_OPS,
    attach: A.sockOps,
    text: del,
    maps: [map(MapType.SOCKMAP)],
    want: OK,
  },
  {
    name: 'sock_ops: get_retval',
    type: SOCK_OPS,
    attach: A.sockOps,
    text: call(186),
    want: notForType(0, 'get_retval', 186),
  },
  {
    name: 'sk_lookup: sockmap delete',
    type: SK_LOOKUP,
    attach: A.skLookup,
    text: del,
    maps: [map(MapType.SOCKMAP)],
    want: OK,
  },
  {
    name: 'sk_msg: sockmap delete',
    type: SK_MSG,
    attach: A.msgVerdict,
    text: del,
    maps: [map(MapType.SOCKMAP)],
    want: at(6, /^cannot pass map_type 15 into func bpf_map_delete_elem#3$/),
  },
];

/** __sk_buff's data (u32 at 76) and data_end (80), 4 bytes proven, one byte written. */
const skbPktWrite = `
  r0 = 1
  r2 = *(u32 *)(r1 + 76)
  r3 = *(u32 *)(r1 + 80)
  r4 = r2
  r4 += 4
  if r4 > r3 goto +2
  r5 = 1
  *(u8 *)(r2 + 3) = r5
  exit`;

const LWT: Case[] = [
  { name: 'lwt_xmit: a byte of the packet written', type: LWT_XMIT, attach: 0, text: skbPktWrite, want: OK },
  {
    name: 'lwt_in: a byte of the packet written',
    type: LWT_IN,
    attach: 0,
    text: skbPktWrite,
    want: at(7, /^cannot write into packet$/),
  },
  { name: 'lwt_xmit: mark written', type: LWT_XMIT, attach: 0, text: store(32, 8), want: OK },
  { name: 'lwt_out: cb[0] written as u64', type: LWT_OUT, attach: 0, text: store(64, 48), want: OK },
  {
    name: 'lwt_xmit: tc_index written',
    type: LWT_XMIT,
    attach: 0,
    text: store(32, 44),
    want: ctxRefused(1, 44, 4),
  },
  { name: 'lwt_in: tc_classid', type: LWT_IN, attach: 0, text: load(32, 72), want: ctxRefused(0, 72, 4) },
  { name: 'lwt_out: family', type: LWT_OUT, attach: 0, text: load(32, 88), want: ctxRefused(0, 88, 4) },
  { name: 'lwt_out: tstamp', type: LWT_OUT, attach: 0, text: load(64, 152), want: ctxRefused(0, 152, 8) },
  { name: 'lwt_in: protocol narrowly', type: LWT_IN, attach: 0, text: load(16, 16), want: OK },
  { name: 'lwt_xmit: returns anything', type: LWT_XMIT, attach: 0, text: ret(12345), want: OK },
  { name: 'lwt_out: get_route_realm', type: LWT_OUT, attach: 0, text: call(24), want: OK },
  {
    name: 'lwt_xmit: skb_change_tail',
    type: LWT_XMIT,
    attach: 0,
    text: `r2 = 64\nr3 = 0\n${call(38)}`,
    want: OK,
  },
  {
    name: 'lwt_out: skb_change_tail',
    type: LWT_OUT,
    attach: 0,
    text: `r2 = 64\nr3 = 0\n${call(38)}`,
    want: notForType(2, 'skb_change_tail', 38),
  },
  {
    // The skb's classid (bpf_get_cgroup_classid_proto), which takes the context, not the task's.
    name: 'lwt_in: get_cgroup_classid without the context',
    type: LWT_IN,
    attach: 0,
    text: `r1 = 0\n${call(17)}`,
    want: at(1, /^R1 type=scalar expected=ctx$/),
  },
];

const REUSEPORT: Case[] = [
  {
    name: 'sk_reuseport: the packet read',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: `
      r0 = 1
      r2 = *(u64 *)(r1 + 0)
      r3 = *(u64 *)(r1 + 8)
      r4 = r2
      r4 += 4
      if r4 > r3 goto +1
      r0 = *(u8 *)(r2 + 3)
      exit`,
    want: OK,
  },
  {
    name: 'sk_reuseport: a byte of the packet written',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: pktWrite(0, 8),
    want: at(7, /^cannot write into packet$/),
  },
  { name: 'sk_reuseport: eth_protocol u16', type: SK_REUSEPORT, attach: A.reuseport, text: load(16, 20), want: OK },
  {
    name: 'sk_reuseport: eth_protocol u8',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: load(8, 20),
    want: ctxRefused(0, 20, 1),
  },
  { name: 'sk_reuseport: len byte 1', type: SK_REUSEPORT, attach: A.reuseport, text: load(8, 17), want: OK },
  {
    name: 'sk_reuseport: hash narrowly',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: load(16, 32),
    want: ctxRefused(0, 32, 2),
  },
  {
    name: 'sk_reuseport: the padding',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: load(32, 36),
    want: ctxRefused(0, 36, 4),
  },
  {
    name: 'sk_reuseport: len written',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: store(32, 16),
    want: ctxRefused(1, 16, 4),
  },
  { name: 'sk_reuseport: sk', type: SK_REUSEPORT, attach: A.reuseport, text: load(64, 40), want: OK },
  {
    name: 'sk_reuseport: migrating_sk null-checked',
    type: SK_REUSEPORT,
    attach: A.reuseportMigrate,
    text: `r2 = *(u64 *)(r1 + 48)\nif r2 == 0 goto +0\n${ok1}`,
    want: OK,
  },
  { name: 'sk_reuseport: returns anything', type: SK_REUSEPORT, attach: A.reuseport, text: ret(7), want: OK },
  {
    name: 'sk_reuseport: sk_select_reuseport, a socket array',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: `r2 = 0\n*(u64 *)(r10 - 8) = r2\nr3 = r10\nr3 += -8\nr2 = map 0\nr4 = 0\n${call(82)}`,
    maps: [{ ...map(MapType.REUSEPORT_SOCKARRAY), valueSize: 8 }],
    want: OK,
  },
  {
    name: 'sk_reuseport: skb_load_bytes',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: `r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\n${call(26)}`,
    want: OK,
  },
  {
    name: 'sk_reuseport: perf_event_output',
    type: SK_REUSEPORT,
    attach: A.reuseport,
    text: `r2 = map 0\nr3 = 0\nr4 = r10\nr4 += -8\nr5 = 0\n${call(25)}`,
    maps: [map(MapType.PERF_EVENT_ARRAY)],
    want: notForType(6, 'perf_event_output', 25),
  },
];

/** The task's classid (no argument: r1 may hold anything) for each type whose table has it. */
const CLASSID: Case[] = (
  [
    [CGROUP_SOCK_ADDR, A.connect4],
    [CGROUP_SOCK, A.sockCreate],
    [CGROUP_SYSCTL, A.sysctl],
    [CGROUP_SOCKOPT, A.getsockopt],
    [SK_MSG, A.msgVerdict],
    [SK_LOOKUP, A.skLookup],
    [SOCK_OPS, A.sockOps],
    [SK_REUSEPORT, A.reuseport],
  ] as const
).map(([type, attach]) => ({
  name: `type ${type}: get_cgroup_classid without the context`,
  type,
  attach,
  text: `r1 = 0\n${call(17)}`,
  want: OK,
}));

const UNIX: Case[] = [
  { name: 'sendmsg_unix: returns 0', type: CGROUP_SOCK_ADDR, attach: A.sendmsgUnix, text: ret(0), want: OK },
  {
    name: 'sendmsg_unix: returns 2',
    type: CGROUP_SOCK_ADDR,
    attach: A.sendmsgUnix,
    text: ret(2),
    want: range(1, 2, 0, 1),
  },
  {
    name: 'getpeername_unix: returns 0',
    type: CGROUP_SOCK_ADDR,
    attach: A.getpeernameUnix,
    text: ret(0),
    want: range(1, 0, 1, 1),
  },
  {
    name: 'sendmsg_unix: user_ip4',
    type: CGROUP_SOCK_ADDR,
    attach: A.sendmsgUnix,
    text: load(32, 4),
    want: ctxRefused(0, 4, 4),
  },
  { name: 'sendmsg_unix: user_port', type: CGROUP_SOCK_ADDR, attach: A.sendmsgUnix, text: load(32, 24), want: OK },
];

const CASES = [
  ...SOCK_ADDR,
  ...SOCK,
  ...SYSCTL,
  ...SOCKOPT,
  ...MSG,
  ...LOOKUP,
  ...OPS,
  ...REUSEPORT,
  ...LWT,
  ...CLASSID,
  ...UNIX,
];

function bpfkitVerdict(c: Case): VerifyResult {
  return verifyInstructions(program(c.text), { type: c.type, attachType: c.attach, maps: c.maps ?? [] });
}

test('cgroup and socket types: bpfkit says what each case expects', () => {
  for (const c of CASES) {
    const v = bpfkitVerdict(c);
    if ('ok' in c.want) {
      assert.equal(v.accepted, true, `${c.name}: bpfkit refused at ${v.pc}: ${v.message}`);
      continue;
    }
    assert.equal(v.accepted, false, `${c.name}: bpfkit accepted`);
    assert.notEqual(v.unmodelled, true, `${c.name}: ${v.message}`);
    assert.match(lastLine(v.message)!, c.want.re, c.name);
    assert.equal(v.pc, c.want.pc, `${c.name}: insn`);
  }
});

test('cgroup and socket types: the running kernel gives the same verdict, at the same insn, in the same words (root)', (t) => {
  if (!needs(t, { root: true })) return;
  for (const c of CASES) {
    const k = kernelVerdictRaw(program(c.text), c.type, c.maps ?? [], c.attach);
    const v = bpfkitVerdict(c);
    assertKernelAgrees(c.name, v, k);
  }
});

test('cgroup and socket types: an attach type the kernel does not load the type with is not modelled', () => {
  for (const [type, attach] of [
    [CGROUP_SOCK_ADDR, 0],
    [CGROUP_SOCK, A.connect4],
    [CGROUP_SOCKOPT, undefined],
    [SK_LOOKUP, 0],
  ] as const) {
    const v = verifyInstructions(program(ok1), { type, attachType: attach });
    assert.equal(v.accepted, false, `type ${type} attach ${attach}`);
    assert.equal(v.unmodelled, true, `type ${type} attach ${attach}`);
  }
});
