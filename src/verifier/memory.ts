/**
 * Loads and stores through every pointer type: the kernel's check_mem_access, with its messages. The stack
 * is tracked byte by byte (spilled registers, zeros, anything else), map values, keys, packets and helper
 * memory are checked against their sizes, and the context against the program type's field table.
 */
import { inRcuCs } from './sleepable-calls.js';
import { REG_FP } from '../isa/opcodes.js';
import { btfAccess, tpBtfCtxLoad } from './btf-ptr.js';
import { ctxAccess, ctxModelled, ctxOffFault, pktWritable } from './ctx-access.js';
import { flowKeysAccess, tpBufferAccess } from './ctx-more.js';
import { NETFILTER, nfCtxLoad } from './netfilter.js';
import { checkDynptrHelperMem, checkDynptrLoad, destroyDynptr } from './dynptr.js';
import { sliceBufferWrite } from './dynptr-slice.js';
import { type Env, newId } from './env.js';
import { fastcallAccess } from './fastcall.js';
import { mapFieldAccess } from './map-fields.js';
import { mapPtrAccess } from './map-ptr.js';
import { Rejection } from './reject.js';
import { strictAlignmentFault } from './align.js';
import { sockAccess } from './sock-ptr.js';
import { nfConnWrite } from './nfct.js';
import { structOpsBtfWrite, structOpsCtxLoad } from './struct-ops.js';
import { allocAccess } from './graph.js';
import { varStackAccess, varStackHelperAccess } from './stack-var.js';
import { signExtend64 } from './sign-extend.js';
import { tstr } from './tnum.js';
import { ProgType } from '../uapi/types.js';
import { type Scalar, UNKNOWN, isConst, known, signedBits, truncate, unsignedBits } from './scalar.js';
import {
  ByteType,
  NOT_INIT,
  type Reg,
  type Slot,
  type State,
  UNKNOWN_SCALAR,
  kindText,
  ptrReg,
  scalarReg,
  writableStack,
} from './state.js';

const MAX_STACK = 512;
const MAX_VAR_OFF = 1 << 29;

/** A load's result for `size` bytes, zero- or sign-extended. */
export function loadedScalar(size: number, signed: boolean): Reg {
  if (size === 8) return UNKNOWN_SCALAR;
  return scalarReg(signed ? signedBits(size * 8) : unsignedBits(size * 8));
}

