/**
 * `tc filter show` text for dumped filters, word for word as iproute2 prints it, so scripts that read tc's
 * output read bpfkit's too:
 *
 *   filter parent 1: protocol all pref 49152 bpf chain 0
 *   filter parent 1: protocol all pref 49152 bpf chain 0 handle 0x1 flowid 1:1 bpf.o:[mycls] direct-action not_in_hw id 7 name cls_main tag 0123456789abcdef jited
 *
 * tc leaves out what the request pinned down (parent, protocol, pref) and prints words with a trailing space.
 * Program names and the jited state come from the kernel's program info, which `progInfo` supplies.
 */
import { formatHandle } from './handle.js';
import { formatProtocol } from './tcmsg.js';
import { TCA_CLS_FLAGS } from './uapi.js';
import type { FilterEntry } from './filter-message.js';

/** What the `show` request fixed: those fields are not repeated per line. */
export interface ShowRequest {
  parent?: number;
  prio?: number;
  protocol?: number;
}

/** What tc prints from a program's info: its name and whether it is JIT-compiled. */
export interface ProgSummary {
  name: string;
  jited: boolean;
}

/** One filter as tc prints it, ending in a newline. */
export function formatFilter(
  e: FilterEntry,
  req: ShowRequest,
  progInfo: (id: number) => ProgSummary | undefined = () => undefined,
): string {
  let s = 'filter ';
  if (req.parent === undefined || req.parent !== e.parent) s += `parent ${formatHandle(e.parent)} `;
  if (req.protocol === undefined || req.protocol !== e.protocol) s += `protocol ${formatProtocol(e.protocol)} `;
  if (!req.prio || req.prio !== e.prio) s += `pref ${e.prio} `;
  s += `${e.kind} `;
  if (e.chain !== undefined) s += `chain ${e.chain} `;
  if (e.hasOptions && e.kind === 'bpf') s += bpfOptions(e, progInfo);
  return `${s}\n`;
}

function bpfOptions(e: FilterEntry, progInfo: (id: number) => ProgSummary | undefined): string {
  let s = e.handle ? `handle 0x${e.handle.toString(16)} ` : '';
  if (e.classid !== undefined) s += `flowid ${formatHandle(e.classid)} `;
  if (e.name !== undefined) s += `${e.name} `;
  if (e.directAction) s += 'direct-action ';
  const g = e.genFlags ?? 0;
  if (g & TCA_CLS_FLAGS.SKIP_HW) s += 'skip_hw ';
  if (g & TCA_CLS_FLAGS.SKIP_SW) s += 'skip_sw ';
  if (g & TCA_CLS_FLAGS.IN_HW) s += 'in_hw ';
  else if (g & TCA_CLS_FLAGS.NOT_IN_HW) s += 'not_in_hw ';
  if (e.ops)
    s += `bytecode '${[e.ops.length, ...e.ops.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k >>> 0}`)].join(',')}'`;
  if (e.progId !== undefined) {
    s += `id ${e.progId} `;
    const info = progInfo(e.progId);
    if (info) {
      if (info.name) s += `name ${info.name} `;
      if (e.tag) s += `tag ${e.tag} `;
      if (info.jited) s += 'jited ';
    } else if (e.tag) s += `tag ${e.tag} `;
  }
  if (e.actionCount) s += `\n\taction count ${e.actionCount}`;
  return s;
}
