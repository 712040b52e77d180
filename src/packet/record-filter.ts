/**
 * A pcap-filter(7) expression applied to capture records in userspace, as `tcpdump -r FILE EXPR` does:
 * compiled to classic BPF once per link type met (libpcap compiles per capture's link type too), then to
 * one JavaScript function (bpfkit/cbpf's compileClassicToJs, the interpreter's semantics at a fraction of
 * its cost), run on the record as captured, with its original length.
 */
// (the modules themselves, not the folders' index: a command that filters loads only what it runs)
import { compileClassicToJs, type ClassicJsFilter } from '../cbpf/js-compile.js';
import { compileFilter } from '../pcap-filter/compile.js';
import { findLinkType } from '../pcap-filter/linktypes.js';
import type { PacketRef } from './packet.js';

/** Link types checked when the filter is made: Ethernet, Linux cooked v2 and v1, raw IP. */
const USUAL_LINKTYPES = [1, 276, 113, 101];

/** File filters shift as libpcap's userspace filter does (X >= 32 gives 0): they keep what `tcpdump -r` keeps. */
const LIBPCAP = { shifts: 'libpcap', loops: true } as const;

/**
 * The compiled program for each link type, made on first use. Throws FilterSyntaxError at once when no
 * usual link type takes the expression (a syntax error is reported before any record is read); one that
 * only some link types refuse (`inbound` on Ethernet) throws when a record of that type comes. (The
 * usual link types are tried in turn until one compiles: one compile is enough to check the expression.)
 */
export function filterProgramsFor(expression: string): (linktype: number) => ClassicJsFilter {
  const programs = new Map<number, ClassicJsFilter>();
  let firstError: unknown;
  for (const linktype of USUAL_LINKTYPES) {
    try {
      programs.set(
        linktype,
        compileClassicToJs(compileFilter(expression, { linktype: findLinkType(linktype) }), undefined, LIBPCAP),
      );
      break;
    } catch (err) {
      firstError ??= err;
    }
  }
  if (programs.size === 0) throw firstError;
  return (linktype) => {
    let p = programs.get(linktype);
    if (!p) {
      p = compileClassicToJs(compileFilter(expression, { linktype: findLinkType(linktype) }), undefined, LIBPCAP);
      programs.set(linktype, p);
    }
    return p;
  };
}

/** Whether a capture record (its link type, bytes as captured, original length) passes `expression`. */
export function recordFilter(expression: string): (linktype: number, data: Uint8Array, origLen: number) => boolean {
  const programFor = filterProgramsFor(expression);
  return (linktype, data, origLen) => programFor(linktype)(data, origLen) !== 0;
}

/**
 * `expression` as a test on the reader's packets (PacketRef, or any frame with its bytes in a buffer):
 * true when the record passes. The program is looked up once per change of link type.
 */
export function packetFilter(expression: string): (p: PacketRef) => boolean {
  const programFor = filterProgramsFor(expression);
  let linktype = -1;
  let program: ClassicJsFilter | undefined;
  return (p) => {
    if (p.linktype !== linktype) {
      program = programFor(p.linktype);
      linktype = p.linktype;
    }
    const b = p.bytes;
    return program!(new Uint8Array(b.buffer, b.byteOffset + p.offset, p.caplen), p.origLen) !== 0;
  };
}
