/**
 * The program's own allocated objects and the graphs they are kept in (Linux 6.18's bpf_obj_new and the
 * list and rbtree kfuncs; verifier.c's check_kfunc_args for KF_ARG_PTR_TO_ALLOC_BTF_ID, LIST_HEAD/NODE
 * and RB_ROOT/NODE, __process_kf_arg_ptr_to_graph_root/node, check_reg_allocation_locked,
 * ref_convert_owning_non_owning).
 *
 * bpf_obj_new_impl gives an object of a struct of the program's BTF (PTR_TO_BTF_ID | MEM_ALLOC, the
 * register kind 'alloc'), maybe NULL, carrying a new reference that bpf_obj_drop_impl gives back or a
 * push into a list (bpf_list_push_front/back_impl) or a tree (bpf_rbtree_add_impl) hands to the graph.
 * A graph root (struct bpf_list_head, struct bpf_rb_root) lies in a map value, a global data section or an
 * allocated object, found through the BTF, with its `contains:STRUCT:NODE` decl tag naming what it holds;
 * every graph kfunc needs the bpf_spin_lock of the root's own allocation held. The pushed node becomes a
 * non-owning reference (no reference, NON_OWN_REF), valid until bpf_spin_unlock, which makes it unknown.
 * bpf_list_pop_front/back and bpf_rbtree_remove give back an owning reference that points at the node
 * member (off = the node's offset); bpf_rbtree_first a non-owning one. bpf_rbtree_add's `less` callback is
 * walked with two non-owning nodes, once, as its own path: it cannot change its caller's state (no stack
 * pointer reaches it, no helper and no lock call is allowed under the lock), so the kernel's loop of calls
 * converges on the first call.
 *
 * Refcounted objects (a struct bpf_refcount member: bpf_refcount_acquire, a node in a list and a tree at
 * once) are refcount.ts's; `__kptr` fields of the program's structs local-kptr.ts's.
 *
 * What bpfkit is not sure of is said to be not modelled: per-CPU objects, bpf_list_front/back and the
 * rbtree walkers, pointers at a variable or negative offset, graph calls inside callbacks, structs whose
 * special fields are not direct members, and loads or stores other than of scalar members.
 */
import { type Btf, type BtfType, BtfKind } from '../btf/index.js';
import type { Instruction } from '../isa/instruction.js';
import { type KernelField, kernelFields, mapFieldsUnsure } from './btf-fields.js';
import type { Next } from './calls.js';
import { type Env, newId } from './env.js';
import type { Kfunc } from './kfunc.js';
import { kfuncSetAllowed } from './kfunc-table.js';
import { Rejection } from './reject.js';
import { isConst, signedBits, unsignedBits } from './scalar.js';
import { tstr } from './tnum.js';
import {
  type AllocPtr,
  type VerifierMap,
  type Frame,
  type Reg,
  type State,
  NOT_INIT,
  UNKNOWN_SCALAR,
  cloneState,
  cur,
  forEachReg,
  kindText,
  ptrReg,
  scalarReg,
} from './state.js';

/** The kfuncs this file models (the graph API under the lock, and the allocation's new and drop). */
const GRAPH_API: ReadonlySet<string> = new Set([
  'bpf_list_push_front_impl',
  'bpf_list_push_back_impl',
  'bpf_list_pop_front',
  'bpf_list_pop_back',
  'bpf_rbtree_add_impl',
  'bpf_rbtree_remove',
  'bpf_rbtree_first',
  // is_bpf_graph_api_kfunc: bpf_refcount_acquire may be called under the lock too (refcount.ts models it).
  'bpf_refcount_acquire_impl',
]);

/** Kfuncs of this area bpfkit does not model: said so by name rather than left to kfunc.ts. */
const NOT_MODELLED: ReadonlySet<string> = new Set([
  'bpf_percpu_obj_new_impl',
  'bpf_percpu_obj_drop_impl',
  'bpf_list_front',
  'bpf_list_back',
  'bpf_rbtree_root',
  'bpf_rbtree_left',
  'bpf_rbtree_right',
]);

