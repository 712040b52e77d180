/**
 * Helpers that read the host: clocks, randomness, CPU, current task ids, trace_printk, and tail_call.
 * Every value comes from RunContext.host so tests and `bpfkit run` can make runs deterministic.
 */
import type { HelperCall } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import { FdArrayMap } from '../maps/fd-array.js';
import { E } from '../maps/base.js';
import { MapType } from '../../uapi/types.js';
import { formatPrintk } from './trace-printk.js';

export function ktimeGetNs(call: HelperCall): void {
  call.retNumber((call.context as RunContext).host.clockNs());
}
export function ktimeGetBootNs(call: HelperCall): void {
  call.retNumber((call.context as RunContext).host.bootClockNs());
}

/** xorshift32: cheap, deterministic for a given seed (the kernel's is a per-CPU prandom state). */
export function getPrandomU32(call: HelperCall): void {
  const rc = call.context as RunContext;
  let x = rc.rngState | 0;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  rc.rngState = x;
  call.ret(x);
}

export function getSmpProcessorId(call: HelperCall): void {
  call.ret((call.context as RunContext).host.cpu);
}
export function getNumaNodeId(call: HelperCall): void {
  call.ret(0);
}

export function getCurrentPidTgid(call: HelperCall): void {
  const h = (call.context as RunContext).host;
  call.ret(h.pid, h.tgid);
}
export function getCurrentUidGid(call: HelperCall): void {
  const h = (call.context as RunContext).host;
  call.ret(h.uid, h.gid);
}

const decoder = new TextDecoder('latin1');

export function tracePrintk(call: HelperCall): void {
  const rc = call.context as RunContext;
  const size = call.argU32(2);
  const raw = call.memory.read(call.argPtr(1), size, call.pc);
  call.chargeBytes(size);
  const nul = raw.indexOf(0);
  if (size === 0 || nul < 0) return call.retI32(-E.EINVAL);
  const fmt = decoder.decode(raw.subarray(0, nul));
  const args = [3, 4, 5].map((i) => ({ lo: call.lo[i]!, hi: call.hi[i]! }));
  const text = formatPrintk(fmt, args, (addr) => {
    try {
      return decoder.decode(call.memory.readCString(addr, 1024, call.pc));
    } catch {
      return '(efault)';
    }
  });
  if (text === undefined) return call.retI32(-E.EINVAL);
  rc.host.trace(text);
  call.ret(text.length);
}

/**
 * bpf_tail_call(ctx, prog_array, index): jump to the program in the slot, never to return. An empty slot,
 * an index out of range or the 33-call limit make the helper return (an error) and the program goes on.
 */
export function tailCall(call: HelperCall): void {
  const rc = call.context as RunContext;
  const m = rc.maps[call.lo[2]!];
  if (!(m instanceof FdArrayMap) || m.type !== MapType.PROG_ARRAY) return call.retI32(-E.EINVAL);
  const handle = m.handleAt(call.argU32(3));
  const target = handle ? rc.programs[handle] : undefined;
  if (!target || !call.tailCall(target)) return call.retI32(-E.ENOENT);
  call.ret(0);
}
