/**
 * The instructions both engines execute out of line: helper calls (and what a helper may ask for: stop,
 * tail call), LD_ABS/LD_IND, atomics. They work on the shared register file in EngineState, so the
 * compiled engine spills the registers involved before calling them and reloads afterwards.
 */
import { BPF_ADD, BPF_AND, BPF_CMPXCHG, BPF_FETCH, BPF_OR, BPF_XCHG, BPF_XOR, MAX_CALL_FRAMES } from '../isa/index.js';
import { HelperAction, MAX_TAIL_CALLS } from './helper-abi.js';
import { FUNC_TAG, LoadedProgram } from './interpreter-program.js';
import { DONE, FRAME_INTS, HOST_RETURN, SWITCH, type EngineState } from './interpreter-state.js';
import { VmError, hexAddr } from './vm-error.js';
import { BpfkitError } from '../util/errors.js';
import { helperName } from './helpers/helper-names.js';

/** Returned by out-of-line ops when the program simply goes on. */
export const CONTINUE = -1;

/**
 * Call helper `id` (r1-r5 already in st.lo/st.hi). Returns CONTINUE with r0 set, DONE (the helper
 * stopped the program) or SWITCH (tail call).
 */
export function callHelper(st: EngineState, p: LoadedProgram, pc: number, id: number): number {
  const fn = st.helpers.fn(id);
  if (fn === undefined) throw new VmError('helper', `${helperName(id)} is not registered in this VM`, { pc });
  const call = st.call;
  call.pc = pc;
  call.id = id;
  call.program = p;
  call.action = HelperAction.None;
  try {
    fn(call);
  } catch (err) {
    throw helperFailure(st, pc, id, err);
  }
  call.id = -1;
  const action = call.action;
  if (action === HelperAction.None) return CONTINUE;
  call.action = HelperAction.None;
  if (action === HelperAction.Stop) return DONE;
  // Tail call: continue in the target, same frame (r1 = ctx as passed to the helper, r10 unchanged).
  const target = call.target;
  call.target = undefined;
  if (!(target instanceof LoadedProgram) || st.programs[target.id] !== target) {
    throw new VmError('tail-call', 'tail call target is not a program loaded in this VM', { pc });
  }
  if (call.tailCalls >= MAX_TAIL_CALLS)
    throw new VmError('tail-call', `more than ${MAX_TAIL_CALLS} chained tail calls`, { pc });
  call.tailCalls++;
  st.next = target;
  st.pc = 0;
  return SWITCH;
}

/** What helper `id` throwing `err` at `pc` fails the run with (a VmError naming the pc, or a BpfkitError as is). */
export function helperFailure(st: EngineState, pc: number, id: number, err: unknown): Error {
  if (err instanceof VmError)
    return err.pc >= 0
      ? err
      : new VmError(err.kind, err.message, { pc, ...(err.address !== undefined ? { address: err.address } : {}) });
  if (err instanceof BpfkitError) return err;
  const name = st.helpers.get(id)?.name ?? String(id);
  return new VmError('helper', `helper ${name} (${id}) failed: ${err instanceof Error ? err.message : String(err)}`, {
    pc,
  });
}

/** Push a local-call frame (saving r6-r9 and r10 from st.lo/hi) and point r10 at the new frame's stack. */
export function pushFrame(st: EngineState, p: LoadedProgram, pc: number, returnPc: number): void {
  if (st.depth + 1 >= MAX_CALL_FRAMES) throw callDepthError(pc);
  const F = st.frames;
  const L = st.lo;
  const H = st.hi;
  const b = st.depth * FRAME_INTS;
  F[b] = returnPc;
  F[b + 1] = p.id;
  F[b + 2] = L[6] as number;
  F[b + 3] = H[6] as number;
  F[b + 4] = L[7] as number;
  F[b + 5] = H[7] as number;
  F[b + 6] = L[8] as number;
  F[b + 7] = H[8] as number;
  F[b + 8] = L[9] as number;
  F[b + 9] = H[9] as number;
  F[b + 10] = L[10] as number;
  const d = ++st.depth;
  if (d > st.maxDepth) st.maxDepth = d;
  L[10] = st.stackTops[d] as number;
  H[10] = 0;
}

export function callDepthError(pc: number): VmError {
  return new VmError('call-depth', `call depth exceeds ${MAX_CALL_FRAMES} frames`, { pc });
}

/**
 * Pop a frame on `exit` from a local call: restores r6-r10 and returns the return pc. When that frame
 * belongs to another program (a tail call happened inside the callee), sets st.next/st.pc and returns
 * -1: the engine must SWITCH. When it is a callback's frame, sets st.hostReturn and returns -2: the
 * engine must return DONE to invokeCallback.
 */
