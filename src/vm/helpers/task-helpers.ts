/**
 * The current task and the clocks tracing programs read: bpf_get_current_comm (16), get_current_task (35),
 * get_current_task_btf (158), jiffies64 (118), ktime_get_coarse_ns (160), ktime_get_tai_ns (208). Every
 * value comes from RunContext.host (HostConfig), which the user sets through `vm.host` so runs are
 * deterministic; the defaults are this process's.
 */
import type { HelperCall } from '../helper-abi.js';
import type { RunContext } from '../contexts/run-context.js';
import { E } from '../maps/base.js';

const encoder = new TextEncoder();

/** bpf_get_current_comm(buf, size): the name cut to size - 1 bytes, NUL-padded to size; 0, or -EINVAL for size 0. */
export function getCurrentComm(call: HelperCall): void {
  const size = call.argU32(2);
  const dst = call.memory.view(call.argPtr(1), size, true, call.pc);
  if (size === 0) return call.retI32(-E.EINVAL);
  const name = encoder.encode((call.context as RunContext).host.comm).subarray(0, Math.min(15, size - 1));
  dst.bytes.fill(0, dst.offset, dst.offset + size);
  dst.bytes.set(name, dst.offset);
  call.ret(0);
}

/** bpf_get_current_task() and get_current_task_btf(): the address of host.task's image, or 0 without one. */
export function getCurrentTask(call: HelperCall): void {
  call.ret((call.context as RunContext).currentTask());
}

export function jiffies64(call: HelperCall): void {
  call.retNumber((call.context as RunContext).host.jiffies());
}
export function ktimeGetCoarseNs(call: HelperCall): void {
  call.retNumber((call.context as RunContext).host.coarseClockNs());
}
export function ktimeGetTaiNs(call: HelperCall): void {
  call.retNumber((call.context as RunContext).host.taiClockNs());
}