/** Does graph.ts take this kfunc call (kfunc.ts asks before its own table)? */
export const modelsGraph = (name: string): boolean =>
  GRAPH_API.has(name) || NOT_MODELLED.has(name) || name === 'bpf_obj_new_impl' || name === 'bpf_obj_drop_impl';

/**
 * What a held lock in an allocated object names (check_reg_allocation_locked): the kernel keeps the
 * program's BTF as the lock's owner for every allocated object, told apart by the register's id; this one
 * object stands for it (spin-lock.ts).
 */
export const ALLOC_OBJECTS: VerifierMap = {
  name: '(allocated objects)',
  type: 0,
  keySize: 0,
  valueSize: 0,
  maxEntries: 0,
  readOnly: false,
};

/** The marker of the rbtree `less` callback's frame (Frame.callback.helper): its exit ends its path (step.ts). */
export const RBTREE_LESS_CB = -1;

const interned = new WeakMap<Btf, Map<string, AllocPtr>>();
/** The BTF each interned AllocPtr was made from (for the member walk of loads and stores). */
const allocBtf = new WeakMap<AllocPtr, Btf>();

/** Does a struct's record hold a bpf_refcount (btf_record's refcount_off >= 0)? */
export const isRefcounted = (fields: readonly KernelField[]): boolean =>
  fields.some((f) => f.what === 'struct bpf_refcount');

/**
 * The one AllocPtr of a struct of the program's BTF, an ownership and MEM_RCU (ref_set_non_owning makes a
 * non-owning reference to a refcounted object MEM_RCU too, as it may outlive its graph).
 */
export function allocPtr(
  btf: Btf,
  id: number,
  fields: readonly KernelField[],
  nonOwning: boolean,
  rcu = nonOwning && isRefcounted(fields),
): AllocPtr {
  let byKey = interned.get(btf);
  if (!byKey) interned.set(btf, (byKey = new Map()));
  const key = `${id}/${nonOwning ? 1 : 0}/${rcu ? 1 : 0}`;
  let p = byKey.get(key);
  if (!p) {
    p = { id, name: btf.types[id]!.name, fields, nonOwning, ...(rcu ? { rcu } : {}) };
    byKey.set(key, p);
    allocBtf.set(p, btf);
  }
  return p;
}

/** The special structs btf_parse_struct_metas looks for among a struct's direct members. */
const META_FIELDS: ReadonlySet<string> = new Set([
  'bpf_spin_lock',
  'bpf_list_head',
  'bpf_list_node',
  'bpf_rb_root',
  'bpf_rb_node',
  'bpf_refcount',
]);

/**
 * The kernel-managed fields of an allocated struct (its btf_struct_meta's record), or why bpfkit is not
 * sure of them: only special structs that are direct members are modelled (the kernel builds a record
 * only then), and of kptrs only `__kptr` ones of the program's own structs (local-kptr.ts): one of a kernel
 * struct needs a destructor kfunc the kernel knows, or the whole BTF is refused (btf_parse_kptr), and
 * bpfkit does not carry that list. `kernelBtf` tells the two apart; without it no kptr is modelled.
 */
export function allocFields(btf: Btf, id: number, kernelBtf: Btf | undefined): KernelField[] | string {
  const t = btf.types[id]!;
  const fields = kernelFields(btf, id);
  const unsure = mapFieldsUnsure(fields);
  if (unsure) return unsure;
  // btf_parse_fields: a node of a list and a tree at once needs a bpf_refcount, else the program's BTF
  // is refused (and a loader may load the program without it).
  const has = (what: string) => fields.some((f) => f.what === what);
  if (has('struct bpf_list_node') && has('struct bpf_rb_node') && !isRefcounted(fields))
    return 'both a bpf_list_node and a bpf_rb_node without a bpf_refcount';
  for (const f of fields) {
    if (f.what === '__kptr' && f.target && kernelBtf && !kernelBtf.byName(f.target, BtfKind.STRUCT)) continue;
    if (f.what === '__kptr') return `a __kptr field of struct ${f.target ?? '(unknown)'}`;
    if (f.what.startsWith('__')) return `a ${f.what} field`;
    const direct = t.members.some((m) => {
      const mt = btf.types[m.type];
      return m.offset === f.off * 8 && mt?.kind === BtfKind.STRUCT && META_FIELDS.has(mt.name);
    });
    if (!direct) return `a ${f.what} that is no direct member of struct ${t.name}`;
  }
  return fields;
}

