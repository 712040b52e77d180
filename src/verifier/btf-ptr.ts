/**
 * BPF_PROG_TYPE_TRACING programs attached to a raw tracepoint by BTF (tp_btf): their context is the
 * tracepoint's arguments as u64s, typed by the `btf_trace_<name>` typedef of the kernel's BTF, and a
 * pointer argument loads as a PTR_TO_BTF_ID of its struct, which the program reads field by field by that
 * BTF (btf.c's btf_ctx_access, btf_struct_walk; verifier.c's check_ptr_to_btf_access). What bpfkit is
 * unsure of (type tags, flexible arrays, fields the kernel's allow lists make RCU or NULL-able, pointers
 * to non-structs, tracepoints whose arguments the kernel may mark NULL on a release bpfkit has no table
 * for: tp-null.ts) is reported as not modelled.
 */
import { type Btf, type BtfType, BtfKind, BTF_MODIFIERS } from '../btf/index.js';
import { listedFieldTrust } from './trusted-fields.js';
import { TP_NULL_SERIES, tpNullFacts } from './tp-null.js';
import type { IterTarget } from './iter.js';
import { Rejection } from './reject.js';
import { signedBits, unsignedBits } from './scalar.js';
import { tstr } from './tnum.js';
import { type BtfPtr, type Reg, UNKNOWN_SCALAR, ptrReg, scalarReg } from './state.js';

/** BPF_PROG_TYPE_TRACING. */
export const PROG_TRACING = 26;
/** BPF_TRACE_RAW_TP: the expected attach type of tp_btf programs. */
export const TRACE_RAW_TP = 23;
/** MAX_BPF_FUNC_ARGS: the context's u64 slots (tracing_prog_is_valid_access). */
const MAX_ARGS = 12;

/** A load's result for `size` bytes, zero- or sign-extended (as memory.ts's, which imports this file). */
function loadedScalar(size: number, signed: boolean): Reg {
  if (size === 8) return UNKNOWN_SCALAR;
  return scalarReg(signed ? signedBits(size * 8) : unsignedBits(size * 8));
}

/** A tp_btf program's target: the kernel's BTF and the tracepoint's argument types. */
export interface TpBtf {
  btf: Btf;
  /** The tracepoint's name (the typedef's without `btf_trace_`), as the kernel's messages print it. */
  name: string;
  /** The tracepoint's argument types, the first `void *__data` left out. */
  args: readonly number[];
  /** Their names (a `__nullable` suffix makes a pointer argument PTR_MAYBE_NULL). */
  argNames: readonly string[];
  /**
   * The arguments the kernel marks NULL-able (raw_tp_null_args), when bpfkit knows them for this
   * tracepoint (ARGS_NOT_NULL, ARGS_MAYBE_NULL); undefined otherwise.
   */
  nullArgs: readonly number[] | undefined;
  /** The pointer arguments that may hold an error code (raw_tp_null_args' IS_ERR bits): scalars once loaded. */
  errArgs?: readonly number[];
  /** Pointer arguments the release's table (tp-null.ts) could not classify: not modelled. */
  unknownArgs?: readonly number[];
  /** The target kernel's release (`uname -r`) when known: facts of one release apply only to it. */
  release?: string;
  /**
   * Iterator programs (BPF_TRACE_ITER, iter.ts): `name` is the `bpf_iter_<target>` function's, `args`
   * all its parameters (`meta` first), and the target's ctx_arg_info types the pointers.
   */
  iter?: IterTarget;
}

/**
 * Tracepoints of vmlinux that are not in the kernel's raw_tp_null_args table (btf.c), so their struct
 * pointer arguments are trusted and never NULL. The table is long and changes with each release: bpfkit
 * carries Linux 6.18's whole (tp-null.ts); on another release it knows these short lists only, and for
 * any other tracepoint a pointer argument's load is reported as not modelled.
 */
