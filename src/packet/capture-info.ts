/**
 * What `bpfkit pcap info` reports, computed in one streaming pass: counts, byte totals, link types,
 * earliest/latest timestamps. On a corrupt file the summary of everything before the fault is kept
 * alongside the error.
 */
import { BpfkitError } from '../util/errors.js';
import { openCapture } from './capture-reader.js';
import { linktypeName } from './linktype.js';
import { exactSeconds } from './packet.js';
import type { CaptureFormat } from './capture-format.js';

/** What `bpfkit pcap info` reports of a capture file (like capinfos). */
export interface CaptureInfo {
  file: string;
  format: CaptureFormat;
  /** "little" | "big" (pcapng: of the first section) */
  byteOrder: string;
  /** pcap: "microseconds" | "nanoseconds"; pcapng: per interface */
  timestampResolution: string;
  packets: number;
  /** records whose captured length exceeds the snapshot length (read anyway, counted as an anomaly) */
  oversizedRecords: number;
  /** captured bytes (sum of caplen) */
  bytes: number;
  /** bytes on the wire (sum of origLen) */
  wireBytes: number;
  linktypes: string[];
  /** pcap: the header's; pcapng: the largest interface snaplen (0 = unlimited) */
  snaplen: number;
  interfaces: Array<{ id: number; linktype: string; snaplen: number; name?: string; tsresol: string }>;
  sections: number;
  /** earliest / latest packet timestamps: seconds since 1970 with a 9-digit fraction, as a string */
  firstEpoch: string | null;
  lastEpoch: string | null;
  /** the same instants in ISO-8601 UTC with nanoseconds */
  first: string | null;
  last: string | null;
  /** last - first in seconds (9 decimals) */
  duration: string | null;
  /** set when the file is corrupt: what was counted above stops before this fault */
  error?: string;
}

/** Read a whole capture and summarize it. A fault after some packets still returns what came before, with the error. */
export async function captureInfo(path: string): Promise<{ info: CaptureInfo; error?: BpfkitError }> {
  const reader = await openCapture(path);
  let packets = 0;
  let bytes = 0;
  let wireBytes = 0;
  // (seconds a double cannot hold come as bigints: exactSeconds; < and > compare the two kinds exactly)
  let firstSec: number | bigint = Infinity;
  let firstNsec = 0;
  let lastSec: number | bigint = -Infinity;
  let lastNsec = 0;
  const linktypes = new Set<number>();
  let fault: BpfkitError | undefined;
  try {
    await reader.forEachPacket((p) => {
      packets++;
      bytes += p.caplen;
      wireBytes += p.origLen;
      if (!linktypes.has(p.linktype)) linktypes.add(p.linktype);
      let sec = exactSeconds(p);
      let nsec = p.tsNsec;
      if (nsec >= 1e9) {
        // A pcap record whose microsecond field says a second or more (a broken writer, a fuzzed file):
        // the time it adds up to, as every other reader of the record here takes it (sec + frac).
        sec = typeof sec === 'bigint' ? sec + BigInt(Math.floor(nsec / 1e9)) : sec + Math.floor(nsec / 1e9);
        nsec %= 1e9;
      }
      if (sec < firstSec || (same(sec, firstSec) && nsec < firstNsec)) {
        firstSec = sec;
        firstNsec = nsec;
      }
      if (sec > lastSec || (same(sec, lastSec) && nsec > lastNsec)) {
        lastSec = sec;
        lastNsec = nsec;
      }
    });
  } catch (err) {
    if (!(err instanceof BpfkitError)) throw err;
    fault = err;
  } finally {
    await reader.close();
  }
  const ifaces = reader.interfaces;
  const resName = (r: { decimal: boolean; exponent: number }) =>
    r.decimal
      ? (({ 3: 'milliseconds', 6: 'microseconds', 9: 'nanoseconds' } as Record<number, string>)[r.exponent] ??
        `10^-${r.exponent} s`)
      : `2^-${r.exponent} s`;
  const info: CaptureInfo = {
    file: path,
    format: reader.format,
    byteOrder: reader.littleEndian === false ? 'big' : 'little',
    timestampResolution: [...new Set(ifaces.map((i) => resName(i.tsresol)))].join(', ') || 'unknown',
    packets,
    oversizedRecords: reader.oversizedRecords,
    bytes,
    wireBytes,
    linktypes: [...(linktypes.size ? linktypes : new Set(ifaces.map((i) => i.linktype)))].map(linktypeName),
    snaplen: ifaces.reduce((m, i) => Math.max(m, i.snaplen), 0),
    interfaces: ifaces.map((i, id) => ({
      id,
      linktype: linktypeName(i.linktype),
      snaplen: i.snaplen,
      ...(i.name !== undefined ? { name: i.name } : {}),
      tsresol: resName(i.tsresol),
    })),
    sections: reader.format === 'pcapng' ? reader.sections.length : 1,
    firstEpoch: packets ? epoch(firstSec, firstNsec) : null,
    lastEpoch: packets ? epoch(lastSec, lastNsec) : null,
    first: packets ? iso(firstSec, firstNsec) : null,
    last: packets ? iso(lastSec, lastNsec) : null,
    duration: packets ? difference(firstSec, firstNsec, lastSec, lastNsec) : null,
  };
  if (fault) info.error = fault.message;
  return fault ? { info, error: fault } : { info };
}

/** Equal seconds, either kind (a bigint and a number are never `===`). */
const same = (a: number | bigint, b: number | bigint): boolean => !(a < b) && !(a > b);

/** `sec.nnnnnnnnn`, with every digit of the seconds (a bigint's too). */
export function epoch(sec: number | bigint, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/** ISO-8601 UTC with nanoseconds; past what a Date holds (year 275760), the epoch form. */
export function iso(sec: number | bigint, nsec: number): string {
  const d = new Date(Number(sec) * 1000);
  if (Number.isNaN(d.getTime())) return epoch(sec, nsec);
  return `${d.toISOString().slice(0, 19)}.${String(nsec).padStart(9, '0')}Z`;
}

function difference(s1: number | bigint, n1: number, s2: number | bigint, n2: number): string {
  // (in bigints when either side is one: a difference of seconds past 2^53 has all its digits)
  let sec: number | bigint = typeof s1 === 'bigint' || typeof s2 === 'bigint' ? BigInt(s2) - BigInt(s1) : s2 - s1;
  let nsec = n2 - n1;
  if (nsec < 0) {
    nsec += 1e9;
    sec = typeof sec === 'bigint' ? sec - 1n : sec - 1;
  }
  return epoch(sec, nsec);
}