/** A graph root's contents resolved (btf_parse_graph_root): the node struct, its fields and the node's offset. */
interface Contained {
  id: number;
  name: string;
  fields: readonly KernelField[];
  nodeOff: number;
}

/** `contains:STRUCT:NODE` of a root field in `btf`, resolved; a reason when bpfkit cannot. */
function containedOf(btf: Btf, root: KernelField, kernelBtf: Btf | undefined): Contained | string {
  const c = root.contains;
  if (!c) return `a ${root.what} without a contains: tag bpfkit reads`;
  const t = btf.byName(c.struct, BtfKind.STRUCT);
  if (!t) return `struct ${c.struct} of a contains: tag`;
  const m = t.members.find((x) => x.name === c.node);
  const mt = m && btf.types[m.type];
  const want = root.what === 'struct bpf_list_head' ? 'bpf_list_node' : 'bpf_rb_node';
  if (!m || mt?.kind !== BtfKind.STRUCT || mt.name !== want || m.offset % 8)
    return `node ${c.node} of struct ${c.struct} in a contains: tag`;
  const fields = allocFields(btf, t.id, kernelBtf);
  if (typeof fields === 'string') return `struct ${c.struct}: ${fields}`;
  return { id: t.id, name: t.name, fields, nodeOff: m.offset / 8 };
}

const isNullConst = (r: Reg): boolean => r.kind === 'scalar' && isConst(r.s) && r.s.t.value === 0n;

/** What every graph kfunc's call checks first, and what its handler needs. */
interface Prelude {
  btf: Btf;
  notModelled: (what: string) => Rejection;
  inLess: boolean;
}

/**
 * The checks before a graph kfunc's arguments (do_check's lock rule, the kfunc set, callbacks); also
 * refcount.ts's for bpf_refcount_acquire.
 */
export function graphPrelude(env: Env, st: State, pc: number, k: Kfunc): Prelude {
  const notModelled = (what: string) =>
    new Rejection(pc, `kfunc ${k.name} (btf_id ${k.id}): bpfkit does not model ${what}`);
  if (NOT_MODELLED.has(k.name)) throw notModelled('this kernel function');
  const btf = env.progBtf;
  if (!btf) throw notModelled("a graph kfunc without the program's BTF");
  if (env.sleepable) throw notModelled('a kfunc call in a sleepable program');
  // do_check, before the call is looked at: under a lock only the graph API is called.
  if (st.lock && !GRAPH_API.has(k.name)) throw new Rejection(pc, 'function calls are not allowed while holding a lock');
  if (!kfuncSetAllowed('generic', env.progType))
    throw new Rejection(pc, `calling kernel function ${k.name} is not allowed`);
  // bpf_rbtree_add's `less` runs under its caller's lock and may call the graph kfuncs (but remove);
  // other callbacks, and functions `less` calls, are not modelled.
  const inLess = cur(st).callback?.helper === RBTREE_LESS_CB;
  if (st.frames.some((f) => f.callback) && !inLess) throw notModelled('a graph kfunc inside a callback');
  return { btf, notModelled, inLess };
}