const ARGS_NOT_NULL: ReadonlySet<string> = new Set([
  'sched_switch',
  'sched_wakeup',
  'sched_wakeup_new',
  'sched_waking',
  'sched_process_exit',
  'sched_process_free',
  'sched_process_fork',
  'sched_process_exec',
  'task_newtask',
  'task_rename',
  'sys_enter',
  'sys_exit',
  'cgroup_mkdir',
  'cgroup_rmdir',
  'cgroup_attach_task',
  'consume_skb',
  'netif_receive_skb',
  'net_dev_queue',
  'inet_sock_set_state',
  'tcp_retransmit_skb',
  'tcp_probe',
  'block_rq_issue',
  'block_rq_complete',
  'mm_filemap_add_to_page_cache',
  'kmem_cache_free',
  'tcp_retransmit_synack',
  'tcp_bad_csum',
  'tcp_destroy_sock',
  'xdp_devmap_xmit',
  'xdp_exception',
  'xdp_cpumap_kthread',
]);

/**
 * Tracepoints of that table bpfkit carries: the arguments (0-based) the kernel marks NULL-able (each
 * checked on Linux 6.18 by a load through the argument unchecked: `invalid mem access
 * 'trusted_ptr_or_null_'`). do_wait passes a NULL pid to sched_process_wait for wait4(-1).
 */
const ARGS_MAYBE_NULL: ReadonlyMap<string, readonly number[]> = new Map([
  ['kfree_skb', [3]],
  ['sched_process_wait', [0]],
  ['mm_page_alloc', [0]],
  ['signal_generate', []],
  ['signal_deliver', []],
]);

/**
 * Tracepoints of that table whose arguments may hold an error code (IS_ERR) instead of a pointer: after
 * btf_ctx_access has checked such an argument as a pointer, its load gives a scalar (checked on Linux
 * 6.18: a load through signal_deliver's `info` is `invalid mem access 'scalar'`).
 */
const ARGS_MAYBE_ERR: ReadonlyMap<string, readonly number[]> = new Map([
  ['signal_generate', [1]],
  ['signal_deliver', [1]],
]);

/** The type `id` names with typedefs and qualifiers skipped (btf_type_skip_modifiers), and its id. */
export function skipMods(btf: Btf, id: number): { id: number; t: BtfType | undefined } {
  let t = btf.types[id];
  for (let hops = 0; t && BTF_MODIFIERS.has(t.kind) && hops < 32; hops++) {
    id = t.sizeOrType;
    t = btf.types[id];
  }
  return { id, t };
}

const isStruct = (t: BtfType | undefined) => !!t && (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION);

/**
 * The target of a tp_btf program: typedef `btf_trace_<name>` (by name when known, else by the id a loader
 * resolved), a pointer to a function prototype whose first parameter is the tracepoint's `void *__data`.
 * Returns a reason instead when bpfkit cannot read it so.
 */
export function tpBtfTarget(
  btf: Btf,
  id: number | undefined,
  typeName: string | undefined,
  release?: string,
): TpBtf | string {
  // The name first: an id resolved against another kernel's BTF would name another type here.
  const t = typeName ? btf.byName(typeName, BtfKind.TYPEDEF) : id !== undefined ? btf.types[id] : undefined;
  if (!t || t.kind !== BtfKind.TYPEDEF || !t.name.startsWith('btf_trace_'))
    return `the attach target (${typeName ?? `btf_id ${id}`}) is not a btf_trace_ typedef of the kernel's BTF given to bpfkit`;
  const ptr = btf.types[t.sizeOrType];
  const proto = ptr?.kind === BtfKind.PTR ? btf.types[ptr.sizeOrType] : undefined;
  if (!proto || proto.kind !== BtfKind.FUNC_PROTO || proto.members.length < 1)
    return `${t.name} is not a pointer to a function prototype`;
  const name = t.name.slice('btf_trace_'.length);
  const params = proto.members.slice(1);
  const base = {
    btf,
    name,
    args: params.map((m) => m.type),
    argNames: params.map((m) => m.name),
    ...(release ? { release } : {}),
  };
  // The kernel's table of the running release when bpfkit carries it and it names this tracepoint.
  const facts = tpNullFacts(name, release);
  if (facts) return { ...base, ...facts };
  return {
    ...base,
    nullArgs: ARGS_NOT_NULL.has(name) ? [] : ARGS_MAYBE_NULL.get(name),
    ...(ARGS_MAYBE_ERR.has(name) ? { errArgs: ARGS_MAYBE_ERR.get(name)! } : {}),
  };
}

