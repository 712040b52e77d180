/**
 * The abstract machine state the verifier walks with: registers typed as the kernel types them, the stack
 * of each call frame byte by byte, and the references a path holds (ring buffer records, sockets). Registers and
 * stack slots are immutable values, so copying a state for a branch copies arrays of references only.
 */
import type { KernelField } from './btf-fields.js';
import { type Scalar, UNKNOWN, known, scalarText, isConst } from './scalar.js';

/** What a register holds, with the kernel's names (reg_type_str). */
export type RegKind =
  | 'not_init'
  | 'scalar'
  | 'ctx'
  | 'fp'
  | 'map_ptr'
  | 'map_value'
  | 'map_key'
  | 'pkt'
  | 'pkt_meta'
  | 'pkt_end'
  | 'mem'
  | 'func'
  | 'sock_common'
  | 'sock'
  | 'tcp_sock'
  | 'btf_id'
  /** PTR_TO_FLOW_KEYS: a flow dissector's struct bpf_flow_keys (__sk_buff->flow_keys). */
  | 'flow_keys'
  /** PTR_TO_TP_BUFFER: a writable raw tracepoint's buffer (its first argument). */
  | 'tp_buffer'
  /** CONST_PTR_TO_DYNPTR: a callback's pointer to a dynptr it may read but not change (dynptr.ts). */
  | 'dynptr_ptr'
  /** PTR_TO_BTF_ID | MEM_ALLOC: an object of the program's own struct from bpf_obj_new (graph.ts). */
  | 'alloc'
  /**
   * PTR_TO_MEM | MEM_RDONLY | PTR_UNTRUSTED (Linux 6.18): memory of no known size that a BTF pointer field
   * to a non-struct (`sk_buff->data`) or `bpf_rdonly_cast(p, 0)` gives; read at any offset through probe
   * loads, never written, moved by any 64-bit arithmetic (memory.ts `access`, alu.ts `pointerAlu`).
   */
  | 'untrusted_mem'
  /** PTR_TO_XDP_SOCK: what an XSKMAP lookup finds, a struct bpf_xdp_sock (sock-ptr.ts). */
  | 'xdp_sock';

/**
 * A PTR_TO_BTF_ID's kernel struct and trust (btf-ptr.ts): `trusted` for a tp_btf argument, `untrusted`
 * after a walk through a union, '' for the plain pointer a walk yields otherwise. One object per
 * (struct, trust), so registers compare them by identity.
 */
export interface BtfPtr {
  readonly id: number;
  readonly name: string;
  /** PTR_TRUSTED, PTR_UNTRUSTED, MEM_RCU (`rcu_ptr_`), or none of them (a plain `ptr_`). */
  readonly trust: 'trusted' | 'untrusted' | 'rcu' | '';
}

/**
 * An allocated object's struct in the program's BTF (graph.ts), its kernel-managed fields, and whether the
 * pointer is a non-owning reference (NON_OWN_REF: the object was pushed into a list or tree under the lock
 * held). One object per (struct, ownership, RCU), so registers compare them by identity.
 */
export interface AllocPtr {
  readonly id: number;
  readonly name: string;
  readonly fields: readonly KernelField[];
  readonly nonOwning: boolean;
  /**
   * MEM_RCU (refcount.ts, local-kptr.ts): a non-owning reference to a refcounted object, or a kptr of the
   * program's own struct loaded from a map value; it prints as `rcu_ptr_`.
   */
  readonly rcu?: boolean;
}

/** A map as the verifier needs it: type, sizes and whether programs may write its values. */
export interface VerifierMap {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_RDONLY_PROG or a frozen global-data map (.rodata). */
  readOnly: boolean;
  /** BPF_F_WRONLY_PROG: the program may write the values, never read them. */
  writeOnly?: boolean;
  /**
   * A read-only array frozen before the program loads (.rodata): its one value, which the kernel reads at
   * a constant offset as a known constant (bpf_map_direct_read).
   */
  frozenValue?: Uint8Array;
  /** Fields of the value the kernel manages itself (spin locks, timers, kptrs...), from the map's BTF. */
  kernelFields?: readonly KernelField[];
  /** Maps of maps: the inner map's template (a lookup returns a pointer to such a map). */
  inner?: VerifierMap;
}

/** How a linked scalar was made K apart from its group: not (0), by a 64-bit or by a 32-bit addition. */
export type AddConst = 0 | 32 | 64;