/** A graph kfunc's call (kfunc.ts hands it over after resolving the function). */
export function graphKfuncCall(env: Env, st: State, insn: Instruction, k: Kfunc): Next[] {
  const pc = insn.pc;
  const { btf, notModelled, inLess } = graphPrelude(env, st, pc, k);
  const f = cur(st);
  const regs = f.regs;
  let r0: Reg = UNKNOWN_SCALAR;
  const next: Next[] = [];
  switch (k.name) {
    case 'bpf_obj_new_impl':
      r0 = objNew(env, st, pc, btf, regs[1]!, notModelled);
      break;
    case 'bpf_obj_drop_impl':
      objDrop(st, pc, regs[1]!, notModelled);
      r0 = NOT_INIT;
      break;
    case 'bpf_list_push_front_impl':
    case 'bpf_list_push_back_impl':
    case 'bpf_rbtree_add_impl': {
      const list = k.name !== 'bpf_rbtree_add_impl';
      const root = rootArg(env, st, pc, btf, list, notModelled);
      const node = regs[2]!;
      nodeArg(pc, node, root, list, notModelled);
      const offReg = regs[list ? 4 : 5]!;
      if (offReg.kind !== 'scalar') throw new Rejection(pc, `R${list ? 4 : 5} is not a scalar`);
      if (!list) next.push(lessCallback(st, pc, regs[3]!, btf, root, notModelled));
      toNonOwning(btf, st, node.ref);
      break;
    }
    case 'bpf_list_pop_front':
    case 'bpf_list_pop_back':
    case 'bpf_rbtree_first': {
      const root = rootArg(env, st, pc, btf, k.name !== 'bpf_rbtree_first', notModelled);
      r0 = graphNode(btf, root, k.name === 'bpf_rbtree_first');
      r0 = { ...r0, nullable: true, id: newId(env) };
      if (k.name !== 'bpf_rbtree_first') r0 = acquire(st, pc, r0);
      break;
    }
    case 'bpf_rbtree_remove': {
      const root = rootArg(env, st, pc, btf, false, notModelled);
      const node = regs[2]!;
      if (isNullConst(node) || node.nullable) throw new Rejection(pc, 'Possibly NULL pointer passed to trusted arg1');
      // A number (a node made unknown by bpf_spin_unlock) is refused. Linux 6.18 also takes an owning
      // reference (one with its own reference, "refcounted" in its words), which keeps that reference:
      // the node may not be in the tree, and the call's result is a second, maybe-NULL owner of it.
      if (node.kind === 'scalar')
        throw new Rejection(pc, 'bpf_rbtree_remove can only take non-owning or refcounted bpf_rb_node pointer');
      if (node.kind !== 'alloc' || (!node.alloc!.nonOwning && !node.ref))
        throw notModelled(`argument 1 as ${node.kind === 'alloc' ? 'an object without a reference' : node.kind}`);
      allocOff(pc, 2, node);
      // is_rbtree_lock_required_kfunc: the tree is being changed under `less`.
      if (inLess) throw new Rejection(pc, 'bpf_rbtree_remove not allowed in rbtree cb');
      nodeField(pc, node, root, false);
      r0 = acquire(st, pc, { ...graphNode(btf, root, false), nullable: true, id: newId(env) });
      break;
    }
    default:
      // (bpf_refcount_acquire_impl is refcount.ts's, which kfunc.ts asks first.)
      throw notModelled('this kernel function here');
  }
  for (let r = 1; r <= 5; r++) regs[r] = NOT_INIT;
  regs[0] = r0;
  return [{ pc: pc + 1, st }, ...next];
}

/** A new reference for r0, which becomes its NULL check's id too (acquire_reference_state). */
function acquire(st: State, pc: number, r0: Reg): Reg {
  st.refs.set(r0.id, pc);
  return { ...r0, ref: r0.id };
}

/** bpf_obj_new_impl: the local type id in r1 must name a struct of the program's BTF (check_kfunc_call). */
function objNew(env: Env, st: State, pc: number, btf: Btf, r1: Reg, notModelled: (w: string) => Rejection): Reg {
  if (r1.kind !== 'scalar') throw new Rejection(pc, 'R1 is not a scalar');
  if (!isConst(r1.s)) throw new Rejection(pc, 'R1 must be a known constant');
  env.precision?.mark(1);
  const v = r1.s.t.value;
  if (v > 0xffffffffn) throw new Rejection(pc, 'local type ID argument must be in range [0, U32_MAX]');
  const id = Number(v);
  const t: BtfType | undefined = btf.types[id];
  if (!t || t.kind !== BtfKind.STRUCT)
    throw new Rejection(pc, 'bpf_obj_new/bpf_percpu_obj_new type ID argument must be of a struct');
  const fields = allocFields(btf, id, env.kernelBtf);
  if (typeof fields === 'string') throw notModelled(`struct ${t.name} with ${fields}`);
  const r0 = ptrReg('alloc', { alloc: allocPtr(btf, id, fields, false), nullable: true, id: newId(env) });
  return acquire(st, pc, r0);
}

