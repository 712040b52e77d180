/**
 * bpf_probe_read_kernel / _user and their _str variants (113, 112, 115, 114; the legacy probe_read 4 and
 * probe_read_str 45): copies from any address, fault-free. In the VM "kernel" and "user" memory are both VM
 * memory, so the source is readable when a program load through the same pointer could read it
 * (Memory.probe). Anything else is answered as x86-64 Linux answers an unreadable address, with the
 * destination zeroed and never a fault of the run: the _kernel variants refuse an address below the
 * kernel's half (NULL, small numbers: every unmapped VM address) with -ERANGE
 * (copy_from_kernel_nofault_allowed) and fault elsewhere (-EFAULT); the _user variants (and the legacy
 * probe_read, which reads user memory below TASK_SIZE) say -EFAULT.
 */
import type { HelperCall } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import { E } from '../maps/base.js';

const ERANGE = 34;
/** The upper half of the first address of x86-64's kernel half (0xffff800000000000). */
const KERNEL_HALF_HI = 0xffff8000;

/** The errno of an unreadable source whose upper half is `hi`, for the _kernel variants or the others. */
function unreadable(kernel: boolean, hi: number): number {
  return kernel && hi >>> 0 < KERNEL_HALF_HI ? -ERANGE : -E.EFAULT;
}

/** An in-place packet run: make the packet buffer hold the current frame if the source reaches it. */
function settle(call: HelperCall, addr: number, len: number): void {
  const lazy = (call.context as RunContext).lazyPacket;
  if (lazy !== undefined) lazy(addr, len);
}

/** bpf_probe_read_{kernel,user}(dst, size, unsafe_ptr): 0, or -ERANGE / -EFAULT and a zeroed dst. */
function probeRead(call: HelperCall, kernel: boolean): void {
  const size = call.argU32(2);
  // (dst may then be NULL) The kernel variant still checks the address is in the kernel's half, as the
  // kernel does before copying nothing.
  if (size === 0)
    return call.retI32(
      kernel && call.memory.probe(call.lo[3]!, call.hi[3]!, 1) === undefined ? unreadable(true, call.hi[3]!) : 0,
    );
  const dst = call.memory.view(call.argPtr(1), size, true, call.pc);
  call.chargeBytes(size);
  const lo = call.lo[3]!;
  settle(call, lo >>> 0, size);
  const src = call.memory.probe(lo, call.hi[3]!, size);
  if (src === undefined) {
    dst.bytes.fill(0, dst.offset, dst.offset + size);
    return call.retI32(unreadable(kernel, call.hi[3]!));
  }
  const at = (lo >>> 0) - src.base;
  dst.bytes.set(src.bytes.subarray(at, at + size), dst.offset);
  call.ret(0);
}

/**
 * bpf_probe_read_{kernel,user}_str(dst, size, unsafe_ptr): copies the string and its NUL, at most size - 1
 * bytes of it (the copy is always NUL-terminated); returns the bytes written, NUL included. A source that
 * becomes unreadable before its NUL (or before size - 1 bytes) is -EFAULT with dst zeroed; size 0 is 0.
 */
function probeReadStr(call: HelperCall, kernel: boolean): void {
  const size = call.argU32(2);
  if (size === 0) return call.ret(0); // (dst may then be NULL)
  const dst = call.memory.view(call.argPtr(1), size, true, call.pc);
  call.chargeBytes(size);
  const lo = call.lo[3]!;
  settle(call, lo >>> 0, size);
  const hi = call.hi[3]!;
  // byte by byte, as the kernel's strncpy_from_kernel_nofault: a string running into an unreadable byte
  // (the region's or its element's end) faults, wherever its NUL would have been
  let n = -1;
  for (let i = 0; i < size; i++) {
    const r = i === size - 1 ? undefined : call.memory.probe(lo + i, hi, 1);
    const b = i === size - 1 ? 0 : r === undefined ? -1 : r.bytes[(lo >>> 0) + i - r.base]!;
    if (b < 0) break;
    dst.bytes[dst.offset + i] = b;
    if (b === 0) {
      n = i + 1;
      break;
    }
  }
  if (n < 0) {
    dst.bytes.fill(0, dst.offset, dst.offset + size);
    return call.retI32(unreadable(kernel, hi));
  }
  call.ret(n);
}

export const probeReadKernel = (call: HelperCall): void => probeRead(call, true);
export const probeReadUser = (call: HelperCall): void => probeRead(call, false);
export const probeReadKernelStr = (call: HelperCall): void => probeReadStr(call, true);
export const probeReadUserStr = (call: HelperCall): void => probeReadStr(call, false);
