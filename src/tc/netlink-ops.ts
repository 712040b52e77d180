/**
 * The live side: qdiscs, classes and filters added, deleted and dumped over one rtnetlink socket each
 * (src/kernel/netlink). Kernel refusals arrive as NetlinkError with the kernel's extended-ACK sentence.
 */
import { NetlinkSocket, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../kernel/netlink/index.js';
import { RTM } from './uapi.js';
import {
  encodeQdisc,
  decodeQdisc,
  encodeHtbClass,
  type QdiscSpec,
  type QdiscEntry,
  type HtbClassSpec,
} from './qdisc-message.js';
import {
  encodeBpfFilter,
  encodeFilterKey,
  decodeFilter,
  type BpfFilterSpec,
  type FilterKey,
  type FilterEntry,
} from './filter-message.js';
import { encodeTcMsg } from './tcmsg.js';

/** How `filter` requests treat an existing filter: add (fail if it exists), replace (create or replace), change (must exist). */
export type FilterVerb = 'add' | 'replace' | 'change';

let shared: NetlinkSocket | undefined;

/**
 * One rtnetlink socket for the process, opened on first use: a script adding a thousand filters pays for
 * socket(), bind() and the receive buffer once. Requests are synchronous, so answers never interleave.
 */
function withRtnetlink<T>(fn: (s: NetlinkSocket) => T): T {
  shared ??= new NetlinkSocket();
  return fn(shared);
}

/** Close the shared socket (a later request opens a new one). */
export function closeRtnetlink(): void {
  shared?.close();
  shared = undefined;
}

const verbFlags: Record<FilterVerb, number> = {
  add: NLM_F_CREATE | NLM_F_EXCL,
  replace: NLM_F_CREATE | NLM_F_REPLACE,
  change: 0,
};

/** `tc qdisc add`: create a qdisc, failing when one is there (NLM_F_EXCL). */
export function addQdisc(q: QdiscSpec): void {
  withRtnetlink((s) => s.request(RTM.NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, encodeQdisc(q), 'qdisc add'));
}

/** `tc qdisc del`. */
export function deleteQdisc(q: QdiscSpec): void {
  withRtnetlink((s) => s.request(RTM.DELQDISC, 0, encodeQdisc(q, false), 'qdisc del'));
}

/** Every qdisc of a device (ifindex 0: of every device). */
export function listQdiscs(ifindex: number): QdiscEntry[] {
  const payload = encodeTcMsg({ ifindex, handle: 0, parent: 0, info: 0 });
  const all = withRtnetlink((s) => s.dump(RTM.GETQDISC, payload, 'qdisc show')).map((m) => decodeQdisc(m.payload));
  return ifindex ? all.filter((q) => q.ifindex === ifindex) : all;
}

/** `tc class add … htb`. */
export function addHtbClass(c: HtbClassSpec, verb: FilterVerb = 'add'): void {
  withRtnetlink((s) => s.request(RTM.NEWTCLASS, verbFlags[verb], encodeHtbClass(c), `class ${verb}`));
}

/** `tc filter add|replace|change … bpf …`. */
export function installBpfFilter(spec: BpfFilterSpec, verb: FilterVerb = 'add'): void {
  withRtnetlink((s) => s.request(RTM.NEWTFILTER, verbFlags[verb], encodeBpfFilter(spec), `filter ${verb}`));
}

/** `tc filter del`: the fields given select the filters (a priority alone deletes its whole chain). */
export function deleteFilters(key: FilterKey, kind?: string): void {
  withRtnetlink((s) => s.request(RTM.DELTFILTER, 0, encodeFilterKey(key, kind), 'filter del'));
}

/** The filters under one parent of a device, as the kernel dumps them (heads of each priority included). */
export function listFilters(key: FilterKey): FilterEntry[] {
  return withRtnetlink((s) => s.dump(RTM.GETTFILTER, encodeFilterKey(key), 'filter show')).map((m) =>
    decodeFilter(m.payload),
  );
}
