/**
 * `bpfkit/trace`: the BCC workflow in TypeScript — C compiled at run time (bpfkit/compile), loaded and
 * attached to tracepoints, raw tracepoints, uprobes and perf events, events read from ring buffers and
 * trace_pipe and decoded from the program's BTF; and the tools built on it (tcpconnect, tcpaccept).
 * docs/tracing.md.
 *
 * @module
 */
export {
  BPF,
  tracingRefusal,
  type Attachment,
  type BccOptions,
  type PerfBufferOptions,
  type RingbufOptions,
  type UprobeOptions,
} from './bpf.js';
export { structDecoder, type EventObject } from './decode.js';
export { parseTraceLine, readTracePipe, type TraceLine } from './trace-pipe.js';
export { findFunction, type FunctionSymbol } from './elf-symbols.js';
export { readUsdtProbes, parseUsdtArgs, type UsdtProbe, type UsdtArg } from './usdt-notes.js';
export { resolveBinary, resolveUprobe } from './uprobe-target.js';
export { tracepointStruct } from './tracepoint-struct.js';
export { memberOffset } from './btf-offsets.js';
export {
  openTcpTool,
  formatAddress,
  tcpHeader,
  tcpLine,
  tcpCountKey,
  tcpCountLines,
  type TcpEvent,
  type TcpToolKind,
  type TcpTool,
  type TcpToolOptions,
} from './tools/tcp-tools.js';
export {
  RingBufferReader,
  PerfBufferReader,
  type PerfEventArrayMap,
  type TracepointField,
} from '../kernel/attach/index.js';