/** One register. For pointers, `s` is the variable part of the offset and `off` the fixed part. */
export interface Reg {
  readonly kind: RegKind;
  readonly s: Scalar;
  readonly off: number;
  /** Null-check, packet-range or linked-scalar id (0 = none). */
  readonly id: number;
  readonly nullable: boolean;
  /** Packet pointers: bytes past the pointer proven to lie before data_end. */
  readonly range: number;
  readonly map?: VerifierMap;
  /** fp: the call frame the stack pointer points into. */
  readonly frame: number;
  /** mem: bytes the pointer may reach. */
  readonly size: number;
  /** Reference this pointer carries (a ring buffer record, a socket), 0 = none. */
  readonly ref: number;
  /** func: the callback's first instruction (slot). */
  readonly target: number;
  /**
   * Scalars in remembered states: a later instruction relied on the exact value (precision.ts), so pruning
   * compares it by range. Imprecise scalars match any scalar.
   */
  readonly precise: boolean;
  /**
   * Scalars: `rX += K` (or `-= K`) of a linked scalar keeps the link (the kernel's BPF_ADD_CONST): the
   * register holds its group's value plus `off`, and a compare on any member teaches the others shifted
   * by the difference. Only one such addition: a second one unlinks. 64 for a 64-bit addition
   * (BPF_ADD_CONST64), 32 for a 32-bit one (BPF_ADD_CONST32: the sum wraps at 2^32), 0 for none.
   */
  readonly addConst: AddConst;
  /** btf_id: the kernel struct pointed to, and its trust. */
  readonly btf?: BtfPtr;
  /** mem: MEM_RDONLY (an iterator's element, iter-kfunc.ts): loads only. Absent is writable. */
  readonly rdonly?: boolean;
  /** mem: the id of the dynptr this slice of it came from (bpf_dynptr_data), which it dies with. */
  readonly dynptr?: number;
  /** mem: a slice made by the bpf_dynptr_slice kfuncs (dynptr-kfunc.ts): what invalidates it. */
  readonly slice?: DynptrSlice;
  /** alloc: the allocated object's struct and ownership (graph.ts). */
  readonly alloc?: AllocPtr;
}

/**
 * What a bpf_dynptr_slice(_rdwr) result dies with (dynptr-kfunc.ts): packet data moving, when its dynptr
 * is an skb or xdp one (DYNPTR_TYPE_SKB / _XDP on the PTR_TO_MEM), and a store into the stack buffer it
 * was given (frame, bytes [lo, hi) as offsets from that frame's fp; frame -1: no stack buffer).
 */
export interface DynptrSlice {
  readonly pkt: boolean;
  readonly frame: number;
  readonly lo: number;
  readonly hi: number;
}

const BASE: Reg = {
  kind: 'not_init',
  s: UNKNOWN,
  off: 0,
  id: 0,
  nullable: false,
  range: 0,
  frame: 0,
  size: 0,
  ref: 0,
  target: 0,
  precise: false,
  addConst: 0,
};

/** An uninitialized register. */
export const NOT_INIT: Reg = BASE;
/** A scalar with nothing known. */
export const UNKNOWN_SCALAR: Reg = { ...BASE, kind: 'scalar' };
/** A scalar register of the given value. */
export const scalarReg = (s: Scalar): Reg => ({ ...BASE, kind: 'scalar', s });
/** A known constant. */
export const constReg = (v: bigint): Reg => scalarReg(known(v));
/** A pointer of a kind with fixed offset 0 and no variable part, plus the given fields. */
export const ptrReg = (kind: RegKind, fields: Partial<Reg> = {}): Reg => ({ ...BASE, kind, s: known(0n), ...fields });

/** Is this register a pointer (anything but scalar and not_init)? */
export const isPointer = (r: Reg): boolean => r.kind !== 'scalar' && r.kind !== 'not_init';

/** The kernel's name of a register's type, e.g. 'scalar', 'map_value_or_null', 'fp'. */
export function kindText(r: Reg): string {
  // reg_type_str: the trust prefix, `ptr_`, then `or_null_` (the struct's name follows in state dumps only).
  // An allocated object prints as a plain BTF pointer (reg_type_str has no prefix for MEM_ALLOC).
  if (r.kind === 'alloc') return `${r.alloc?.rcu ? 'rcu_' : ''}ptr_${r.nullable ? 'or_null_' : ''}`;
  if (r.kind === 'untrusted_mem') return 'rdonly_untrusted_mem';
  if (r.kind === 'btf_id') return `${r.btf?.trust ? `${r.btf.trust}_` : ''}ptr_${r.nullable ? 'or_null_' : ''}`;
  if (r.kind === 'mem' && r.rdonly) return r.nullable ? 'rdonly_mem_or_null' : 'rdonly_mem';
  if (r.kind === 'mem' && r.ref && !r.dynptr && !r.slice) return r.nullable ? 'ringbuf_mem_or_null' : 'ringbuf_mem';
  return r.nullable ? `${r.kind}_or_null` : r.kind;
}

