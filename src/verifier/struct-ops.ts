/**
 * BPF_PROG_TYPE_STRUCT_OPS programs: each serves one function member of a kernel struct_ops type (the
 * loader gives attach_btf_id = the kernel struct, expected_attach_type = the member's index). The kernel
 * checks the target before the walk (verifier.c's check_struct_ops_btf_id: a GPL-compatible license, a
 * function member the struct_ops implements, its own check_member), reads the context as the member's
 * arguments, u64 each, pointers trusted (btf_ctx_access, prog_args_trusted), and lets each struct_ops
 * type say what the program may write through a BTF pointer (its btf_struct_access) and which helpers it
 * may call (its get_func_proto). bpfkit models two types: tcp_congestion_ops (net/ipv4/bpf_tcp_ca.c) and
 * bpf_dummy_ops (net/bpf/bpf_dummy_struct_ops.c); any other is reported as not modelled.
 */
import { type Btf, type BtfType, BtfKind } from '../btf/index.js';
import { btfObjArg } from './btf-args.js';
import { type TpBtf, internBtfPtr, skipMods, tpBtfCtxLoad } from './btf-ptr.js';
import type { Env } from './env.js';
import { HELPER_PROTOS, type HelperProto } from './helpers.js';
import { KPTR_XCHG } from './kptr-xchg.js';
import { Rejection } from './reject.js';
import { type Reg, type State, NOT_INIT, UNKNOWN_SCALAR } from './state.js';
import { isTimerHelper } from './timer.js';
import { unmodelledHelperName } from './unmodelled-helpers.js';
import { ProgType } from '../uapi/types.js';

/** BPF_PROG_TYPE_STRUCT_OPS. */
export const PROG_STRUCT_OPS = 27;

/** The struct_ops types bpfkit models, by the kernel struct's name. */
type Kind = 'tcp_ca' | 'dummy';

/** A struct_ops program's target: the struct, the member, its arguments as a context, its return. */
export interface StructOps {
  btf: Btf;
  kind: Kind;
  /** The kernel struct's name (tcp_congestion_ops) and the member's (ssthresh). */
  struct: string;
  member: string;
  /** The member's arguments, read from the context as a tp_btf program's are (btf_ctx_access). */
  ctx: TpBtf;
  /** The member returns void: the program may return anything, even nothing (check_return_code). */
  voidReturn: boolean;
}

/**
 * Per struct_ops type: its function members that have a stub in the kernel's cfi_stubs (the others are
 * refused: bpf_struct_ops_supported), and the arguments the stubs name `__nullable` (PTR_MAYBE_NULL).
 * tcp_congestion_ops: every function member but get_info (min_tso_segs is tso_segs in later kernels).
 * bpf_dummy_ops: test_1's state may be NULL (its stub's `cb__nullable`, in Linux 6.18's BTF).
 */
const TYPES: ReadonlyMap<string, { kind: Kind; members: ReadonlyMap<string, readonly number[]> }> = new Map([
  [
    'tcp_congestion_ops',
    {
      kind: 'tcp_ca',
      members: new Map(
        [
          'ssthresh',
          'cong_avoid',
          'set_state',
          'cwnd_event',
          'in_ack_event',
          'pkts_acked',
          'min_tso_segs',
          'tso_segs',
          'cong_control',
          'undo_cwnd',
          'sndbuf_expand',
          'init',
          'release',
        ].map((m): [string, number[]] => [m, []]),
      ),
    },
  ],
  [
    'bpf_dummy_ops',
    {
      kind: 'dummy',
      members: new Map<string, number[]>([
        ['test_1', [0]],
        ['test_2', []],
        ['test_sleepable', []],
      ]),
    },
  ],
]);

/** Function members of tcp_congestion_ops without a stub: the kernel refuses a program attached to them. */
const TCP_CA_UNSUPPORTED: ReadonlySet<string> = new Set(['get_info']);

/**
 * The first enum bpf_attach_type that btf_ctx_access treats specially when the program reads the slot
 * past the last argument (BPF_TRACE_FENTRY): a struct_ops member index from here on is not modelled.
 */
const FIRST_SPECIAL_ATTACH = 24;

/**
 * check_struct_ops_btf_id, before the walk: the target of a struct_ops program, or a Rejection in the
 * kernel's words (at instruction 0, as the kernel names none) or bpfkit's when it does not model it.
 */
