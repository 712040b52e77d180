/**
 * Helpers that call back into the program: bpf_loop (181) and bpf_for_each_map_elem (164). The callback
 * is a BPF_PSEUDO_FUNC function pointer the VM resolved; `call.invoke()` runs it on a fresh frame of the
 * same run. Kernel rules: flags must be 0 (-EINVAL); bpf_loop allows at most 1 << 23 iterations (-E2BIG);
 * a callback returning non-zero stops the walk; both return how many times the callback ran.
 */
import type { HelperCall } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import { E } from '../maps/base.js';
import { ArrayMap } from '../maps/array.js';
import { HashMap } from '../maps/hash.js';
import { VmError } from '../vm-error.js';

const BPF_MAX_LOOPS = 1 << 23;

/**
 * The callback's ctx argument (argument i) as the number invoke() takes: exact for every pointer (a map
 * value's keeps its tag in the upper half, Memory.tagOf) and every value that fits 53 bits or int32.
 */
function callbackCtx(call: HelperCall, i: number): number {
  const hi = call.argHi(i);
  if (hi < 0x20_0000) return hi * 4294967296 + call.argU32(i);
  return call.argI32(i);
}

export function loop(call: HelperCall): void {
  const n = call.argNumber(1);
  const fnLo = call.argI32(2);
  const fnHi = call.argHi(2) | 0;
  const ctx = callbackCtx(call, 3);
  if (call.argNumber(4) !== 0) return call.retI32(-E.EINVAL);
  // The verifier inlines bpf_loop when flags are 0, and its inline code sets -E2BIG with a 32-bit move:
  // r0 is 0x00000000fffffff9, not a sign-extended -7 (measured on 6.18).
  if (n > BPF_MAX_LOOPS) return call.ret(-E.E2BIG);
  for (let i = 0; i < n; i++) {
    const r = call.invoke(fnLo, fnHi, i, ctx);
    if (r !== 0 || call.invokeHi !== 0) return call.ret(i + 1);
  }
  call.ret(n);
}

/**
 * bpf_for_each_map_elem(map, callback(map, key, value, ctx), ctx, flags) over array, per-CPU array, hash,
 * per-CPU hash and LRU maps. The key is handed to the callback in a scratch region (like the kernel's
 * on-stack key), the value as a pointer into the map (this CPU's for per-CPU maps), so the callback may
 * update it in place.
 */
export function forEachMapElem(call: HelperCall): void {
  const rc = call.context as RunContext;
  const handle = call.lo[1]!;
  const m = call.hi[1] === 0 ? rc.maps[handle] : undefined;
  if (!(m instanceof ArrayMap) && !(m instanceof HashMap)) {
    throw new VmError('helper', `bpf_for_each_map_elem: argument 1 is not an array or hash map`, {
      pc: call.pc,
      program: call.program.name,
    });
  }
  const fnLo = call.argI32(2);
  const fnHi = call.argHi(2) | 0;
  const ctx = callbackCtx(call, 3);
  if (call.argNumber(4) !== 0) return call.retI32(-E.EINVAL);
  const scratch = rc.keyScratch();
  const base = rc.mapBase[m.fd]!;
  const cpu = rc.host.cpu;
  let count = 0;
  for (let k = m.nextKey(undefined); k; k = m.nextKey(k)) {
    const off = m.progLookupNoTouch(k, cpu);
    if (off < 0) continue;
    scratch.bytes.set(k);
    count++;
    // the value pointer carries its element's tag (Memory.tagOf) in the upper half, as a lookup's does
    const value = call.memory.tagOf(base + off) * 4294967296 + base + off;
    const r = call.invoke(fnLo, fnHi, handle, scratch.addr, value, ctx);
    if (r !== 0 || call.invokeHi !== 0) break;
  }
  call.ret(count);
}