/** How bpfkit's own messages name a target: `tp_btf/<tracepoint>`, or an iterator's `bpf_iter_<target>`. */
const where = (tp: TpBtf) => (tp.iter ? tp.name : `tp_btf/${tp.name}`);

const interned = new Map<string, BtfPtr>();
/** The one BtfPtr of a struct id and trust (registers compare them by identity when pruning). */
export function internBtfPtr(btf: Btf, id: number, trust: BtfPtr['trust']): BtfPtr {
  const key = `${id}:${trust}`;
  let p = interned.get(key);
  if (!p || p.name !== btf.types[id]!.name) {
    p = { id, name: btf.types[id]!.name, trust };
    interned.set(key, p);
  }
  return p;
}

/**
 * A trusted, never NULL PTR_TO_BTF_ID of the kernel's `struct <name>` (a netfilter context's fields), or
 * undefined when the BTF has no such struct.
 */
export function trustedStructPtr(btf: Btf, name: string): Reg | undefined {
  const t = btf.byName(name, BtfKind.STRUCT);
  if (!t) return undefined;
  return ptrReg('btf_id', { btf: internBtfPtr(btf, t.id, 'trusted') });
}

/**
 * A load from a tp_btf context at `off` (tracing_prog_is_valid_access, then btf_ctx_access): an argument
 * read whole, a scalar one also narrower at its start; never a write.
 */
export function tpBtfCtxLoad(
  tp: TpBtf,
  pc: number,
  off: number,
  size: number,
  write: boolean,
  signed: boolean,
  newId: () => number,
): Reg {
  const refuse = (why?: string) =>
    new Rejection(pc, `${why ? `${why}\n` : ''}invalid bpf_context access off=${off} size=${size}`);
  if (off < 0 || off >= 8 * MAX_ARGS || write || off % size !== 0) throw refuse();
  if (off % 8 !== 0) throw refuse(`func '${tp.name}' offset ${off} is not multiple of 8`);
  if (signed) throw new Rejection(pc, `a sign-extending load of a tp_btf argument: bpfkit does not model it`);
  // btf_ctx_arg_idx counts arguments wider than 8 bytes (structs by value) as several slots.
  for (const a of tp.args) {
    const { t } = skipMods(tp.btf, a);
    if (t && t.kind !== BtfKind.PTR && (t.sizeOrType ?? 0) > 8)
      throw new Rejection(pc, `${where(tp)} has an argument wider than 8 bytes: bpfkit does not model its slots`);
  }
  const arg = off / 8;
  if (arg >= tp.args.length) throw refuse(`func '${tp.name}' doesn't have ${arg + 1}-th argument`);
  const { t } = skipMods(tp.btf, tp.args[arg]!);
  if (!t) throw new Rejection(pc, `${where(tp)} arg${arg}: bpfkit cannot read its type`);
  const scalarKinds: readonly number[] = [BtfKind.ENUM, BtfKind.ENUM64, BtfKind.STRUCT, BtfKind.UNION];
  if ((t.kind === BtfKind.INT && t.sizeOrType <= 8) || scalarKinds.includes(t.kind)) return loadedScalar(size, false);
  if (t.kind !== BtfKind.PTR)
    throw new Rejection(pc, `${where(tp)} arg${arg} is a ${t.kind}-kind type: bpfkit does not model its access`);
  if (size !== 8) throw refuse(`func '${tp.name}' size ${size} must be 8`);
  // A `__user` or `__percpu` tag right after the pointer changes what the kernel lets the program do.
  if (tp.btf.types[t.sizeOrType]?.kind === BtfKind.TYPE_TAG)
    throw new Rejection(pc, `${where(tp)} arg${arg} is a type-tagged pointer: bpfkit does not model it`);
  const target = skipMods(tp.btf, t.sizeOrType);
  if (target.id === 0 || target.t?.kind === BtfKind.INT) return UNKNOWN_SCALAR;
  if (!isStruct(target.t))
    throw new Rejection(pc, `${where(tp)} arg${arg} points to a non-struct: bpfkit does not model it`);
  // btf_ctx_access's last step: a pointer that may encode an error is scrubbed to a scalar.
  if (!tp.iter && tp.errArgs?.includes(arg)) return UNKNOWN_SCALAR;
  if (tp.iter) {
    // btf_ctx_access: a ctx_arg_info entry at this offset types the pointer (all the modelled targets'
    // are NULL-able); `meta`, which has none, is a trusted PTR_TO_BTF_ID (prog_args_trusted).
    if (arg === 0 && target.t!.name === 'bpf_iter_meta')
      return ptrReg('btf_id', { btf: internBtfPtr(tp.btf, target.id, 'trusted') });
    const trust = tp.iter.ptrs.get(arg);
    if (trust === undefined)
      throw new Rejection(pc, `${tp.name} arg${arg}: its ctx_arg_info is not modelled by bpfkit`);
    return ptrReg('btf_id', { btf: internBtfPtr(tp.btf, target.id, trust), nullable: true, id: newId() });
  }
  // A `__nullable` name makes the argument PTR_MAYBE_NULL (btf_ctx_access), but no vmlinux tracepoint of
  // Linux 6.18 has one to check that on.
  if (tp.argNames[arg]?.endsWith('__nullable'))
    throw new Rejection(pc, `${where(tp)} arg${arg}: a __nullable argument is not modelled by bpfkit`);
  if (!tp.nullArgs)
    throw new Rejection(
      pc,
      `${where(tp)} arg${arg}: whether the kernel marks it NULL-able (raw_tp_null_args) is not modelled by bpfkit (it carries Linux ${TP_NULL_SERIES}'s table only)`,
    );
  if (tp.unknownArgs?.includes(arg))
    throw new Rejection(
      pc,
      `${where(tp)} arg${arg}: the probe of Linux ${TP_NULL_SERIES} could not tell whether it may be NULL: not modelled by bpfkit`,
    );
  const btf = internBtfPtr(tp.btf, target.id, 'trusted');
  // A NULL-able one gets an id for its null check (trusted_ptr_or_null_).
  if (tp.nullArgs.includes(arg)) return ptrReg('btf_id', { btf, nullable: true, id: newId() });
  return ptrReg('btf_id', { btf });
}

