/**
 * `compileFilter(expression, options)`: a pcap-filter(7) expression to a classic BPF program, as
 * libpcap's pcap_compile does for a capture of the given link type.
 */
import type { SockFilter } from '../cbpf/insn.js';
import { finish } from './blocks.js';
import { FilterSyntaxError } from './errors.js';
import { emitProgram } from './emit.js';
import { Gen } from './gencode.js';
import { findLinkType, type LinkType } from './linktypes.js';
import { systemResolver, type NameResolver } from './names.js';
import { optimize } from './optimize.js';
import { parseFilter } from './parser.js';
import { pflogPrologue } from './pflog.js';
import { radiotapPrologue, wlanPayloadPrologue } from './wlan.js';

/** How to compile. */
export interface CompileOptions {
  /** Link type: tcpdump's name (`EN10MB`, `LINUX_SLL`...), a LINKTYPE number, or a LinkType. Default EN10MB. */
  linktype?: string | number | LinkType;
  /** Run the optimizer (default true; tcpdump's `-O` is `optimize: false`). */
  optimize?: boolean;
  /** What accepted packets return: the snapshot length (default 262144, as tcpdump). */
  snaplen?: number;
  /** IPv4 netmask for `ip broadcast` (default 0, as tcpdump when reading a file). */
  netmask?: number;
  /**
   * Compile for a capture file rather than a live interface (default true). It matters only for NULL and
   * LOOP, whose IPv6 family number differs by OS: for files libpcap accepts the BSD values (24, 28, 30),
   * live (and `tcpdump -d`) it checks the host's (10 on Linux).
   */
  savefile?: boolean;
  /** Where names come from (default: /etc/hosts, /etc/services, /etc/protocols, /etc/ethers). */
  resolver?: NameResolver;
}

let defaultResolver: NameResolver | undefined;

/** Compile `expression`; throws FilterSyntaxError (one line, with the column) when libpcap would refuse it. */
export function compileFilter(expression: string, options: CompileOptions = {}): SockFilter[] {
  const link = typeof options.linktype === 'object' ? options.linktype : findLinkType(options.linktype ?? 'EN10MB');
  const resolver = options.resolver ?? (defaultResolver ??= systemResolver());
  const gen = new Gen(link, options.netmask ?? 0, options.savefile ?? true);
  const snaplen = options.snaplen ?? 262144;
  const frag = parseFilter(expression, gen, resolver);
  if (!frag) return [{ code: 0x06, jt: 0, jf: 0, k: snaplen >>> 0 }];
  if (gen.wlanPayloadUsed) frag.head.stmts.unshift(...wlanPayloadPrologue(link.kind === 'radiotap'));
  if (link.kind === 'radiotap') frag.head.stmts.unshift(...radiotapPrologue());
  if (gen.nlVarUsed) frag.head.stmts.unshift(...pflogPrologue());
  let root = finish(frag, snaplen);
  if (options.optimize !== false && !gen.noOptimize) {
    root = optimize(root);
    if (root.ret === 0) throw new FilterSyntaxError('expression rejects all packets', 0);
  }
  return emitProgram(root);
}