export function popFrame(st: EngineState, p: LoadedProgram): number {
  const d = --st.depth;
  const F = st.frames;
  const L = st.lo;
  const H = st.hi;
  const b = d * FRAME_INTS;
  L[6] = F[b + 2] as number;
  H[6] = F[b + 3] as number;
  L[7] = F[b + 4] as number;
  H[7] = F[b + 5] as number;
  L[8] = F[b + 6] as number;
  H[8] = F[b + 7] as number;
  L[9] = F[b + 8] as number;
  H[9] = F[b + 9] as number;
  L[10] = F[b + 10] as number;
  H[10] = 0;
  const ret = F[b] as number;
  if (ret === HOST_RETURN) {
    st.hostReturn = true;
    return -2;
  }
  if (F[b + 1] !== p.id) {
    st.next = st.programs[F[b + 1] as number];
    st.pc = ret;
    return -1;
  }
  return ret;
}

/** Register r = an integer in [-2^31, 2^53] (negative ones sign-extended). */
function setNumber(L: Int32Array, H: Int32Array, r: number, v: number): void {
  L[r] = v | 0;
  H[r] = v < 0 ? -1 : Math.floor(v / 4294967296) | 0;
}

/**
 * Run the callback at `fnLo`/`fnHi` (a BPF_PSEUDO_FUNC value) with r1-r5 = args, on a new frame, and
 * return its r0 (lo; the hi half in st.lo[0]/st.hi[0] is restored, so it is returned via `out`). The
 * caller's registers are saved and restored around it; the budget and call-depth limits apply.
 */
export function invokeCallback(
  st: EngineState,
  pc: number,
  fnLo: number,
  fnHi: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
  result: Int32Array,
): void {
  const id = fnHi & 0x00ffffff;
  const prog = (fnHi & 0xff000000) === FUNC_TAG ? st.programs[id] : undefined;
  if (!prog || fnLo < 0 || fnLo >= prog.slots || prog.funcEntry[fnLo] !== 1) {
    throw new VmError(
      'helper',
      `0x${(fnHi >>> 0).toString(16)}${(fnLo >>> 0).toString(16).padStart(8, '0')} is not a callback function pointer`,
      { pc },
    );
  }
  const engine = st.engine;
  if (!engine) throw new VmError('internal', 'callback invoked outside a run', { pc });
  if (st.depth + 1 >= MAX_CALL_FRAMES) throw callDepthError(pc);
  const L = st.lo;
  const H = st.hi;
  const level = st.depth;
  const save = level * 22;
  for (let r = 0; r < 11; r++) {
    st.saved[save + r] = L[r] as number;
    st.saved[save + 11 + r] = H[r] as number;
  }
  // r0 and r6-r9 start at zero: the kernel's verifier refuses a callback that reads them before writing
  // them, and without one both engines must agree (the interpreter's would hold the caller's live values,
  // the jit's whatever was last spilled)
  for (const r of [0, 6, 7, 8, 9]) L[r] = H[r] = 0;
  setNumber(L, H, 1, a1);
  setNumber(L, H, 2, a2);
  setNumber(L, H, 3, a3);
  setNumber(L, H, 4, a4);
  setNumber(L, H, 5, a5);
  const F = st.frames;
  const b = st.depth * FRAME_INTS;
  F[b] = HOST_RETURN;
  F[b + 1] = prog.id;
  for (let i = 2; i < 10; i++) F[b + i] = 0;
  F[b + 10] = L[10] as number;
  const d = ++st.depth;
  if (d > st.maxDepth) st.maxDepth = d;
  L[10] = st.stackTops[d] as number;
  H[10] = 0;
  st.hostReturn = false;
  let p: LoadedProgram = prog;
  let at = fnLo;
  for (;;) {
    if (engine(st, p, at) === DONE) {
      if (st.hostReturn) break;
      throw new VmError(
        'helper',
        'a callback ended the whole program (tail call, unwind or failed packet load), which callbacks may not do',
        { pc },
      );
    }
    p = st.next as LoadedProgram;
    at = st.pc;
  }
  st.hostReturn = false;
  result[0] = L[0] as number;
  result[1] = H[0] as number;
  for (let r = 0; r < 11; r++) {
    L[r] = st.saved[save + r] as number;
    H[r] = st.saved[save + 11 + r] as number;
  }
}

/** SKF_NET_OFF / SKF_LL_OFF: negative LD_ABS offsets relative to the network / link-layer header. */
export const SKF_NET_OFF = -0x100000;
export const SKF_LL_OFF = -0x200000;

/**
 * LD_ABS / LD_IND: the packet's big-endian `size`-byte value at `offset` (an int32, already imm + src
 * for IND). Returns the value (>= 0) or -1 when the bytes are outside the packet (the program then ends
 * with r0 = 0, as in the kernel). offset >= 0 is relative to `data` and must stay below `end`;
 * SKF_NET_OFF / SKF_LL_OFF forms are relative to `net` / `mac` and must stay within [0, end).
 */