/**
 * Structs whose pointer fields the kernel's allow lists (BTF_TYPE_SAFE_RCU, _RCU_OR_NULL, _TRUSTED,
 * _TRUSTED_OR_NULL in verifier.c) make trusted, RCU or NULL-able when walked from a trusted pointer: a
 * walk of a pointer field from one of these is not modelled (task_struct and sk_buff: only the fields
 * FIELDS_LISTED names).
 */
const SAFE_LISTED: ReadonlySet<string> = new Set([
  'cgroup',
  'css_set',
  'cgroup_subsys_state',
  'mm_struct',
  'request_sock',
  'linux_binprm',
  'file',
  'dentry',
  'socket',
  'vm_area_struct',
  'sock',
  'inode',
  'cred',
]);
const FIELDS_LISTED: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['task_struct', new Set(['cpus_ptr', 'cgroups', 'real_parent', 'group_leader', 'parent'])],
  ['sk_buff', new Set(['sk'])],
]);

/**
 * A load or store of `size` bytes at `off` through PTR_TO_BTF_ID `reg` (register `regno`):
 * check_ptr_to_btf_access with btf_struct_access, for a program that runs in an RCU read section
 * (tp_btf programs are never sleepable); `iter` for an iterator program's walks; `nextId` gives a pointer
 * that may be NULL its id (without it, such a load is not modelled); `outsideRcu` for a sleepable program
 * outside an RCU read section (the kernel's in_rcu_cs is false: sleepable-calls.ts).
 */
