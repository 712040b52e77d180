/**
 * Tracing attach points and the kernel-side readers that go with them: tracepoints, raw tracepoints,
 * uprobes, perf software events (perf_event_open + BPF links), kprobes where the kernel has them,
 * tracefs, and the ring buffer and perf buffer consumers.
 */
export {
  attachTracepoint,
  attachPerfEvent,
  attachPerfEventPerCpu,
  attachToPerfEvent,
  perfEventOpen,
  pmuType,
  PerfAttachment,
  PerfType,
  PerfSoftware,
  type PerfEventSpec,
} from './perf-event.js';
export { attachRawTracepoint, RawTracepointAttachment } from './raw-tracepoint.js';
export { attachUprobe, attachKprobe, kprobesAvailable, kprobesUnavailable, type UprobeTarget } from './probes.js';
export { tracefsRoot, tracepointId, tracepointFormat, parseTracepointFormat, type TracepointField } from './tracefs.js';
export { RingBufferReader } from './ring-buffer.js';
export { PerfBufferReader, type PerfEventArrayMap } from './perf-buffer.js';
export { PrintkCapture } from './printk-capture.js';
export { lockdownMode } from './lockdown.js';