export function structOpsTarget(
  btf: Btf | undefined,
  structId: number | undefined,
  memberIdx: number | undefined,
  gpl: boolean,
  sleepable: boolean,
): StructOps {
  const notModelled = (why: string) => new Rejection(0, `bpfkit: struct_ops program: ${why}`);
  if (!gpl) throw new Rejection(0, 'struct ops programs must have a GPL compatible license');
  if (!btf) throw notModelled("its target is read from the kernel's BTF, and none was given (kernelBtf)");
  if (structId === undefined || memberIdx === undefined)
    throw notModelled('no struct_ops map of the object names it (the loader gives its attach_btf_id)');
  const t = btf.types[structId];
  if (!t || t.kind !== BtfKind.STRUCT) throw notModelled(`btf_id ${structId} is not a struct of the kernel's BTF`);
  const type = TYPES.get(t.name);
  if (!type) throw notModelled(`struct ${t.name} is not modelled (tcp_congestion_ops and bpf_dummy_ops are)`);
  if (memberIdx >= t.members.length)
    throw new Rejection(0, `attach to invalid member idx ${memberIdx} of struct ${t.name}`);
  const m = t.members[memberIdx]!;
  const proto = funcProto(btf, m.type);
  if (!proto) throw new Rejection(0, `attach to invalid member ${m.name}(@idx ${memberIdx}) of struct ${t.name}`);
  const unsupported = `attach to unsupported member ${m.name} of struct ${t.name}`;
  if (type.kind === 'tcp_ca' && TCP_CA_UNSUPPORTED.has(m.name)) throw new Rejection(0, unsupported);
  const nullArgs = type.members.get(m.name);
  if (!nullArgs) throw notModelled(`member ${m.name} of struct ${t.name} is not modelled`);
  // bpf_dummy_ops_check_member: only test_sleepable may be sleepable.
  if (type.kind === 'dummy' && sleepable && m.name !== 'test_sleepable') throw new Rejection(0, unsupported);
  if (memberIdx >= FIRST_SPECIAL_ATTACH)
    throw notModelled(`member index ${memberIdx} reads as an attach type btf_ctx_access knows`);
  const params = proto.members;
  return {
    btf,
    kind: type.kind,
    struct: t.name,
    member: m.name,
    ctx: { btf, name: m.name, args: params.map((p) => p.type), argNames: params.map((p) => p.name), nullArgs },
    voidReturn: proto.sizeOrType === 0,
  };
}

/** btf_type_resolve_func_ptr: the function prototype a member's pointer type points to, if it is one. */
function funcProto(btf: Btf, id: number): BtfType | undefined {
  const ptr = skipMods(btf, id).t;
  if (ptr?.kind !== BtfKind.PTR) return undefined;
  const proto = skipMods(btf, ptr.sizeOrType).t;
  return proto?.kind === BtfKind.FUNC_PROTO ? proto : undefined;
}

/**
 * A context load (bpf_tracing_btf_ctx_access, then btf_ctx_access): an argument, pointers trusted;
 * tcp_congestion_ops promotes a `struct sock *` argument to struct tcp_sock (bpf_tcp_ca_is_valid_access).
 */
export function structOpsCtxLoad(
  so: StructOps,
  pc: number,
  off: number,
  size: number,
  write: boolean,
  signed: boolean,
  newId: () => number,
): Reg {
  const r = tpBtfCtxLoad(so.ctx, pc, off, size, write, signed, newId);
  if (so.kind !== 'tcp_ca' || r.kind !== 'btf_id' || r.btf!.name !== 'sock') return r;
  const tcp = so.btf.byName('tcp_sock', BtfKind.STRUCT);
  if (!tcp) throw new Rejection(pc, "bpfkit: struct_ops program: no struct tcp_sock in the kernel's BTF");
  return { ...r, btf: internBtfPtr(so.btf, tcp.id, r.btf!.trust) };
}

/**
 * A store through a BTF pointer (check_ptr_to_btf_access with the struct_ops' btf_struct_access):
 * never through an untrusted pointer; tcp_congestion_ops writes some fields of a tcp_sock, bpf_dummy_ops
 * the whole of a bpf_dummy_ops_state. Misaligned atomics and variable offsets are not modelled.
 */