export function btfAccess(
  btf: Btf,
  gpl: boolean,
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  write: boolean,
  signed: boolean,
  iter = false,
  nextId?: () => number,
  outsideRcu = false,
): Reg {
  const p = reg.btf!;
  if (!gpl) throw new Rejection(pc, `Cannot access kernel 'struct ${p.name}' from non-GPL compatible program`);
  const total = reg.off + off;
  if (total < 0) throw new Rejection(pc, `R${regno} is ptr_${p.name} invalid negative access: off=${total}`);
  // check_ptr_to_btf_access: a pointer moved by a variable is read nowhere (any var_off but a known 0).
  if (reg.s.t.mask !== 0n || reg.s.t.value !== 0n)
    throw new Rejection(
      pc,
      `R${regno} is ptr_${p.name} invalid variable offset: off=${total}, var_off=${tstr(reg.s.t)}`,
    );
  if (write) throw new Rejection(pc, 'only read is supported');
  const walked = structWalk(btf, pc, p.id, total, size);
  // A helper reads more than 8 bytes at once (a task's comm): memory, not a register's worth.
  if (walked.kind === 'scalar') return size > 8 ? UNKNOWN_SCALAR : loadedScalar(size, signed);
  // Memory of no known size, read-only, untrusted: whatever the parent's trust (sk_buff->data reads as
  // rdonly_untrusted_mem(sz=0) from a trusted tp_btf skb, checked against Linux 6.18).
  if (walked.kind === 'mem') return ptrReg('untrusted_mem');
  // BTF_TYPE_SAFE_TRUSTED(struct bpf_iter_meta) { struct seq_file *seq; }: trusted, never NULL.
  if (p.trust === 'trusted' && p.name === 'bpf_iter_meta' && walked.field === 'seq' && !walked.untrusted)
    return ptrReg('btf_id', { btf: internBtfPtr(btf, walked.id, 'trusted') });
  // In an iterator, a trusted cgroup's kn is MEM_RCU (checked against Linux 6.18); the kernel's other RCU
  // fields are not carried. Outside an RCU read section (a sleepable iterator) it is not modelled below.
  if (iter && !outsideRcu && p.trust === 'trusted' && p.name === 'cgroup' && walked.field === 'kn' && !walked.untrusted)
    return ptrReg('btf_id', { btf: internBtfPtr(btf, walked.id, 'rcu') });
  // is_trusted_reg: a referenced pointer (a kfunc's acquired object, a kptr taken out by bpf_kptr_xchg) is
  // trusted whatever its flags, so its listed fields load as a trusted pointer's do (checked against Linux
  // 6.18 from sched_cls and tp_btf programs: test/verifier/kfunc-grammar.test.ts).
  const trusted = p.trust === 'trusted' || (p.trust === '' && reg.ref !== 0);
  // Outside an RCU read section the RCU lists give nothing: a trusted task's listed fields (all on
  // BTF_TYPE_SAFE_RCU) load untrusted, as any other walk does (checked against Linux 6.18 from a syscall
  // program: test/verifier/kfunc-grammar.test.ts). The other lists' structs stay not modelled below.
  if (outsideRcu && p.trust === 'rcu')
    throw new Rejection(pc, `R${regno} is an RCU pointer outside an RCU read section: bpfkit does not model it`);
  // The same holds for every field bpfkit knows of the RCU lists (none is on a trusted list, which would
  // stay trusted): a sleepable iterator's trusted cgroup gives an untrusted kn (checked against Linux 6.18:
  // test/verifier/sleepable-iter-cases.ts).
  if (
    outsideRcu &&
    trusted &&
    !walked.untrusted &&
    listedFieldTrust(p.name, walked.field, btf.types[walked.id]?.name ?? '')
  )
    return ptrReg('btf_id', { btf: internBtfPtr(btf, walked.id, 'untrusted') });
  if (outsideRcu && trusted && p.name === 'task_struct' && FIELDS_LISTED.get(p.name)?.has(walked.field))
    return ptrReg('btf_id', { btf: internBtfPtr(btf, walked.id, 'untrusted') });
  // The allow lists' fields bpfkit knows (trusted-fields.ts), from a trusted or RCU pointer outside iterators.
  if (!outsideRcu && !iter && !walked.untrusted && (trusted || p.trust === 'rcu')) {
    const listed = listedFieldTrust(p.name, walked.field, btf.types[walked.id]?.name ?? '');
    if (listed === 'rcu') return ptrReg('btf_id', { btf: internBtfPtr(btf, walked.id, 'rcu') });
    if (listed === 'rcu_or_null' && nextId)
      return ptrReg('btf_id', { btf: internBtfPtr(btf, walked.id, 'rcu'), nullable: true, id: nextId() });
    if (listed === 'unlisted') return ptrReg('btf_id', { btf: internBtfPtr(btf, walked.id, 'untrusted') });
  }
  // check_ptr_to_btf_access: the pointer a walk yields keeps an untrusted parent's mistrust; from a trusted
  // parent it is plain unless an allow list names the field (not modelled here); a union on the way makes
  // it untrusted. In an iterator program Linux 6.18 makes every such walk untrusted, from a trusted parent
  // (task->mm) or from a plain one whatever the lists say (file->f_inode): checked against the kernel in
  // test/verifier/iter.test.ts; a listed field of a trusted parent is still not modelled.
  if (
    (p.trust === 'trusted' || p.trust === 'rcu' || (p.trust === '' && !iter)) &&
    (SAFE_LISTED.has(p.name) || FIELDS_LISTED.get(p.name)?.has(walked.field))
  )
    throw new Rejection(
      pc,
      `R${regno} loads ${p.name}->${walked.field}: the kernel's trusted/RCU field lists are not modelled by bpfkit`,
    );
  // Linux 6.18 makes every walk bpfkit models untrusted, not only in iterators: from a trusted tp_btf task
  // (task->signal) and from a plain pointer (a bpf_skc_to_tcp_sock result's sk_socket), checked against
  // the kernel in test/verifier/btfargs-cases.ts; 6.12's plain PTR_TO_BTF_ID result is gone.
  return ptrReg('btf_id', { btf: internBtfPtr(btf, walked.id, 'untrusted') });
}

