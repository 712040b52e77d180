/**
 * The rewritten variants of a captured corpus, each with its ground truth:
 * reordered (20%) + repeated (5%), overlapping retransmissions, VLAN, QinQ, fragments (IPv4 and IPv6),
 * IP options / IPv6 extension headers, no handshakes, and everything at once.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPcapFrames, writePcapFrames, type Frame } from './pcap-out.js';
import { ENCAPS, encapsulate } from './encap.js';
import {
  dropHandshakes,
  fragment,
  ipOptions,
  overlapping,
  reorderAndDuplicate,
  vlanTag,
  cutBefore,
} from './rewrite.js';

export const VARIANTS: Record<string, (f: Frame[]) => Frame[]> = {
  'reorder-dup': (f) => reorderAndDuplicate(f, 0.2, 0.05),
  overlap: (f) => overlapping(f, 0.15),
  vlan: (f) => vlanTag(f, false),
  qinq: (f) => vlanTag(f, true),
  fragments: (f) => fragment(f),
  'ip-options': (f) => ipOptions(f),
  'no-handshake': (f) => dropHandshakes(f),
  // Order matters: the rewrites that read TCP headers run before fragmenting and tagging.
  everything: (f) =>
    vlanTag(fragment(ipOptions(reorderAndDuplicate(overlapping(dropHandshakes(f), 0.1), 0.2, 0.05, 7))), true),
};

/** Every link type and tunnel of corpus/encap.ts, as variants named encap-<name>. */
export const ENCAP_VARIANTS = Object.keys(ENCAPS).map((n) => `encap-${n}`);

/** Write every variant of `pcap` into `dir` as <name>.pcap with <name>.truth.jsonl (a copy of `truth`). */
export function writeVariants(
  pcap: string,
  truth: string,
  dir: string,
  names = [...Object.keys(VARIANTS), ...ENCAP_VARIANTS],
): string[] {
  const { linktype, frames } = readPcapFrames(pcap);
  const out: string[] = [];
  for (const name of names) {
    const file = join(dir, `${name}.pcap`);
    if (name.startsWith('encap-')) {
      const e = encapsulate(name.slice(6), frames);
      writePcapFrames(file, e.linktype, e.frames);
    } else writePcapFrames(file, linktype, VARIANTS[name]!(frames));
    copyFileSync(truth, join(dir, `${name}.truth.jsonl`));
    out.push(file);
  }
  return out;
}

/** The mid-connection variant of a `midconn` corpus: each connection's first exchange is cut off. */
export function writeMidConnection(
  pcap: string,
  dir: string,
  truthEntries: { url: string }[],
  truthOut: (kept: unknown[]) => void,
): string {
  const { linktype, frames } = readPcapFrames(pcap);
  const file = join(dir, 'mid-connection.pcap');
  // Cut first: the cut tells connections apart by their SYNs, which the capture then loses.
  writePcapFrames(file, linktype, dropHandshakes(cutBefore(frames, '/mid/skip/', 'GET /')));
  truthOut(truthEntries.filter((t) => !t.url.includes('/mid/skip/')));
  return file;
}