export function structOpsBtfWrite(
  so: StructOps,
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  atomic: boolean,
): Reg {
  const p = reg.btf!;
  const total = reg.off + off;
  if (total < 0) throw new Rejection(pc, `R${regno} is ptr_${p.name} invalid negative access: off=${total}`);
  if (reg.s.t.mask !== 0n || reg.s.t.value !== 0n)
    throw new Rejection(pc, `R${regno} has a variable offset: bpfkit does not model it for ptr_${p.name}`);
  // check_atomic asks for strict alignment; bpfkit models only aligned atomics (its read half is a load).
  if (atomic && total % size !== 0)
    throw new Rejection(pc, `a misaligned atomic operation on ptr_${p.name}: bpfkit does not model it`);
  if (p.trust === 'untrusted') throw new Rejection(pc, 'only read is supported');
  if (so.kind === 'dummy') {
    if (p.name !== 'bpf_dummy_ops_state') throw new Rejection(pc, 'only access to bpf_dummy_ops_state is supported');
    const t = so.btf.types[p.id]!;
    if (total + size > t.sizeOrType) throw new Rejection(pc, `write access at off ${total} with size ${size}`);
    return NOT_INIT;
  }
  if (p.name !== 'tcp_sock') throw new Rejection(pc, 'only read is supported');
  const end = tcpWritableEnd(so.btf, total);
  if (end === 'unsure')
    throw new Rejection(pc, "bpfkit: struct_ops program: tcp_sock's writable fields are not all in the kernel's BTF");
  if (end === undefined) throw new Rejection(pc, `no write support to tcp_sock at off ${total}`);
  if (total + size > end)
    throw new Rejection(
      pc,
      `write access at off ${total} with size ${size} beyond the member of tcp_sock ended at ${end}`,
    );
  return NOT_INIT;
}

/**
 * bpf_tcp_ca_btf_struct_access: the fields a tcp_congestion_ops program may write, each by the struct
 * the kernel names it in (struct sock and inet_connection_sock start a tcp_sock). Every field is written
 * from its first byte, but icsk_ca_priv anywhere in it.
 */
const TCP_CA_WRITABLE: readonly (readonly [string, string, boolean])[] = [
  ['sock', 'sk_pacing_rate', false],
  ['sock', 'sk_pacing_status', false],
  ['inet_connection_sock', 'icsk_ca_priv', true],
  ['inet_connection_sock', 'icsk_ack.pending', false],
  ['tcp_sock', 'snd_cwnd', false],
  ['tcp_sock', 'snd_cwnd_cnt', false],
  ['tcp_sock', 'snd_cwnd_stamp', false],
  ['tcp_sock', 'snd_ssthresh', false],
  ['tcp_sock', 'ecn_flags', false],
  ['tcp_sock', 'app_limited', false],
];

/** The end of the writable field a tcp_sock store at `off` starts in, undefined if none, or 'unsure'. */
function tcpWritableEnd(btf: Btf, off: number): number | undefined | 'unsure' {
  for (const [struct, path, inside] of TCP_CA_WRITABLE) {
    const f = fieldAt(btf, struct, path.split('.'));
    if (!f) return 'unsure';
    if (off === f.off || (inside && off > f.off && off < f.end)) return f.end;
  }
  return undefined;
}

/** offsetof and offsetofend of a member (through nested and anonymous members) of a struct, in bytes. */
function fieldAt(btf: Btf, struct: string, path: readonly string[]): { off: number; end: number } | undefined {
  const t = btf.byName(struct, BtfKind.STRUCT);
  return t ? findIn(btf, t, path, 0) : undefined;
}