/**
 * Byte types of a stack slot (the kernel's STACK_INVALID, STACK_MISC, STACK_ZERO, STACK_SPILL,
 * STACK_DYNPTR).
 */
export const enum ByteType {
  Invalid = 0,
  Misc = 1,
  Zero = 2,
  Spill = 3,
  /** STACK_ITER: part of an open-coded iterator (the slot's `iter` says which). */
  Iter = 4,
  /** STACK_DYNPTR: part of a struct bpf_dynptr (the slot's `dynptr` says which). */
  Dynptr = 5,
}

/**
 * One of the two slots of a struct bpf_dynptr on the stack (dynptr.ts): its type, whether it is the
 * first slot (the lower address), the dynptr's id (its slices carry it) and the reference a ring buffer
 * dynptr holds (0 for a local one).
 */
export interface DynptrSlot {
  readonly type: 'local' | 'ringbuf' | 'skb' | 'xdp' | 'skb_meta';
  readonly first: boolean;
  readonly id: number;
  readonly ref: number;
}

/**
 * An open-coded iterator's stack slot (iter-kfunc.ts, the kernel's STACK_ITER slot and its spilled_ptr.iter):
 * the iterator struct, which of its 8-byte slots this is (0: the lowest address, which carries the
 * reference), the reference its _new acquired, and, on slot 0, whether _next may still return an element
 * (ACTIVE) or has returned NULL (DRAINED) and how many ACTIVE iterations this path forked.
 */
export interface IterSlot {
  /** The iterator struct's BTF id in the kernel's BTF, and its name without `bpf_iter_` (`num`). */
  readonly btfId: number;
  readonly name: string;
  readonly index: number;
  readonly ref: number;
  readonly state: 'active' | 'drained';
  readonly depth: number;
}

/** Eight bytes of stack: each byte's type, and the register spilled there when all eight are Spill. */
export interface Slot {
  readonly bytes: readonly ByteType[];
  /** All eight bytes Dynptr: which dynptr and which of its slots. */
  readonly dynptr?: DynptrSlot;
  readonly spill?: Reg;
  /** Bytes the spill covers from the slot's start (8, or a narrower scalar spill: 4, 2, 1). */
  readonly spillSize?: number;
  /** Part of an open-coded iterator: every byte is ByteType.Iter. */
  readonly iter?: IterSlot;
}

/** One call frame: its registers, its stack (slot index 0 = fp-8 .. fp-1), and where it was called from. */
export interface Frame {
  regs: Reg[];
  stack: Map<number, Slot>;
  /**
   * True while `stack` is shared with another state (copy-on-write: cloneState shares the map, and the
   * first write through writableStack copies it). Unset for a frame that owns its stack.
   */
  stackShared?: boolean;
  /** Slot of the call instruction that made this frame (-1 for the program's entry). */
  callsite: number;
  /** First slot of the function this frame runs. */
  subprog: number;
  /**
   * The outermost frame of a timer's callback (timer.ts), walked on its own: its exit ends the path and
   * returns 0 (the kernel's in_async_callback_fn).
   */
  async?: true;
  /** When this frame runs a helper's callback: the helper and the bounds its r0 must respect. */
  callback?: { helper: number; retMin: bigint; retMax: bigint };
  /**
   * Calls of a callback this frame's helper call made on this path (the kernel's callback_depth): a
   * bpf_loop stops calling its callback after R1's maximum. Absent is 0.
   */
  callbackDepth?: number;
}

/** A whole path's state: the frames (innermost last) and the references it holds (id -> slot of the allocation). */
export interface State {
  frames: Frame[];
  refs: Map<number, number>;
  /** The bpf_spin_lock this path holds (spin-lock.ts), if any. */
  lock?: HeldLock;
  /** may_goto loop iterations on this path (the kernel's may_goto_depth); absent is 0. */
  mayGotoDepth?: number;
  /** Callback calls walked on this path (the kernel's callback_unroll_depth): iterations are no loop. */
  callbackUnroll?: number;
  /** Inside a bpf_rcu_read_lock section (kfunc.ts; the kernel's active_rcu_lock). */
  rcu?: boolean;
  /** bpf_preempt_disable calls not yet matched by bpf_preempt_enable (the kernel's active_preempt_lock); absent is 0. */
  preempt?: number;
}