/** bpf_obj_drop_impl (KF_RELEASE): an owning reference at offset 0, which every copy of it loses. */
function objDrop(st: State, pc: number, r1: Reg, notModelled: (w: string) => Rejection): void {
  // A release function's arguments are trusted: never NULL.
  if (isNullConst(r1) || r1.nullable) throw new Rejection(pc, 'Possibly NULL pointer passed to trusted arg0');
  // is_trusted_reg: MEM_RCU (a loaded local kptr, local-kptr.ts) is no trusted modifier, and it has no reference.
  if (r1.kind === 'alloc' && r1.alloc!.rcu && !r1.ref) throw new Rejection(pc, 'R1 must be referenced or trusted');
  if (r1.kind !== 'alloc' || r1.alloc!.nonOwning)
    throw notModelled(`argument 0 as ${r1.kind}${r1.alloc?.nonOwning ? ' (non-owning)' : ''}`);
  if (!r1.ref) throw notModelled('argument 0 without a reference');
  if (r1.off !== 0)
    throw new Rejection(pc, 'R1 must have zero offset when passed to release func or trusted arg to kfunc');
  if (!isConst(r1.s) || r1.s.t.value !== 0n) throw notModelled('argument 0 at a variable offset');
  const ref = r1.ref;
  st.refs.delete(ref);
  forEachReg(st, (r) => (r.ref === ref ? UNKNOWN_SCALAR : r));
}

/** A graph root argument (r1) found and checked: the root field, its contents, the record's lock. */
interface Root {
  field: KernelField;
  contained: Contained;
}

/**
 * KF_ARG_PTR_TO_LIST_HEAD / RB_ROOT: a map value or an owning allocated object, the root at a constant
 * offset, and the lock of the same allocation held (__process_kf_arg_ptr_to_graph_root).
 */
function rootArg(
  env: Env,
  st: State,
  pc: number,
  btf: Btf,
  list: boolean,
  notModelled: (w: string) => Rejection,
): Root {
  const reg = cur(st).regs[1]!;
  const name = list ? 'bpf_list_head' : 'bpf_rb_root';
  if (reg.nullable || isNullConst(reg)) throw notModelled('a root argument that may be NULL');
  if (reg.kind !== 'map_value' && reg.kind !== 'alloc') throw notModelled(`argument 0 as ${reg.kind}`);
  if (reg.kind === 'alloc') {
    allocOff(pc, 1, reg);
    if (reg.alloc!.nonOwning) throw notModelled('a root in a non-owning reference');
    if (!reg.ref) throw notModelled('a root in an object without a reference');
  }
  if (!isConst(reg.s))
    throw new Rejection(pc, `R1 doesn't have constant offset. ${name} has to be at the constant offset`);
  const off = reg.off + Number(reg.s.t.value);
  const fields = reg.kind === 'alloc' ? reg.alloc!.fields : reg.map?.kernelFields;
  if (!fields) throw notModelled(`a ${name} in a map whose BTF bpfkit does not read`);
  const field = fields.find((x) => x.what === `struct ${name}` && x.off === off);
  if (!field) throw new Rejection(pc, `${name} not found at offset=${off}`);
  const contained = containedOf(btf, field, env.kernelBtf);
  if (typeof contained === 'string') throw notModelled(contained);
  const lock = fields.find((x) => x.what === 'struct bpf_spin_lock');
  if (!lock) throw notModelled(`a ${name} without a bpf_spin_lock beside it`);
  const owner = reg.kind === 'alloc' ? ALLOC_OBJECTS : reg.map;
  if (!st.lock || st.lock.map !== owner || st.lock.id !== reg.id)
    throw new Rejection(pc, `bpf_spin_lock at off=${lock.off} must be held for ${name}`);
  return { field, contained };
}

/**
 * KF_ARG_PTR_TO_LIST_NODE / RB_NODE of a push or add (r2): an owning allocated object, never NULL, whose
 * node member at the pointer's offset is the one the root's contains: tag names.
 */