function findIn(btf: Btf, t: BtfType, path: readonly string[], base: number): { off: number; end: number } | undefined {
  for (const m of t.members) {
    // A bitfield has no byte offset of its own: not one the kernel's offsetof names.
    if (t.kindFlag && m.size) continue;
    const off = base + m.offset / 8;
    const mt = skipMods(btf, m.type).t;
    if (m.name === path[0]) {
      if (path.length === 1) {
        const size = sizeOf(btf, m.type);
        return size === undefined ? undefined : { off, end: off + size };
      }
      if (mt && (mt.kind === BtfKind.STRUCT || mt.kind === BtfKind.UNION)) return findIn(btf, mt, path.slice(1), off);
      return undefined;
    }
    if (!m.name && mt && (mt.kind === BtfKind.STRUCT || mt.kind === BtfKind.UNION)) {
      const inner = findIn(btf, mt, path, off);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** The size in bytes of a member's type (ints, enums, pointers, structs, arrays of them). */
function sizeOf(btf: Btf, id: number): number | undefined {
  const t = skipMods(btf, id).t;
  if (!t) return undefined;
  if (t.kind === BtfKind.PTR) return 8;
  if (t.kind === BtfKind.ARRAY) {
    const e = sizeOf(btf, t.array!.type);
    return e === undefined ? undefined : e * t.array!.nelems;
  }
  if ([BtfKind.INT, BtfKind.ENUM, BtfKind.ENUM64, BtfKind.STRUCT, BtfKind.UNION].includes(t.kind as never))
    return t.sizeOrType;
  return undefined;
}

/** BPF_FUNC_* ids of tcp_congestion_ops' own table (bpf_tcp_ca_get_func_proto). */
const SETSOCKOPT = 49;
const GETSOCKOPT = 57;
const SK_STORAGE_GET = 107;
const SK_STORAGE_DELETE = 108;
const TCP_SEND_ACK = 116;
const KTIME_GET_COARSE_NS = 160;
const GET_CURRENT_TASK_BTF = 158;
const TAIL_CALL = 12;

/**
 * The program type whose helper table (helpers.ts) stands for the struct_ops' table for helper `id`:
 * tcp_congestion_ops' own socket-storage helpers and ktime_get_coarse_ns are sock_ops' prototypes (a
 * socket by BTF id, ARG_PTR_TO_BTF_ID_SOCK_COMMON), the rest is bpf_base_func_proto's alone, as
 * netfilter's table is.
 */
export function structOpsHelperType(id: number): number {
  if (id === SK_STORAGE_GET || id === SK_STORAGE_DELETE || id === KTIME_GET_COARSE_NS) return ProgType.SOCK_OPS;
  return NETFILTER;
}
const NETFILTER = 32;

/**
 * bpf_sk_setsockopt_proto and bpf_sk_getsockopt_proto (net/core/filter.c): a socket by BTF id, level,
 * option, the option's bytes (read, or filled) and their constant size.
 */
const SK_SOCKOPT: ReadonlyMap<number, HelperProto> = new Map([
  [
    SETSOCKOPT,
    {
      id: SETSOCKOPT,
      name: 'setsockopt',
      args: ['sock_btf', 'anything', 'anything', 'mem', 'const_size'],
      ret: 'integer',
      scope: 'all',
    },
  ],
  [
    GETSOCKOPT,
    {
      id: GETSOCKOPT,
      name: 'getsockopt',
      args: ['sock_btf', 'anything', 'anything', 'uninit_mem', 'const_size'],
      ret: 'integer',
      scope: 'all',
    },
  ],
]);

/**
 * The prototype a struct_ops type's own table gives helper `id` where helpers.ts lists none for it:
 * tcp_congestion_ops' sockopt helpers (but to release, refused in structOpsHelper).
 */
export function structOpsProto(so: StructOps, id: number): HelperProto | undefined {
  return so.kind === 'tcp_ca' && so.member !== 'release' ? SK_SOCKOPT.get(id) : undefined;
}

/**
 * The helper calls a struct_ops program's table decides before the generic path: refused in the
 * kernel's words, not modelled, or bpf_tcp_send_ack done here. Returns true when the call is done,
 * false to go on with structOpsHelperType's table.
 */
export function structOpsHelper(env: Env, st: State, pc: number, id: number, so: StructOps): boolean {
  const name = HELPER_PROTOS.get(id)?.name ?? unmodelledHelperName(id);
  if (so.kind === 'dummy') {
    // bpf_dummy_ops has no get_func_proto: every helper is refused (get_helper_proto). One bpfkit cannot
    // name has no prototype in helpers.ts either: the generic path says it is invalid or not modelled.
    if (!name) return false;
    throw new Rejection(pc, `program of this type cannot use helper bpf_${name}#${id}`);
  }
  // release() may not change the socket: bpf_tcp_ca_get_func_proto gives neither sockopt helper to it.
  if ((id === SETSOCKOPT || id === GETSOCKOPT) && so.member === 'release')
    throw new Rejection(pc, `program of this type cannot use helper bpf_${name}#${id}`);
  // Timers, kptrs and the BTF task have models tied to other program types; a tail call from a struct_ops
  // program (which the kernel may refuse when its struct_ops adds an epilogue) is not checked here either.
  if (isTimerHelper(id) || id === KPTR_XCHG || id === GET_CURRENT_TASK_BTF || id === TAIL_CALL)
    throw new Rejection(pc, `bpfkit: helper #${id} in a struct_ops program is not modelled`);
  if (id !== TCP_SEND_ACK) return false;
  // bpf_tcp_send_ack(struct tcp_sock *tp, u32 rcv_nxt): ARG_PTR_TO_BTF_ID of tcp_sock, then anything.
  const regs = st.frames[st.frames.length - 1]!.regs;
  if (regs[1]!.kind === 'not_init') throw new Rejection(pc, 'R1 !read_ok');
  btfObjArg(env, pc, 1, regs[1]!, 'tcp_sock', false, 'tcp_send_ack');
  if (regs[2]!.kind === 'not_init') throw new Rejection(pc, 'R2 !read_ok');
  for (let r = 1; r <= 5; r++) regs[r] = NOT_INIT;
  regs[0] = UNKNOWN_SCALAR;
  return true;
}