export function loadPacket(st: EngineState, pc: number, size: number, offset: number): number {
  const pk = st.packet;
  if (pk === undefined) throw new VmError('access', 'LD_ABS/LD_IND need a packet, and this run has none', { pc });
  let at: number;
  let low = 0;
  if (offset >= 0) {
    at = pk.data + offset;
    low = pk.data;
  } else if (offset >= SKF_NET_OFF) at = pk.net + (offset - SKF_NET_OFF);
  else if (offset >= SKF_LL_OFF) at = pk.mac + (offset - SKF_LL_OFF);
  else return -1;
  if (at < low || at + size > pk.end || at + size > pk.bytes.length) return -1;
  const b = pk.bytes;
  if (size === 1) return b[at] as number;
  if (size === 2) return ((b[at] as number) << 8) | (b[at + 1] as number);
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

/**
 * STX|ATOMIC: `op` is the imm field, `size` 4 or 8, the address is reg `d` + off, the operand reg `s`.
 * Registers are read from and written to st.lo/st.hi (src gets the old value with FETCH/XCHG; r0 with
 * CMPXCHG). 32-bit forms zero-extend what they load into a register.
 */
export function atomic(st: EngineState, pc: number, op: number, size: number, d: number, s: number, off: number): void {
  const L = st.lo;
  const H = st.hi;
  const r = st.mem.rmw(L[d] as number, H[d] as number, off, size, pc);
  const o = ((L[d] as number) >>> 0) + off - r.base;
  const v = r.view;
  const sl = L[s] as number;
  const sh = H[s] as number;
  if (size === 4) {
    const old = v.getInt32(o, true);
    let nv: number;
    switch (op & ~BPF_FETCH) {
      case BPF_ADD:
        nv = (old + sl) | 0;
        break;
      case BPF_OR:
        nv = old | sl;
        break;
      case BPF_AND:
        nv = old & sl;
        break;
      case BPF_XOR:
        nv = old ^ sl;
        break;
      case BPF_XCHG & ~BPF_FETCH:
        nv = sl;
        break;
      default: // CMPXCHG
        nv = old === L[0] ? sl : old;
        v.setInt32(o, nv, true);
        L[0] = old;
        H[0] = 0;
        return;
    }
    v.setInt32(o, nv, true);
    if (op & BPF_FETCH) {
      L[s] = old;
      H[s] = 0;
    }
    return;
  }
  const ol = v.getInt32(o, true);
  const oh = v.getInt32(o + 4, true);
  let nl: number;
  let nh: number;
  switch (op & ~BPF_FETCH) {
    case BPF_ADD: {
      const t = (ol >>> 0) + (sl >>> 0);
      nl = t | 0;
      nh = (oh + sh + (t > 0xffffffff ? 1 : 0)) | 0;
      break;
    }
    case BPF_OR:
      nl = ol | sl;
      nh = oh | sh;
      break;
    case BPF_AND:
      nl = ol & sl;
      nh = oh & sh;
      break;
    case BPF_XOR:
      nl = ol ^ sl;
      nh = oh ^ sh;
      break;
    case BPF_XCHG & ~BPF_FETCH:
      nl = sl;
      nh = sh;
      break;
    default: // CMPXCHG
      if (op !== BPF_CMPXCHG) throw new VmError('internal', `bad atomic op 0x${op.toString(16)}`, { pc });
      if (ol === L[0] && oh === H[0]) {
        v.setInt32(o, sl, true);
        v.setInt32(o + 4, sh, true);
      }
      L[0] = ol;
      H[0] = oh;
      return;
  }
  v.setInt32(o, nl, true);
  v.setInt32(o + 4, nh, true);
  if (op & BPF_FETCH) {
    L[s] = ol;
    H[s] = oh;
  }
}

export function budgetError(pc: number, budget: number): VmError {
  return new VmError('budget', `instruction budget of ${budget} executed instructions exhausted (an endless loop?)`, {
    pc,
  });
}

/** Why `callx` refused the helper number in register `reg` (halves lo/hi): see LoadedProgram.mayCallx. */
export function callxError(p: LoadedProgram, pc: number, reg: number, lo: number, hi: number): VmError {
  if (hi !== 0 || lo < 0) return new VmError('helper', `callx: r${reg} holds no helper number`, { pc });
  if (!p.mayCallx(lo, 0) && p.registered(lo))
    return new VmError('helper', `callx: ${helperName(lo)} may not be called by this program`, { pc });
  return new VmError('helper', `callx: ${helperName(lo)} is not registered in this VM`, { pc });
}

export function fallThroughError(pc: number): VmError {
  return new VmError('fall-through', `execution ran off the end of the program (no exit before slot ${pc})`, {
    pc: pc - 1,
  });
}

export { hexAddr };
