/**
 * Map helpers: lookup/update/delete (1-3), push/pop/peek (87-89) and the ring buffer (130-134).
 * A lookup returns a pointer into the map's value slab (programs write through it), or for a map of maps
 * the inner map's handle; NULL (0) when absent. Errors are returned as negative errno, as in the kernel.
 */
import type { HelperCall } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import { E, type VmMap } from '../maps/base.js';
import { FdArrayMap, HashOfMaps } from '../maps/fd-array.js';
import { QueueStackMap } from '../maps/queue-stack.js';
import { RingBufMap } from '../maps/ringbuf.js';
import { VmError } from '../vm-error.js';
import { MapType } from '../../uapi/types.js';
import { helperName } from './helper-names.js';

function mapArg(call: HelperCall, i: number): VmMap {
  const rc = call.context as RunContext;
  const m = call.hi[i] === 0 ? rc.maps[call.lo[i]!] : undefined;
  if (!m)
    throw new VmError(
      'helper',
      `argument ${i} of ${helperName(call.id)} is not a map (0x${(call.lo[i]! >>> 0).toString(16)})`,
      { pc: call.pc, program: call.program.name },
    );
  return m;
}

/** An in-place packet run: make the packet buffer hold the current frame if the pointer reaches it. */
function settle(call: HelperCall, addr: number, len: number): void {
  const lazy = (call.context as RunContext).lazyPacket;
  if (lazy !== undefined) lazy(addr, len);
}

export function mapLookupElem(call: HelperCall): void {
  const m = mapArg(call, 1);
  // memory.check returns the region without allocating a view object (this is the hottest helper).
  const addr = call.argPtr(2);
  settle(call, addr, m.keySize);
  const r = call.memory.check(addr, m.keySize, false, call.pc);
  const ko = addr - r.base;
  if (m instanceof FdArrayMap) {
    if (m.type !== MapType.ARRAY_OF_MAPS) return call.ret(0);
    const b = r.bytes;
    return call.ret(m.handleAt(b[ko]! | (b[ko + 1]! << 8) | (b[ko + 2]! << 16) | (b[ko + 3]! << 24)));
  }
  if (m instanceof HashOfMaps) return call.ret(m.handleFor(r.bytes, ko));
  const rc = call.context as RunContext;
  const off = m.progLookup(r.bytes, ko, rc.host.cpu);
  call.retPtr(off < 0 ? 0 : rc.mapBase[m.fd]! + off);
}

export function mapUpdateElem(call: HelperCall): void {
  const m = mapArg(call, 1);
  if (m.progReadOnly) return call.retI32(-E.EPERM);
  const ka = call.argPtr(2);
  const va = call.argPtr(3);
  settle(call, ka, m.keySize);
  settle(call, va, m.valueSize);
  const k = call.memory.check(ka, m.keySize, false, call.pc);
  const v = call.memory.check(va, m.valueSize, false, call.pc);
  call.chargeBytes(m.keySize + m.valueSize);
  const flags = call.hi[4] !== 0 ? 0x7fffffff : call.lo[4]! >>> 0;
  call.retI32(m.progUpdate(k.bytes, ka - k.base, v.bytes, va - v.base, flags, (call.context as RunContext).host.cpu));
}

export function mapDeleteElem(call: HelperCall): void {
  const m = mapArg(call, 1);
  if (m.progReadOnly) return call.retI32(-E.EPERM);
  settle(call, call.argPtr(2), m.keySize);
  const k = call.memory.view(call.argPtr(2), m.keySize, false, call.pc);
  call.retI32(m.progDelete(k.bytes, k.offset));
}

function queueArg(call: HelperCall): QueueStackMap | undefined {
  const m = mapArg(call, 1);
  return m instanceof QueueStackMap ? m : undefined;
}

export function mapPushElem(call: HelperCall): void {
  const m = queueArg(call);
  if (!m) return call.retI32(-E.EINVAL);
  const v = call.memory.view(call.argPtr(2), m.valueSize, false, call.pc);
  const flags = call.hi[3] !== 0 ? 0x7fffffff : call.lo[3]! >>> 0;
  call.retI32(m.progPush(v.bytes, v.offset, flags));
}

export function mapPopElem(call: HelperCall): void {
  const m = queueArg(call);
  if (!m) return call.retI32(-E.EINVAL);
  const v = call.memory.view(call.argPtr(2), m.valueSize, true, call.pc);
  call.retI32(m.progTake(v.bytes, v.offset, true));
}

export function mapPeekElem(call: HelperCall): void {
  const m = queueArg(call);
  if (!m) return call.retI32(-E.EINVAL);
  const v = call.memory.view(call.argPtr(2), m.valueSize, true, call.pc);
  call.retI32(m.progTake(v.bytes, v.offset, false));
}

function ringArg(call: HelperCall): RingBufMap {
  const m = mapArg(call, 1);
  if (!(m instanceof RingBufMap))
    throw new VmError('helper', `${helperName(call.id)} needs a ring buffer map, '${m.name}' is not one`, {
      pc: call.pc,
      program: call.program.name,
    });
  return m;
}

export function ringbufOutput(call: HelperCall): void {
  const m = ringArg(call);
  const len = call.argNumber(3);
  const src = call.memory.view(call.argPtr(2), len, false, call.pc);
  call.chargeBytes(len);
  call.retI32(m.output(src.bytes, src.offset, len, call.argNumber(4)));
}

export function ringbufReserve(call: HelperCall): void {
  const m = ringArg(call);
  const off = m.reserve(call.argNumber(2), call.argNumber(3));
  call.retPtr(off < 0 ? 0 : (call.context as RunContext).mapBase[m.fd]! + off);
}

function commit(call: HelperCall, discard: boolean): void {
  const addr = call.argPtr(1);
  const region = call.memory.regionAt(addr);
  const m = region?.owner;
  if (!(m instanceof RingBufMap) || !m.isReserved(addr - region!.base)) {
    throw new VmError(
      'helper',
      `bpf_ringbuf_${discard ? 'discard' : 'submit'}: 0x${addr.toString(16)} is not a reserved ring buffer record`,
      { pc: call.pc, program: call.program.name },
    );
  }
  m.commit(addr - region!.base, discard);
  call.ret(0);
}

export const ringbufSubmit = (call: HelperCall): void => commit(call, false);
export const ringbufDiscard = (call: HelperCall): void => commit(call, true);

export function ringbufQuery(call: HelperCall): void {
  call.retNumber(ringArg(call).query(call.argNumber(2)));
}