function memRegion(
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  limit: number,
  what: string,
  zeroOk = true,
): void {
  // check_mem_region_access: the variable part must keep the access inside [0, limit); an access of no
  // bytes is out of it too where the caller does not allow one (a map key of size 0).
  const s = reg.s;
  if (s.smin < 0n && (s.smin < -BigInt(MAX_VAR_OFF) || s.smin + BigInt(off) < 0n))
    throw new Rejection(pc, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  const lo = Number(s.smin) + off;
  if (lo < 0 || (size === 0 && !zeroOk) || lo + size > limit)
    throw new Rejection(
      pc,
      `${what}${limitText(what, limit)} off=${lo} size=${size}\nR${regno} min value is outside of the allowed memory range`,
    );
  if (s.umax >= BigInt(MAX_VAR_OFF))
    throw new Rejection(pc, `R${regno} unbounded memory access, make sure to bounds check any such access`);
  const hi = Number(s.umax) + off;
  if (hi + size > limit)
    throw new Rejection(
      pc,
      `${what}${limitText(what, limit)} off=${hi} size=${size}\nR${regno} max value is outside of the allowed memory range`,
    );
}

const limitText = (what: string, limit: number) =>
  what.includes('map value')
    ? ` value_size=${limit}`
    : what.includes('map key')
      ? ` key_size=${limit}`
      : ` mem_size=${limit}`;

/**
 * Access `size` bytes at `reg + off` (reg is register `regno`). For a load, returns what the destination
 * register becomes; for a store, `value` is what is written (a register `valueRegno`, or a constant for
 * BPF_ST). `mode` tells an immediate store or an atomic apart, for the fields of a map value (map-fields.ts).
 */
export function access(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  write: boolean,
  value: Reg | undefined,
  signed = false,
  mode?: 'st' | 'atomic',
  valueRegno?: number,
): Reg {
  if (reg.kind === 'not_init') throw new Rejection(pc, `R${regno} !read_ok`);
  // check_mem_access checks the alignment first (strict mode: align.ts; the stack's own check is below).
  const misaligned = env.strictAlignment && reg.kind !== 'fp' ? strictAlignmentFault(reg, off, size) : undefined;
  if (misaligned) throw new Rejection(pc, misaligned);
  // A privileged load through a map pointer reads the map's kernel struct by the kernel's BTF (map-ptr.ts).
  if (reg.kind === 'map_ptr' && !reg.nullable) return mapPtrAccess(env, pc, regno, reg, off, size, write, signed);
  if (reg.nullable || reg.kind === 'scalar' || reg.kind === 'map_ptr' || reg.kind === 'pkt_end' || reg.kind === 'func')
    throw new Rejection(pc, `R${regno} invalid mem access '${kindText(reg)}'`);
  // Linux 6.18's untrusted memory is read by probe loads at any offset, variable or not, and never written.
  if (reg.kind === 'untrusted_mem') {
    if (write) throw new Rejection(pc, `R${regno} cannot write into ${kindText(reg)}`);
    return loadedScalar(size, signed);
  }
  const total = reg.off + off;
  switch (reg.kind) {
    case 'fp':
      return stackAccess(env, st, pc, regno, reg, total, size, write, value, signed);
    case 'ctx': {
      const fault = ctxOffFault(reg, regno);
      if (fault) throw new Rejection(pc, fault);
      if (env.tpBtf) return tpBtfCtxLoad(env.tpBtf, pc, total, size, write, signed, () => newId(env));
      if (env.structOps) return structOpsCtxLoad(env.structOps, pc, total, size, write, signed, () => newId(env));
      if (env.progType === NETFILTER && env.kernelBtf) return nfCtxLoad(env.kernelBtf, pc, total, size, write);
      if (!ctxModelled(env.progType))
        throw new Rejection(
          pc,
          `invalid bpf_context access off=${total} size=${size} (bpfkit: this program type's context is not modelled)`,
        );
      const field = ctxAccess(env.progType, total, size, write, env.attachType);
      // A sign-extending load (info->is_ldsx) is valid only for scalar fields: never a packet or socket pointer.
      if (!field || (signed && field.kind !== 'scalar'))
        throw new Rejection(pc, `invalid bpf_context access off=${total} size=${size}`);
      if (field.unmodelled)
        throw new Rejection(
          pc,
          `ctx access off=${total} size=${size} loads a ${field.unmodelled} (bpfkit does not model this pointer kind)`,
        );
      if (write) return NOT_INIT;
      if (field.kind === 'scalar') return loadedScalar(size, signed);
      return ptrReg(field.kind, field.nullable ? { nullable: true, id: newId(env) } : {});
    }
    case 'map_value': {
      const map = reg.map!;
      if (write && map.readOnly)
        throw new Rejection(pc, `write into map forbidden, value_size=${map.valueSize} off=${total} size=${size}`);
      if (!write && map.writeOnly)
        throw new Rejection(pc, `read from map forbidden, value_size=${map.valueSize} off=${total} size=${size}`);
      memRegion(pc, regno, reg, total, size, map.valueSize, 'invalid access to map value,');

      const how = mode ?? (write ? 'stx' : 'ldx');
      const kptr = mapFieldAccess(env, pc, regno, reg, total, size, how, value, valueRegno, inRcuCs(env, st));
      if (write) return NOT_INIT;
      if (kptr) return kptr;
      // A frozen read-only map's bytes at a constant offset are a known constant (bpf_map_direct_read).
      if (map.frozenValue && isConst(reg.s))
        return scalarReg(known(frozenRead(map.frozenValue, total + Number(reg.s.t.value), size, signed)));
      return loadedScalar(size, signed);
    }
    case 'map_key': {
      // check_helper_mem_access's words (a store instruction into a key gets another message, in access()).
      if (write) throw new Rejection(pc, `R${regno} cannot write into map_key`);
      memRegion(pc, regno, reg, total, size, reg.map!.keySize, 'invalid access to map key,');
      return loadedScalar(size, signed);
    }
    case 'mem': {
      // check_mem_access: an iterator's element (MEM_RDONLY) is read-only.
      if (write && reg.rdonly) throw new Rejection(pc, `R${regno} cannot write into ${kindText(reg)}`);
      memRegion(pc, regno, reg, total, size, reg.size, 'invalid access to memory,');
      return write ? NOT_INIT : loadedScalar(size, signed);
    }
    case 'pkt':
    case 'pkt_meta': {
      // may_access_direct_pkt_data: cgroup_skb programs read the packet, never write it (ctx-access.ts).
      if (write && !pktWritable(env.progType)) throw new Rejection(pc, 'cannot write into packet');
      if (reg.s.smin < 0n)
        throw new Rejection(
          pc,
          `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`,
        );
      // A pointer compared at or past the end (jumps.ts) reaches no byte: only the last line is said.
      if (reg.range < 0) throw new Rejection(pc, `R${regno} offset is outside of the packet`);
      if (total < 0 || total + size > reg.range)
        throw new Rejection(
          pc,
          `invalid access to packet, off=${total} size=${size}, R${regno}(id=${reg.id},off=${total},r=${reg.range})\nR${regno} offset is outside of the packet`,
        );
      return write ? NOT_INIT : loadedScalar(size, signed);
    }
    case 'flow_keys':
      flowKeysAccess(pc, total, size);
      return write ? NOT_INIT : loadedScalar(size, signed);
    case 'tp_buffer':
      tpBufferAccess(pc, regno, reg, total, size);
      return write ? NOT_INIT : loadedScalar(size, signed);
    case 'sock_common':
    case 'sock':
    case 'tcp_sock':
    case 'xdp_sock':
      return sockAccess(pc, regno, reg, off, size, write, signed);
    case 'btf_id':
      if (env.tpBtf)
        return btfAccess(
          env.tpBtf.btf,
          env.gplCompatible,
          pc,
          regno,
          reg,
          off,
          size,
          write,
          signed,
          !!env.tpBtf.iter,
          () => newId(env),
          // A sleepable iterator (`iter.s/`) walks outside an RCU read section unless it takes one.
          !inRcuCs(env, st),
        );
      // Outside tracing, BTF pointers come from kfuncs (kfunc.ts): reads are checked by the same struct walk
      // (every program type bpfkit models runs in an RCU read section); writes go through each program
      // type's own btf_struct_access, which bpfkit does not model; a sleepable program (outside an RCU read
      // section) is not modelled either. Netfilter's context pointers are read the same way, and written
      // never (no btf_struct_access of its own: btfAccess says "only read is supported").
      // A struct_ops program writes what its struct_ops type's btf_struct_access allows (struct-ops.ts).
      if (env.structOps && write && !env.sleepable)
        return structOpsBtfWrite(env.structOps, pc, regno, reg, off, size, mode === 'atomic');
      // sched_cls and xdp write what conntrack's btf_struct_access allows (nfct.ts); atomics are not modelled.
      if (write && mode !== 'atomic' && nfConnWrite(env, pc, regno, reg, off, size)) return NOT_INIT;
      // A sleepable program is read the same way, its walks' trust by whether it is in an RCU read section.
      // The tracing types and socket filters have no btf_struct_access either: a plain store is refused
      // as netfilter's is (checked against Linux 6.18: test/verifier/find-vma.test.ts).
      if (!env.kernelBtf || (write && (!readOnlyBtf(env.progType, mode) || env.sleepable)))
        throw new Rejection(
          pc,
          `R${regno} ${write ? 'written' : 'read'} as a BTF pointer outside tp_btf: bpfkit does not model it`,
        );
      return btfAccess(
        env.kernelBtf,
        env.gplCompatible,
        pc,
        regno,
        reg,
        off,
        size,
        write,
        signed,
        false,
        () => newId(env),
        !inRcuCs(env, st),
      );
    case 'alloc':
      return allocAccess(pc, regno, reg, off, size, write, value, signed, mode === 'atomic');
    case 'dynptr_ptr':
      // CONST_PTR_TO_DYNPTR: only helpers read the dynptr; check_mem_access has no case for it.
      break;
  }
  throw new Rejection(pc, `R${regno} invalid mem access '${kindText(reg)}'`);
}

/**
 * Program types whose verifier_ops have no btf_struct_access, so every store through a kernel object is
 * refused ("only read is supported"): netfilter, the tracing types bpfkit models outside tp_btf, socket
 * filters. An atomic one (a read first) is left not modelled.
 */
const READ_ONLY_BTF: ReadonlySet<number> = new Set([
  NETFILTER,
  ProgType.SOCKET_FILTER,
  ProgType.KPROBE,
  ProgType.TRACEPOINT,
  ProgType.PERF_EVENT,
  ProgType.RAW_TRACEPOINT,
]);

function readOnlyBtf(type: number, mode: 'st' | 'atomic' | undefined): boolean {
  return READ_ONLY_BTF.has(type) && (type === NETFILTER || mode !== 'atomic');
}

function stackAccess(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  off: number,
  size: number,
  write: boolean,
  value: Reg | undefined,
  signed: boolean,
): Reg {
  if (!isConst(reg.s)) {
    if (write) iterInReach(st, pc, regno, reg, off, size);
    if (write) sliceBufferWrite(env, st, pc, reg.frame, -MAX_STACK, MAX_STACK, false);
    const r = varStackAccess(
      st,
      pc,
      regno,
      reg,
      off,
      size,
      write,
      value,
      (n) => loadedScalar(n, signed),
      (sp, n) => noteDepth(env, sp, n, pc),
    );
    if (r) {
      if (!write) iterVarRead(st, pc, regno, reg, off, size);
      if (!write && env.stackRead) {
        const first = Math.floor((-(Number(reg.s.smax) + off + size) - 1 + 1) / 8);
        for (let k = Math.max(0, first); k <= Math.floor((-(Number(reg.s.smin) + off) - 1) / 8); k++)
          env.stackRead(reg.frame, k);
      }
      return r;
    }
    throw new Rejection(
      pc,
      `R${regno} variable stack access (bpfkit: a variable-offset store reaching part of a slot that holds a spilled register or zeros is not modelled)`,
    );
  }
  // check_ptr_alignment comes before the bounds: the stack is always strictly aligned. The kernel prints
  // the variable part, the pointer's fixed offset and the instruction's.
  if (off % size !== 0)
    throw new Rejection(pc, `misaligned stack access off ${reg.s.t.value}+${reg.off}+${off - reg.off} size ${size}`);
  if (off < -MAX_STACK || off + size > 0 || off >= 0)
    throw new Rejection(pc, `invalid ${write ? 'write to' : 'read from'} stack R${regno} off=${off} size=${size}`);
  const frame = st.frames[reg.frame]!;
  noteDepth(env, frame.subprog, -off, pc);
  const k = Math.floor((-off - 1) / 8);
  const slot = frame.stack.get(k) ?? { bytes: new Array<ByteType>(8).fill(ByteType.Invalid) };
  const first = off + (k + 1) * 8; // byte index inside the slot
  if (write) {
    // check_stack_write_fixed_off: a store into a dynptr destroys a local one, and may not touch a ring
    // buffer's; the slot is then as the dynptr left it (invalid).
    if (slot.dynptr) {
      destroyDynptr(st, pc, frame, k);
      return stackAccess(env, st, pc, regno, reg, off, size, write, value, signed);
    }
    // check_stack_write_fixed_off: no stack pointer, into whichever frame it points, is spilled into a
    // caller's frame (once the store is known to be a whole spill: a narrow one is refused for its size).
    if (value?.kind === 'fp' && size === 8 && reg.frame !== st.frames.length - 1)
      throw new Rejection(pc, 'cannot spill pointers to stack into stack frame of the caller');
    sliceBufferWrite(env, st, pc, reg.frame, off, size, true);
    writeStack(writableStack(frame), k, slot, first, size, value!, pc);
    if (size === 8) env.stackWrite?.(reg.frame, k);
    // A register spilled whole, or a scalar at the slot's start: backtracking follows it (precision.ts).
    if (value && (size === 8 ? frame.stack.get(k)?.spill : first === 0 && value.kind === 'scalar'))
      env.precision?.stackAccess(reg.frame, k);
    return NOT_INIT;
  }
  env.stackRead?.(reg.frame, k);
  // check_stack_read_fixed_off: an iterator's bytes are neither data nor a spilled register.
  if (slot.iter) throw new Rejection(pc, `invalid read from stack off ${off}+0 size ${size}`);
  checkDynptrLoad(pc, slot, first, off, size);
  // Reads: a whole spilled register comes back as it was; part of a spilled pointer is refused; a scalar
  // spilled at the slot's start comes back narrowed when read from there with at most its size.
  if (slot.spill) {
    const spillSize = slot.spillSize ?? 8;
    if (size === 8 && spillSize === 8) {
      env.precision?.stackAccess(reg.frame, k);
      return slot.spill;
    }
    if (slot.spill.kind !== 'scalar') throw new Rejection(pc, 'invalid size of register fill');
    if (first === 0 && size <= spillSize) {
      env.precision?.stackAccess(reg.frame, k);
      if (signed) return signedFill(slot.spill, size);
      // A value that fits the load comes back whole, still linked to its copies; a wider one is cut.
      return fitsIn(slot.spill, size) ? slot.spill : scalarReg(narrow(slot.spill.s, size));
    }
    if (first < spillSize) {
      // check_stack_read_fixed_off, any other read of a spilled slot: 0 when every byte read is part of a
      // spilled constant 0, or every one is STACK_ZERO; otherwise unknown.
      let spilled = 0;
      let zeros = 0;
      for (let i = first; i < first + size; i++)
        if (slot.bytes[i] === ByteType.Spill) spilled++;
        else if (slot.bytes[i] === ByteType.Zero) zeros++;
      const zeroSpill = isConst(slot.spill.s) && slot.spill.s.t.value === 0n;
      if ((spilled === size && zeroSpill) || zeros === size) return scalarReg(known(0n));
      return loadedScalar(size, signed);
    }
  }
  let allZero = true;
  for (let i = first; i < first + size; i++) if (slot.bytes[i] !== ByteType.Zero) allZero = false;
  if (allZero) return scalarReg(known(0n));
  // Privileged loads may read uninitialized stack (env->allow_uninit_stack): an unknown value.
  return size === 8 ? UNKNOWN_SCALAR : loadedScalar(size, signed);
}

/**
 * A sign-extending fill (BPF_MEMSX) of a spilled scalar from its slot's start: the spilled register's
 * value cut to the load's size and sign-extended (check_stack_read_fixed_off, then
 * coerce_reg_to_size_sx). It stays linked to the spilled register's copies only when the value is below
 * 2^(bits-1), which the extension gives back unchanged (Linux 6.18, checked: a 16-bit value filled by
 * `*(s16 *)` is not linked).
 */
function signedFill(spill: Reg, size: number): Reg {
  const bits = size * 8;
  const s = signExtend64(spill.s, bits);
  return spill.id && !isConst(spill.s) && spill.s.umax < 1n << BigInt(bits - 1) ? { ...spill, s } : scalarReg(s);
}

function writeStack(
  stack: Map<number, Slot>,
  k: number,
  slot: Slot,
  first: number,
  size: number,
  value: Reg,
  pc: number,
): void {
  if (value.kind === 'scalar' && first === 0 && size < 8) {
    // A narrow scalar spill (kernels since 6.8 keep its value).
    const bytes = slot.spill || slot.iter ? new Array<ByteType>(8).fill(ByteType.Misc) : slot.bytes.slice();
    for (let i = 0; i < size; i++) bytes[i] = ByteType.Spill;
    // The link by id survives when the value fits the spill (get_reg_width), as the kernel keeps it.
    stack.set(k, {
      bytes,
      spill: fitsIn(value, size) ? value : { ...value, id: 0, addConst: 0 as const, off: 0 },
      spillSize: size,
    });
    return;
  }
  if (size === 8) {
    // A constant 0 too stays a spilled register (save_register_state), not STACK_ZERO: the kernel tells
    // them apart when part of the slot is overwritten (the rest becomes "anything"), for a map key
    // (get_constant_map_key) and in pruning.
    stack.set(k, { bytes: new Array<ByteType>(8).fill(ByteType.Spill), spill: value });
    return;
  }
  if (value.kind !== 'scalar' && value.kind !== 'not_init') throw new Rejection(pc, 'invalid size of register spill');
  const bytes = slot.spill || slot.iter ? new Array<ByteType>(8).fill(ByteType.Misc) : slot.bytes.slice();
  const zero = value.kind === 'scalar' && isConst(value.s) && value.s.t.value === 0n;
  for (let i = first; i < first + size; i++) bytes[i] = zero ? ByteType.Zero : ByteType.Misc;
  stack.set(k, { bytes });
}

/**
 * A variable-offset read (after its bounds): check_stack_range_initialized refuses one that may reach an
 * iterator's bytes, naming the first such byte from the lowest offset the read may start at.
 */
function iterVarRead(st: State, pc: number, regno: number, reg: Reg, off: number, size: number): void {
  const frame = st.frames[reg.frame];
  if (!frame) return;
  const lo = Number(reg.s.smin) + off;
  const hi = Number(reg.s.smax) + off + size;
  for (let b = lo; b < hi; b++)
    if (frame.stack.get(Math.floor((-b - 1) / 8))?.iter)
      throw new Rejection(pc, `invalid read from stack R${regno} var_off ${tstr(reg.s.t)}+${b - lo} size ${size}`);
}

/**
 * A variable-offset write that may reach an iterator's slots: the kernel turns the bytes it may write into
 * plain data, leaving the rest of the iterator's slots as they were, which bpfkit's slots do not
 * represent; said so.
 */
function iterInReach(st: State, pc: number, regno: number, reg: Reg, off: number, size: number): void {
  const frame = st.frames[reg.frame];
  if (!frame) return;
  const lo = Number(reg.s.smin) + off;
  const hi = Number(reg.s.smax) + off + size;
  if (lo < -MAX_STACK || hi > 0) return;
  for (let k = Math.floor(-hi / 8); k <= Math.floor((-lo - 1) / 8); k++)
    if (frame.stack.get(k)?.iter)
      throw new Rejection(
        pc,
        `R${regno} variable-offset stack access that may reach an iterator: bpfkit does not model it`,
      );
}

/** The low `size` bytes of a value, zero-extended (coerce_reg_to_size, scalar.ts). */
export const narrow = (s: Scalar, size: number): Scalar => truncate(s, size);

/** Remember how deep a subprogram's stack goes (an access from `pc` reaching `bytes` below its frame). */
export function noteDepth(env: Env, subprog: number, bytes: number, pc: number): void {
  if (bytes > (env.stackDepth.get(subprog) ?? 0)) env.stackDepth.set(subprog, bytes);
  if (env.fastcall) fastcallAccess(env.fastcall, subprog, -bytes, pc);
}

/**
 * Helper memory arguments: `size` bytes at the pointer in `regno` must be readable (or, `write`, writable);
 * the kernel's check_helper_mem_access. Stack bytes a helper writes become "anything".
 */
export function helperMem(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  size: number,
  write: boolean,
  zeroOk = true,
): void {
  // A zero-sized access is checked too (check_helper_mem_access): the pointer must still be in bounds,
  // and a stack pointer must point below the frame (check_stack_slot_within_bounds: off <= -1).
  // Where the caller allows no zero-sized access (`zeroOk` false: a map's key or value), each memory
  // refuses one in its own words.
  switch (reg.kind) {
    case 'fp': {
      // check_stack_range_initialized says so before it looks at the offset.
      if (size === 0 && !zeroOk) throw new Rejection(pc, 'invalid zero-sized read');
      if (!isConst(reg.s)) {
        if (write) sliceBufferWrite(env, st, pc, reg.frame, -MAX_STACK, MAX_STACK, false);
        const reach = varStackHelperAccess(st, pc, regno, reg, size, write);
        if (!reach)
          throw new Rejection(
            pc,
            `R${regno} variable stack access (bpfkit: variable offsets reaching a dynptr or iterator are not modelled)`,
          );
        noteDepth(env, st.frames[reg.frame]!.subprog, -reach.lo, pc);
        // Every slot in reach counts as read (mark_reg_read), written or not.
        if (env.stackRead)
          for (let k = Math.floor((-reach.lo - 1) / 8); k >= 0 && -(k + 1) * 8 < reach.hi; k--)
            env.stackRead(reg.frame, k);
        return;
      }
      const off = reg.off;
      if (off < -MAX_STACK || off + Math.max(size, 1) > 0)
        throw new Rejection(pc, `invalid ${write ? 'write to' : 'read from'} stack R${regno} off=${off} size=${size}`);
      const frame = st.frames[reg.frame]!;
      noteDepth(env, frame.subprog, -off, pc);
      checkDynptrHelperMem(pc, regno, frame, off, size, write);
      if (write) sliceBufferWrite(env, st, pc, reg.frame, off, size, false);
      if (!write && env.stackRead)
        for (let k = Math.floor((-(off + size) - 1 + 1) / 8); k <= Math.floor((-off - 1) / 8); k++)
          if (k >= 0) env.stackRead(reg.frame, k);
      if (write && env.stackWrite)
        for (let k = Math.floor((-(off + size) - 1 + 1) / 8); k <= Math.floor((-off - 1) / 8); k++)
          if (k >= 0 && -(k + 1) * 8 >= off && -k * 8 <= off + size) env.stackWrite(reg.frame, k);
      if (!write)
        for (let b = off; b < off + size; b++)
          // check_stack_range_initialized: a helper may read anything on the stack but an iterator.
          if (frame.stack.get(Math.floor((-b - 1) / 8))?.iter)
            throw new Rejection(pc, `invalid read from stack R${regno} off ${off}+${b - off} size ${size}`);
      if (write) {
        for (let b = off; b < off + size; b++) {
          const k = Math.floor((-b - 1) / 8);
          const slot = frame.stack.get(k);
          // A write over part of a spilled register or an iterator scrubs the whole slot (scrub_special_slot).
          const bytes =
            slot?.spill || slot?.iter
              ? new Array<ByteType>(8).fill(ByteType.Misc)
              : (slot?.bytes.slice() ?? new Array<ByteType>(8).fill(ByteType.Invalid));
          bytes[b + (k + 1) * 8] = ByteType.Misc;
          writableStack(frame).set(k, { bytes });
        }
      }
      return;
    }
    case 'pkt':
    case 'pkt_meta':
    case 'map_value':
    case 'map_key':
    case 'mem':
      if (reg.nullable)
        throw new Rejection(
          pc,
          `R${regno} type=${kindText(reg)} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_`,
        );
      if ((reg.kind === 'pkt' || reg.kind === 'pkt_meta') && reg.s.smin < 0n)
        throw new Rejection(
          pc,
          `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`,
        );
      checkRange(env, st, pc, regno, reg, size, write, zeroOk);
      return;
    default:
      throw new Rejection(pc, `R${regno} type=${kindText(reg)} expected=fp, pkt, pkt_meta, map_key, map_value, mem`);
  }
}

function checkRange(
  env: Env,
  st: State,
  pc: number,
  regno: number,
  reg: Reg,
  size: number,
  write: boolean,
  zeroOk: boolean,
): void {
  // One access of the whole size: the same bounds as a load or store of that many bytes.
  if (reg.kind === 'pkt' || reg.kind === 'pkt_meta') {
    if (reg.range < 0) throw new Rejection(pc, `R${regno} offset is outside of the packet`);
    if (reg.off < 0 || (size === 0 && !zeroOk) || reg.off + size > reg.range)
      throw new Rejection(
        pc,
        `invalid access to packet, off=${reg.off} size=${size}, R${regno}(id=${reg.id},off=${reg.off},r=${reg.range})\nR${regno} offset is outside of the packet`,
      );
    return;
  }
  if (reg.kind === 'map_value') {
    if (write && reg.map!.readOnly)
      throw new Rejection(pc, `write into map forbidden, value_size=${reg.map!.valueSize} off=${reg.off} size=${size}`);
    if (!write && reg.map!.writeOnly)
      throw new Rejection(pc, `read from map forbidden, value_size=${reg.map!.valueSize} off=${reg.off} size=${size}`);
    memRegion(pc, regno, reg, reg.off, size, reg.map!.valueSize, 'invalid access to map value,', zeroOk);
    mapFieldAccess(env, pc, regno, reg, reg.off, size, 'helper', undefined, undefined);
    return;
  }
  if (reg.kind === 'map_key') {
    // check_helper_mem_access's words (a store instruction into a key gets another message, in access()).
    if (write) throw new Rejection(pc, `R${regno} cannot write into map_key`);
    memRegion(pc, regno, reg, reg.off, size, reg.map!.keySize, 'invalid access to map key,', zeroOk);
    return;
  }
  memRegion(pc, regno, reg, reg.off, size, reg.size, 'invalid access to memory,', zeroOk);
  void env;
  void st;
}

/** `size` little-endian bytes at `off`, zero- or sign-extended to 64 bits (as an unsigned bigint). */
function frozenRead(bytes: Uint8Array, off: number, size: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i] ?? 0);
  return signed ? BigInt.asUintN(64, BigInt.asIntN(size * 8, v)) : v;
}

/** get_reg_width(reg) <= 8 * size: a scalar whose unsigned maximum needs at most `size` bytes. */
export function fitsIn(r: Reg, size: number): boolean {
  return r.kind === 'scalar' && (size >= 8 || r.s.umax <= FITS_MAX[size]!);
}

/** The largest value of 1, 2, 3... 7 bytes (by size in bytes). */
const FITS_MAX: readonly bigint[] = [
  0n,
  0xffn,
  0xffffn,
  0xffffffn,
  0xffffffffn,
  0xffffffffffn,
  0xffffffffffffn,
  0xffffffffffffffn,
];

/** True when `regno` is the frame pointer (read-only). */
export const isFp = (regno: number): boolean => regno === REG_FP;

/** An unknown scalar (for imports that only need the constant). */
export const anyScalar = (): Reg => scalarReg(UNKNOWN);