type Walked = { kind: 'scalar' } | { kind: 'mem' } | { kind: 'ptr'; id: number; field: string; untrusted: boolean };

/** btf_struct_walk (and btf_struct_access's loop over nested structs): what `size` bytes at `off` are. */
function structWalk(btf: Btf, pc: number, id: number, off: number, size: number): Walked {
  let untrusted = false;
  let t = skipMods(btf, id).t;
  for (let depth = 0; depth < 64; depth++) {
    if (!isStruct(t)) throw new Rejection(pc, `Type '${t?.name ?? ''}' is not a struct`);
    const st = t!;
    // __btf_name_by_offset names an anonymous struct "(anon)" in the kernel's messages.
    const tname = st.name || '(anon)';
    const members = st.members;
    // walking unions yields untrusted pointers, but for unions of one member
    if (st.kind === BtfKind.UNION && members.length !== 1) untrusted = true;
    if (off + size > st.sizeOrType) {
      // Past the end: allowed into a flexible array that ends the struct (an int one reads as scalars, a
      // struct one wraps around its element).
      const beyond = () => new Rejection(pc, `access beyond struct ${tname} at off ${off} size ${size}`);
      const last = members[members.length - 1];
      const lt = last ? skipMods(btf, last.type).t : undefined;
      if (!last || lt?.kind !== BtfKind.ARRAY || lt.array!.nelems !== 0) throw beyond();
      const moff = Math.floor(last.offset / 8);
      if (off < moff) throw beyond();
      const elem = skipMods(btf, lt.array!.type).t;
      if (elem?.kind === BtfKind.INT) return { kind: 'scalar' };
      if (!isStruct(elem)) throw beyond();
      off = (off - moff) % elem!.sizeOrType;
      t = elem;
      continue;
    }
    let next: { t: BtfType; off: number } | undefined;
    for (const m of members) {
      const moff0 = Math.floor(m.offset / 8);
      if (off + size <= moff0) break;
      if (st.kindFlag && m.size) {
        const endBit = m.offset + m.size;
        if (off <= moff0 && Math.ceil(endBit / 8) <= off + size) return { kind: 'scalar' };
        continue;
      }
      if (off < moff0) break;
      const r = resolveSize(btf, m.type);
      if (!r) throw new Rejection(pc, `field ${m.name}: bpfkit cannot size it`);
      let moff = moff0;
      const mtrueEnd = moff + r.size;
      if (off >= mtrueEnd) continue;
      let mt = r.t;
      let msize = r.size;
      if (mt.kind === BtfKind.ARRAY) {
        if (moff === mtrueEnd) continue;
        msize = msize / r.nelems;
        moff += Math.floor((off - moff) / msize) * msize;
        mt = r.elem!;
      }
      if (isStruct(mt)) {
        next = { t: mt, off: off - moff };
        break;
      }
      if (mt.kind === BtfKind.PTR) {
        if (msize !== size || off !== moff)
          throw new Rejection(
            pc,
            `cannot access ptr member ${m.name} with moff ${moff} in struct ${tname} with off ${off} size ${size}`,
          );
        if (btf.types[mt.sizeOrType]?.kind === BtfKind.TYPE_TAG)
          throw new Rejection(
            pc,
            `field ${tname}.${m.name} is a type-tagged pointer (__rcu, __user...): bpfkit does not model it`,
          );
        const target = skipMods(btf, mt.sizeOrType);
        // Linux 6.18: a pointer to anything but a struct (char *, void *, a function) is untrusted memory.
        if (!isStruct(target.t)) return { kind: 'mem' };
        return { kind: 'ptr', id: target.id, field: m.name, untrusted };
      }
      if (off + size > mtrueEnd && !untrusted)
        throw new Rejection(
          pc,
          `access beyond the end of member ${m.name} (mend:${mtrueEnd}) in struct ${tname} with off ${off} size ${size}`,
        );
      if (mt.kind !== BtfKind.INT && mt.kind !== BtfKind.ENUM && mt.kind !== BtfKind.ENUM64)
        throw new Rejection(pc, `field ${tname}.${m.name} of kind ${mt.kind}: bpfkit does not model its load`);
      return { kind: 'scalar' };
    }
    if (!next) throw new Rejection(pc, `struct ${tname} doesn't have field at offset ${off}`);
    t = next.t;
    off = next.off;
  }
  throw new Rejection(pc, 'bpfkit: struct nesting too deep');
}

