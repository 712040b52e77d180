/**
 * bpfkit's flow layer: what turns decoded packets into connections, independent of what the connections
 * carry — IP fragment reassembly, TCP stream reassembly by sequence number, and the table of connections
 * (canonical keys for both directions, idle timeout, eviction, bounded memory).
 */
export { TcpStream, type StreamConsumer, type StreamStats } from './tcp-stream.js';
export { SegmentStore, type PieceSink } from './segment-store.js';
export { splitBudget, heapLimit, DEFAULT_MAX_MEMORY, type MemoryShares } from './memory-budget.js';
export { FragmentReassembler, type FragmentStats, type ReassemblyOptions } from './ip-fragments.js';
export {
  TcpFlow,
  TcpFlowTable,
  newFlowTableStats,
  type FlowHandlers,
  type FlowTableOptions,
  type FlowTableStats,
} from './flow-table.js';
export { flowEnds, flowKey, isFromA, formatFlowAddr, type FlowEnds } from './flow-key.js';