function nodeArg(pc: number, node: Reg, root: Root, list: boolean, notModelled: (w: string) => Rejection): void {
  // Linux 6.18 refuses a node that may be NULL as a trusted argument's (checked with bpf_rbtree_add).
  if (isNullConst(node) || node.nullable) throw new Rejection(pc, 'Possibly NULL pointer passed to trusted arg1');
  if (node.kind !== 'alloc') throw notModelled(`argument 1 as ${node.kind}`);
  allocOff(pc, 2, node);
  if (node.alloc!.nonOwning) throw new Rejection(pc, 'arg#1 expected pointer to allocated object');
  if (!node.ref) throw notModelled('argument 1 without a reference');
  nodeField(pc, node, root, list);
}

/** __process_kf_arg_ptr_to_graph_node: the node field at the register's offset, of the root's struct. */
function nodeField(pc: number, node: Reg, root: Root, list: boolean): void {
  allocOff(pc, 2, node);
  const name = list ? 'bpf_list_node' : 'bpf_rb_node';
  const off = node.off;
  if (!node.alloc!.fields.some((x) => x.what === `struct ${name}` && x.off === off))
    throw new Rejection(pc, `${name} not found at offset=${off}`);
  const c = root.contained;
  const head = list ? 'bpf_list_head' : 'bpf_rb_root';
  if (node.alloc!.id !== c.id)
    throw new Rejection(
      pc,
      `operation on ${head} expects arg#1 ${name} at offset=${c.nodeOff} in struct ${c.name}, but arg is at offset=${off} in struct ${node.alloc!.name}`,
    );
  if (off !== c.nodeOff)
    throw new Rejection(pc, `arg#1 offset=${off}, but expected ${name} at offset=${c.nodeOff} in struct ${c.name}`);
}

/**
 * check_func_arg_reg_off (__check_ptr_off_reg with a fixed offset allowed) for an allocated object given
 * to a graph kfunc: its fixed offset not negative, its variable part a known zero.
 */
function allocOff(pc: number, regno: number, reg: Reg): void {
  if (reg.off < 0) throw new Rejection(pc, `negative offset ${kindText(reg)} ptr R${regno} off=${reg.off} disallowed`);
  if (!isConst(reg.s) || reg.s.t.value !== 0n)
    throw new Rejection(pc, `variable ${kindText(reg)} access var_off=${tstr(reg.s.t)} disallowed`);
}

/** mark_reg_graph_node: a pointer to the node member of the root's struct (owning, or non-owning). */
function graphNode(btf: Btf, root: Root, nonOwning: boolean): Reg {
  const c = root.contained;
  return ptrReg('alloc', { alloc: allocPtr(btf, c.id, c.fields, nonOwning), off: c.nodeOff });
}

/**
 * ref_convert_owning_non_owning, then the reference's release: every copy of the pushed object becomes a
 * non-owning reference (no reference), valid until the lock is given back.
 */
function toNonOwning(btf: Btf, st: State, ref: number): void {
  st.refs.delete(ref);
  forEachReg(st, (r) =>
    r.ref === ref && r.kind === 'alloc'
      ? { ...r, ref: 0, alloc: allocPtr(btf, r.alloc!.id, r.alloc!.fields, true) }
      : r.ref === ref
        ? UNKNOWN_SCALAR
        : r,
  );
}

/**
 * bpf_rbtree_add_impl's `less` (r3), walked from the call with r1 and r2 two non-owning nodes of the
 * root's struct and the caller's lock held (set_rbtree_add_callback_state); it returns 0 or 1.
 */
function lessCallback(
  st: State,
  pc: number,
  cb: Reg,
  btf: Btf,
  root: Root,
  notModelled: (w: string) => Rejection,
): Next {
  if (cb.kind !== 'func') throw notModelled(`argument 2 as ${cb.kind}`);
  // (MAX_CALL_FRAMES: the kernel refuses a callback one frame too deep, which bpfkit does not word.)
  if (st.frames.length >= 8) throw notModelled('a less callback eight frames deep');
  const inside = cloneState(st);
  const node = graphNode(btf, root, true);
  const regs = new Array<Reg>(11).fill(NOT_INIT);
  regs[1] = node;
  regs[2] = node;
  regs[10] = ptrReg('fp', { frame: inside.frames.length });
  const fr: Frame = { regs, stack: new Map(), callsite: pc, subprog: cb.target };
  fr.callback = { helper: RBTREE_LESS_CB, retMin: 0n, retMax: 1n };
  inside.frames.push(fr);
  return { pc: cb.target, st: inside };
}

