/**
 * Dynptrs: bpf_dynptr_from_mem (197), bpf_ringbuf_reserve_dynptr / submit / discard (198-200) and
 * bpf_dynptr_read / write / data (201-203). A dynptr is 16 bytes on the program's stack that only these
 * helpers read (the verifier forbids the program to), so the VM keeps its own layout there: the data
 * pointer's two halves (its element tag in the upper one, so a pointer handed back reaches that element
 * only), then size | type << 28 | rdonly << 31, then an offset. All zero is the NULL dynptr. Return values
 * and their order of checks are the kernel's (kernel/bpf/helpers.c, ringbuf.c).
 */
import type { HelperCall } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import { E } from '../maps/base.js';
import { RingBufMap } from '../maps/ringbuf.js';
import { VmError } from '../vm-error.js';
import type { MemoryView } from '../memory.js';
import { helperName } from './helper-names.js';

const DYNPTR_SIZE = 16;
/** The kernel's DYNPTR_MAX_SIZE: sizes live in the low 24 bits. */
const DYNPTR_MAX_SIZE = (1 << 24) - 1;
const TYPE_SHIFT = 28;
const TYPE_LOCAL = 1;
const TYPE_RINGBUF = 2;
const RDONLY = 0x8000_0000;

interface Dynptr {
  lo: number;
  hi: number;
  size: number;
  type: number;
  rdonly: boolean;
  offset: number;
}

/** The dynptr struct that pointer argument `i` points to. */
function slot(call: HelperCall, i: number): MemoryView {
  return call.memory.view(call.argPtr(i), DYNPTR_SIZE, true, call.pc);
}

function readDynptr(v: MemoryView): Dynptr {
  const dv = v.region.view;
  const w = dv.getUint32(v.offset + 8, true);
  return {
    lo: dv.getInt32(v.offset, true),
    hi: dv.getInt32(v.offset + 4, true),
    size: w & DYNPTR_MAX_SIZE,
    type: (w >>> TYPE_SHIFT) & 7,
    rdonly: (w & RDONLY) !== 0,
    offset: dv.getUint32(v.offset + 12, true),
  };
}

function writeDynptr(v: MemoryView, lo: number, hi: number, size: number, type: number): void {
  const dv = v.region.view;
  dv.setInt32(v.offset, lo, true);
  dv.setInt32(v.offset + 4, hi, true);
  dv.setUint32(v.offset + 8, (size | (type << TYPE_SHIFT)) >>> 0, true);
  dv.setUint32(v.offset + 12, 0, true);
}

function setNull(v: MemoryView): void {
  v.bytes.fill(0, v.offset, v.offset + DYNPTR_SIZE);
}

/** The kernel's bpf_dynptr_check_off_len: -E2BIG when [offset, offset + len) leaves the dynptr. */
function outside(d: Dynptr, offset: number, len: number): boolean {
  return offset > d.size || len > d.size - offset;
}

/** bpf_dynptr_from_mem(data, size, flags, ptr): a local dynptr over program memory. */
export function dynptrFromMem(call: HelperCall): void {
  const v = slot(call, 4);
  const size = call.argNumber(2);
  if (call.argNumber(3) !== 0) {
    setNull(v);
    return call.retI32(-E.EINVAL);
  }
  if (size > DYNPTR_MAX_SIZE) {
    setNull(v);
    return call.retI32(-E.E2BIG);
  }
  // the memory must be there now, as the verifier checked it at load
  const addr = size === 0 ? 0 : call.argPtr(1);
  if (size > 0) call.memory.view(addr, size, false, call.pc);
  writeDynptr(v, call.lo[1]!, call.hi[1]!, size, TYPE_LOCAL);
  call.ret(0);
}

/** bpf_ringbuf_reserve_dynptr(map, size, flags, ptr): 0, or a NULL dynptr and -EINVAL (flags, size past the ring) / -E2BIG / -EAGAIN. */
export function ringbufReserveDynptr(call: HelperCall): void {
  const rc = call.context as RunContext;
  const m = call.hi[1] === 0 ? rc.maps[call.lo[1]!] : undefined;
  if (!(m instanceof RingBufMap))
    throw new VmError('helper', `${helperName(call.id)}: argument 1 is not a ring buffer map`, {
      pc: call.pc,
      program: call.program.name,
    });
  const v = slot(call, 4);
  const size = call.argNumber(2);
  if (call.argNumber(3) !== 0) {
    setNull(v);
    return call.retI32(-E.EINVAL);
  }
  if (size > DYNPTR_MAX_SIZE) {
    setNull(v);
    return call.retI32(-E.E2BIG);
  }
  // more than the whole ring is -EINVAL, a ring without room -EAGAIN (measured on 6.18)
  if (size > m.maxEntries) {
    setNull(v);
    return call.retI32(-E.EINVAL);
  }
  const off = m.reserve(size, 0);
  if (off < 0) {
    setNull(v);
    return call.retI32(-E.EAGAIN);
  }
  const addr = rc.mapBase[m.fd]! + off;
  writeDynptr(v, addr, call.memory.tagOf(addr), size, TYPE_RINGBUF);
  call.ret(0);
}