/** A held bpf_spin_lock: the map and the id of the value it was taken through (0 for a global's value). */
export interface HeldLock {
  readonly map: VerifierMap;
  readonly id: number;
}

/**
 * A copy sharing every immutable part. The stacks are shared too until one side writes (writableStack):
 * most branches never touch the stack, and copying a map per branch and per remembered state was the
 * walk's largest cost.
 */
export function cloneState(st: State): State {
  const frames = new Array<Frame>(st.frames.length);
  for (let i = 0; i < frames.length; i++) {
    const f = st.frames[i]!;
    f.stackShared = true;
    frames[i] = { ...f, regs: f.regs.slice() };
  }
  const out: State = { frames, refs: st.refs.size ? new Map(st.refs) : new Map() };
  if (st.mayGotoDepth) out.mayGotoDepth = st.mayGotoDepth;
  if (st.callbackUnroll) out.callbackUnroll = st.callbackUnroll;
  if (st.lock) out.lock = st.lock;
  if (st.rcu) out.rcu = true;
  if (st.preempt) out.preempt = st.preempt;
  return out;
}

/** The frame's stack, copied first when another state shares it: the only way to get a stack to write. */
export function writableStack(f: Frame): Map<number, Slot> {
  if (f.stackShared) {
    f.stack = new Map(f.stack);
    f.stackShared = false;
  }
  return f.stack;
}

/** The innermost frame. */
export const cur = (st: State): Frame => st.frames[st.frames.length - 1]!;

/** Every register of every frame and every spilled register, for updates that follow an id (null checks, packet ranges). */
export function forEachReg(st: State, fn: (r: Reg) => Reg): void {
  for (const f of st.frames) {
    for (let i = 0; i < f.regs.length; i++) f.regs[i] = fn(f.regs[i]!);
    for (const [k, slot] of f.stack) {
      if (slot.spill) {
        const next = fn(slot.spill);
        if (next !== slot.spill) writableStack(f).set(k, { ...slot, spill: next });
      }
    }
  }
}

/** A register as the kernel's log prints it: `scalar(umax=255)`, `fp-8`, `pkt(id=0,off=14,r=14)`. */
export function regText(r: Reg): string {
  switch (r.kind) {
    case 'not_init':
      return '?';
    case 'scalar':
      return isConst(r.s) ? scalarText(r.s) : `scalar${scalarText(r.s) || '()'}`;
    case 'fp':
      return `fp${r.off}`;
    default: {
      const parts: string[] = [];
      if (r.id) parts.push(`id=${r.id}`);
      if (r.ref) parts.push(`ref_obj_id=${r.ref}`);
      if (r.off) parts.push(`off=${r.off}`);
      if (r.kind === 'pkt' || r.kind === 'pkt_meta') parts.push(`r=${r.range}`);
      if (r.map) parts.push(`ks=${r.map.keySize},vs=${r.map.valueSize}`);
      if (r.kind === 'mem' || r.kind === 'untrusted_mem') parts.push(`sz=${r.size}`);
      if (!isConst(r.s)) parts.push(`var_off=${scalarText(r.s)}`);
      return `${kindText(r)}(${parts.join(',')})`;
    }
  }
}

/** The registers of the innermost frame, as the kernel prints them before an instruction. */
export function stateText(st: State): string {
  const f = cur(st);
  const parts: string[] = [];
  f.regs.forEach((r, i) => {
    if (r.kind !== 'not_init') parts.push(`R${i}=${regText(r)}`);
  });
  for (const [k, slot] of [...f.stack].sort((a, b) => a[0] - b[0])) {
    const off = -(k + 1) * 8;
    if (slot.spill) parts.push(`fp${off}=${regText(slot.spill)}`);
    else if (slot.iter) {
      // print_verifier_state: an iterator once, at its first slot.
      const it = slot.iter;
      if (it.index === 0) parts.push(`fp${off}=iter_${it.name}(ref_id=${it.ref},state=${it.state},depth=${it.depth})`);
    } else if (slot.dynptr?.first) parts.push(`fp${off}=dynptr_${slot.dynptr.type}(id=${slot.dynptr.id})`);
    else if (!slot.dynptr) {
      const t = slot.bytes.map((b) => '?mz'[b - 1] ?? '?').join('');
      if (t !== '????????') parts.push(`fp${off}=${t}`);
    }
  }
  return parts.join(' ');
}