/**
 * A load or store through an allocated object (check_ptr_to_btf_access, then btf_struct_access on the
 * program's BTF): never into a special field ("direct access to ... is disallowed"), and, modelled, only
 * within one scalar member (of the struct or a struct in it); a load gives a scalar of the access's size.
 */
export function allocAccess(
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  write: boolean,
  value: Reg | undefined,
  signed: boolean,
  atomic: boolean,
): Reg {
  const a = reg.alloc!;
  const notModelled = (what: string) =>
    new Rejection(
      pc,
      `R${regno} ${write ? 'store into' : 'load from'} struct ${a.name} ${what}: bpfkit does not model it`,
    );
  if (!isConst(reg.s) || reg.s.t.value !== 0n) throw notModelled('at a variable offset');
  const at = reg.off + off;
  if (at < 0) throw notModelled('at a negative offset');
  for (const f of a.fields) {
    if (at < f.off + f.size && f.off < at + size)
      throw new Rejection(
        pc,
        `direct access to ${f.what === '__kptr' ? 'kptr' : f.what.replace(/^struct /, '')} is disallowed`,
      );
  }
  // btf_struct_walk: past the struct's end, unless it ends with a flexible array (not modelled).
  const btf = allocBtf.get(a)!;
  const t = btf.types[a.id]!;
  if (at + size > t.sizeOrType) {
    const last = t.members[t.members.length - 1];
    const lt = last && skipQuals(btf, last.type);
    if (lt?.kind === BtfKind.ARRAY && lt.array!.nelems === 0) throw notModelled('past its end (a flexible array)');
    throw new Rejection(pc, `access beyond struct ${a.name} at off ${at} size ${size}`);
  }
  if (atomic) throw notModelled('by an atomic instruction');
  if (write && value?.kind !== 'scalar') throw notModelled('of a pointer');
  if (!withinScalarMember(reg, at, size)) throw notModelled(`at off ${at} size ${size}`);
  if (write) return NOT_INIT;
  return size === 8 ? UNKNOWN_SCALAR : scalarReg(signed ? signedBits(size * 8) : unsignedBits(size * 8));
}

/** Does [off, off+size) lie within one integer member (or one element of an array of integers)? */
function withinScalarMember(reg: Reg, off: number, size: number): boolean {
  const btf = allocBtf.get(reg.alloc!);
  if (!btf) return false;
  let t: BtfType | undefined = btf.types[reg.alloc!.id];
  for (let depth = 0; depth < 8 && t?.kind === BtfKind.STRUCT; depth++) {
    const m = t.members.find((x) => {
      const start = x.offset / 8;
      return !x.size && x.offset % 8 === 0 && start <= off && off < start + btf.sizeOf(x.type);
    });
    if (!m) return false;
    const start = m.offset / 8;
    off -= start;
    let mt = skipQuals(btf, m.type);
    if (mt?.kind === BtfKind.ARRAY) {
      const elem = btf.sizeOf(mt.array!.type);
      if (!elem) return false;
      off %= elem;
      mt = skipQuals(btf, mt.array!.type);
    }
    // (A pointer member loads as something else than a scalar on Linux 6.18: not modelled.)
    if (mt?.kind === BtfKind.INT || mt?.kind === BtfKind.ENUM) return off + size <= mt.sizeOrType;
    t = mt;
  }
  return false;
}

const QUALS: ReadonlySet<number> = new Set([BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT]);

/** The type under typedefs and qualifiers (bounded: a hostile chain must not loop). */
function skipQuals(btf: Btf, id: number): BtfType | undefined {
  let t = btf.types[id];
  for (let i = 0; i < 32 && t && QUALS.has(t.kind); i++) t = btf.types[t.sizeOrType];
  return t;
}
