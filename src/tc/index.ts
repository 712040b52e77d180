/**
 * `bpfkit/tc`: tc-bpf(8) in TypeScript — clsact/ingress/HTB qdiscs, cls_bpf filters (eBPF objects, pinned
 * programs, classic bytecode) and act_bpf actions over rtnetlink, tc's object pinning rules, and the
 * `tc filter show` text. docs/tc.md walks through the tc-bpf(8) examples.
 *
 * @module
 */
export { qdisc, htbClass, filter, type InstallResult } from './api.js';
export { parseQdiscArgs, parseClassArgs, parseFilterArgs } from './command-line.js';
export type { QdiscRequest, ClassRequest, FilterRequest, ActionRequest } from './command-line.js';
export { encodeBpfFilter, encodeFilterKey, decodeFilter, filterInfo } from './filter-message.js';
export type { FilterKey, BpfFilterSpec, FilterEntry } from './filter-message.js';
export { encodeQdisc, decodeQdisc, encodeHtbClass, hookQdisc, parseRate, xmitTicks } from './qdisc-message.js';
export type { QdiscSpec, QdiscEntry, HtbClassSpec } from './qdisc-message.js';
export { writeBpfActions, parseVerb, ACTION_VERBS, type BpfActionSpec } from './action-message.js';
export { formatFilter, type ShowRequest, type ProgSummary } from './filter-format.js';
export { formatQdisc } from './qdisc-format.js';
export { parseHandle, formatHandle, makeHandle, clsactParent, parseFilterHandle } from './handle.js';
export { encodeTcMsg, decodeTcMsg, parseProtocol, formatProtocol, type TcMsg } from './tcmsg.js';
export { loadTcProgram, type ProgramSource, type LoadedProgram, type ExportableMap } from './load-program.js';
export type { BpfProgramRef, EbpfRef, ClassicRef } from './program-ref.js';
export { TC_BPFFS_ROOT, TC_GLOBALS, objectPinDir, tcMapPinPath } from './pinning.js';
export { ACT_BPF_MISSING, isMissingActBpf } from './act-support.js';
export {
  RTM,
  TCA,
  TCA_BPF,
  TCA_ACT,
  TCA_ACT_BPF,
  TC_ACT,
  TC_H,
  TCA_CLS_FLAGS,
  TCA_HTB,
  TCA_BPF_FLAG_ACT_DIRECT,
  ETH_P_ALL,
} from './uapi.js';
export {
  AttrWriter,
  parseAttrs,
  parseAttrList,
  encodeMessage,
  splitMessages,
  parseAck,
  type NetlinkMessage,
  type NetlinkAck,
} from '../kernel/netlink/codec.js';
export { NetlinkSocket, NetlinkError } from '../kernel/netlink/socket.js';
export { exportMaps, receiveMaps, type ReceivedMaps } from './handover.js';
export { parseBatch, type BatchCommand } from './batch.js';
export { cacheDeviceIndexes } from './device.js';
export {
  encodeHandover,
  decodeHandover,
  handoverEnv,
  HANDOVER_VERSION,
  HANDOVER_MAX_FDS,
  HANDOVER_HEADER_SIZE,
  ELF_MAP_SIZE,
  type ElfMapDef,
  type HandoverHeader,
} from './handover-message.js';
export { attachXdpNetlink, detachXdpNetlink, xdpState } from './xdp.js';
export { encodeXdpAttach, decodeXdpState, XDP_FLAGS, XDP_MODE_FLAGS, XDP_ATTACHED } from './xdp-message.js';