/**
 * __btf_resolve_size: a member's type with modifiers skipped, its size, and for (nested) arrays the
 * innermost element type and the element count of all dimensions.
 */
function resolveSize(
  btf: Btf,
  id: number,
): { t: BtfType; id: number; size: number; nelems: number; elem?: BtfType; elemId?: number } | undefined {
  const top = skipMods(btf, id);
  if (!top.t) return undefined;
  if (top.t.kind !== BtfKind.ARRAY) {
    const size =
      top.t.kind === BtfKind.PTR
        ? 8
        : top.t.kind === BtfKind.INT || top.t.kind === BtfKind.ENUM || top.t.kind === BtfKind.ENUM64 || isStruct(top.t)
          ? top.t.sizeOrType
          : -1;
    return size < 0 ? undefined : { t: top.t, id: top.id, size, nelems: 1 };
  }
  let nelems = 1;
  let cur = top;
  for (let hops = 0; cur.t?.kind === BtfKind.ARRAY && hops < 32; hops++) {
    nelems *= cur.t.array!.nelems;
    cur = skipMods(btf, cur.t.array!.type);
  }
  const e = cur.t;
  if (!e) return undefined;
  const esize =
    e.kind === BtfKind.PTR
      ? 8
      : e.kind === BtfKind.INT || e.kind === BtfKind.ENUM || e.kind === BtfKind.ENUM64 || isStruct(e)
        ? e.sizeOrType
        : -1;
  if (esize < 0) return undefined;
  return { t: top.t, id: top.id, size: esize * nelems, nelems, elem: e, elemId: cur.id };
}

/** What bpf_get_current_task_btf returns: PTR_TO_BTF_ID | PTR_TRUSTED of struct task_struct. */
export function currentTaskBtf(btf: Btf): Reg | undefined {
  const t = btf.byName('task_struct', BtfKind.STRUCT);
  return t && ptrReg('btf_id', { btf: internBtfPtr(btf, t.id, 'trusted') });
}