/** bpf_ringbuf_submit_dynptr / discard_dynptr(ptr, flags): commit the record (nothing for NULL), NULL the dynptr. */
function commitDynptr(call: HelperCall, discard: boolean): void {
  const v = slot(call, 1);
  const d = readDynptr(v);
  call.ret(0);
  if (d.lo === 0 && d.hi === 0) return;
  const addr = d.lo >>> 0;
  const region = call.memory.regionAt(addr);
  const m = region?.owner;
  if (d.type !== TYPE_RINGBUF || !(m instanceof RingBufMap) || !m.isReserved(addr - region!.base))
    throw new VmError('helper', `${helperName(call.id)}: the dynptr is no reserved ring buffer record`, {
      pc: call.pc,
      program: call.program.name,
    });
  m.commit(addr - region!.base, discard);
  setNull(v);
}

export const ringbufSubmitDynptr = (call: HelperCall): void => commitDynptr(call, false);
export const ringbufDiscardDynptr = (call: HelperCall): void => commitDynptr(call, true);

/** The dynptr's data from `offset` on, `len` bytes, as a checked view (for read or write). */
function dataView(call: HelperCall, d: Dynptr, offset: number, len: number, write: boolean): MemoryView {
  const at = call.memory.pointer(d.lo + d.offset + offset, d.hi, 'dynptr data', call.pc);
  return call.memory.view(at, len, write, call.pc);
}

/** bpf_dynptr_read(dst, len, src, offset, flags): 0, -EINVAL (NULL dynptr, flags) or -E2BIG (out of bounds). */
export function dynptrRead(call: HelperCall): void {
  const d = readDynptr(slot(call, 3));
  const len = call.argU32(2);
  const offset = call.argU32(4);
  if ((d.lo === 0 && d.hi === 0) || call.argNumber(5) !== 0) return call.retI32(-E.EINVAL);
  if (outside(d, offset, len)) return call.retI32(-E.E2BIG);
  if (len === 0) return call.ret(0);
  const src = dataView(call, d, offset, len, false);
  const dst = call.memory.view(call.argPtr(1), len, true, call.pc);
  call.chargeBytes(len);
  dst.bytes.set(src.bytes.slice(src.offset, src.offset + len), dst.offset);
  call.ret(0);
}

/** bpf_dynptr_write(dst, offset, src, len, flags): 0, -EINVAL (NULL, read-only, flags) or -E2BIG. */
export function dynptrWrite(call: HelperCall): void {
  const d = readDynptr(slot(call, 1));
  const offset = call.argU32(2);
  const len = call.argU32(4);
  if ((d.lo === 0 && d.hi === 0) || d.rdonly) return call.retI32(-E.EINVAL);
  if (outside(d, offset, len)) return call.retI32(-E.E2BIG);
  if (call.argNumber(5) !== 0) return call.retI32(-E.EINVAL);
  if (len === 0) return call.ret(0);
  const src = call.memory.view(call.argPtr(3), len, false, call.pc);
  const dst = dataView(call, d, offset, len, true);
  call.chargeBytes(len);
  dst.bytes.set(src.bytes.slice(src.offset, src.offset + len), dst.offset);
  call.ret(0);
}

/** bpf_dynptr_data(ptr, offset, len): a pointer into the data, or NULL (NULL or read-only dynptr, out of bounds). */
export function dynptrData(call: HelperCall): void {
  const d = readDynptr(slot(call, 1));
  const offset = call.argU32(2);
  const len = call.argU32(3);
  if ((d.lo === 0 && d.hi === 0) || outside(d, offset, len) || d.rdonly) return call.ret(0);
  const addr = (d.lo + d.offset + offset) >>> 0;
  call.ret(addr, d.hi);
}
