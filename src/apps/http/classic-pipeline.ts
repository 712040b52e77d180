/**
 * The classic design's userspace half (`--mode v1` and `--mode v2`), reproduced faithfully — losses
 * included, because showing them is the point (docs/urls.md lists them):
 *
 * v1: every kept packet whose payload starts with a method/"HTTP" prints its payload up to the first CRLF
 *     (all of it when there is none: a URL split over packets comes out truncated). Response status lines
 *     print too, since the filter keeps "HTTP..." packets.
 * v2: a buffer per session key. A matching packet with a CRLF prints at once and deletes the key from the
 *     kernel map; without a CRLF it is buffered. A later packet of a buffered session is appended until a
 *     CRLF arrives (print, delete both) or the buffer passes 8192 bytes ("url too long", delete both). A
 *     session packet with no buffer deletes the stale map entry. Every 50 packets a cleanup stamps new map
 *     entries (timestamp 0) with the current time and deletes entries older than 30 s — "current time" is
 *     the packet's capture time for files, the clock for live capture.
 *
 * Like the original, frames are read as Ethernet + IPv4 at fixed offsets (ETH_HLEN = 14). Frames of any
 * other link type never reach the filter (its offsets would read garbage); they, Ethernet frames that
 * are not IPv4 (IPv6, VLAN tags) and IPv4 frames carrying a tunnel (GRE, VXLAN...) are counted by what they are, and when they are most of the
 * capture the summary carries a warning naming them — `bpfkit urls` exits 1 and points at full mode,
 * which decodes them — instead of a silent zero.
 */
import type { ClassicFilter } from './classic-filter.js';
import { sessionKey } from './classic-filter.js';
import type { UrlPipeline, UrlSummary } from './pipeline.js';
import type { UrlRecord } from './record.js';
import { formatIPv4 } from '../../packet/decode/format.js';
import { frameBytes, type Frame } from '../../packet/frame.js';
import { LINKTYPE, linktypeName } from '../../packet/linktype.js';
import { PacketView } from '../../packet/decode/packet-view.js';

export const CLEANUP_N_PACKETS = 50;
export const MAX_URL_STRING_LEN = 8192;
export const MAX_AGE_SECONDS = 30;

const ETH_HLEN = 14;
const PREFIXES = ['GET', 'POST', 'HTTP', 'PUT', 'DELETE', 'HEAD'];

export interface ClassicOutput {
  /** a printed line (text output) */
  text(line: string): void;
  /** a request line as a record (json output); response status lines are not records */
  record?(rec: UrlRecord): void;
}

export class ClassicPipeline implements UrlPipeline {
  private seen = 0;
  private kept = 0;
  private printed = 0;
  private tooLong = 0;
  private sessionsSeen = 0;
  private truncated = 0;
  /** frames of another link type than Ethernet, by link type */
  private readonly otherLinks = new Map<number, number>();
  /** Ethernet frames whose EtherType is not IPv4 */
  private notIPv4 = 0;
  /** Ethernet + IPv4 frames carrying a tunnel (GRE, VXLAN, IP in IP...): HTTP inside is out of reach */
  private tunnelled = 0;
  /** decodes the IPv4 frames that are not TCP, to tell a tunnel from ordinary UDP or ICMP */
  private readonly view = new PacketView();
  /** frames the snapshot length cut short */
  private cut = 0;
  /** v2's local dictionary: key (hex) -> payload collected so far, with the first packet's addresses */
  private readonly local = new Map<
    string,
    { text: string; rec: Omit<UrlRecord, 'method' | 'uri' | 'version' | 'url'> }
  >();

  constructor(
    readonly version: 1 | 2,
    private readonly filter: ClassicFilter,
    private readonly out: ClassicOutput,
    /** live capture: clean up with the clock; files: with capture time */
    private readonly clock?: () => number,
  ) {}

  packet(frame: Frame): void {
    this.seen++;
    if (!this.ethernetIPv4(frame)) return;
    const bytes = frameBytes(frame);
    if (!this.filter.keep(bytes)) return;
    this.kept++;
    this.userspace(bytes, frame.ts);
  }

  /** A frame the filter already kept (the kernel ran it on a live socket). */
  keptPacket(frame: Frame): void {
    this.seen++;
    this.kept++;
    if (!this.ethernetIPv4(frame)) return;
    this.userspace(frameBytes(frame), frame.ts);
  }

  /** Counts what the classic design cannot read; true for an Ethernet frame (its EtherType IPv4 or not). */
  private ethernetIPv4(frame: Frame): boolean {
    if (frame.caplen < frame.origLen) this.cut++;
    if (frame.linktype !== LINKTYPE.EN10MB) {
      this.otherLinks.set(frame.linktype, (this.otherLinks.get(frame.linktype) ?? 0) + 1);
      return false;
    }
    const b = frame.bytes;
    const o = frame.offset;
    if (frame.caplen < ETH_HLEN + 20) return true;
    if (b[o + 12] !== 0x08 || b[o + 13] !== 0x00) this.notIPv4++;
    else if (b[o + ETH_HLEN + 9] !== 6) {
      const v = this.view.decode(b, frame.linktype, o, o + frame.caplen);
      if (v.encapDepth > 0) this.tunnelled++;
    }
    return true;
  }

  private userspace(f: Uint8Array, ts: number): void {
    if (f.length < ETH_HLEN + 20) return;
    const ihl = (f[ETH_HLEN]! & 15) << 2;
    const total = (f[ETH_HLEN + 2]! << 8) | f[ETH_HLEN + 3]!;
    const tcp = ETH_HLEN + ihl;
    if (tcp + 20 > f.length) return;
    const thl = (f[tcp + 12]! >> 4) << 2;
    const payloadOff = tcp + thl;
    const end = Math.min(f.length, ETH_HLEN + total);
    const payload =
      payloadOff < end ? Buffer.from(f.buffer, f.byteOffset + payloadOff, end - payloadOff).toString('latin1') : '';
    const src =
      ((f[ETH_HLEN + 12]! << 24) | (f[ETH_HLEN + 13]! << 16) | (f[ETH_HLEN + 14]! << 8) | f[ETH_HLEN + 15]!) >>> 0;
    const dst =
      ((f[ETH_HLEN + 16]! << 24) | (f[ETH_HLEN + 17]! << 16) | (f[ETH_HLEN + 18]! << 8) | f[ETH_HLEN + 19]!) >>> 0;
    const sport = (f[tcp]! << 8) | f[tcp + 1]!;
    const dport = (f[tcp + 2]! << 8) | f[tcp + 3]!;
    const base = {
      ts,
      src: formatIPv4(f, ETH_HLEN + 12),
      dst: formatIPv4(f, ETH_HLEN + 16),
      sport,
      dport,
      host: '',
      status: null,
      latency_ms: null,
      truncated: false,
    };
    const matched = PREFIXES.some((p) => payload.startsWith(p));

    if (this.version === 1) {
      if (matched) this.print(payload, base, payload.indexOf('\r\n') < 0);
      return;
    }

    const sessions = this.filter.sessions!;
    const key = sessionKey(src, dst, sport, dport);
    const id = Buffer.from(key).toString('hex');
    if (matched) {
      this.sessionsSeen++;
      if (payload.includes('\r\n')) {
        this.print(payload, base, false);
        sessions.delete(key);
      } else {
        this.local.set(id, { text: payload, rec: base });
      }
    } else if (sessions.lookup(key) !== undefined) {
      const prev = this.local.get(id);
      if (prev) {
        const text = prev.text + payload;
        if (payload.includes('\r\n')) {
          this.print(text, prev.rec, false);
          sessions.delete(key);
          this.local.delete(id);
        } else if (text.length > MAX_URL_STRING_LEN) {
          this.tooLong++;
          this.truncated++;
          this.out.text('url too long');
          sessions.delete(key);
          this.local.delete(id);
        } else {
          prev.text = text;
        }
      } else {
        // A map entry with nothing buffered is stale (its line already printed): drop it.
        sessions.delete(key);
      }
    }
    if (this.kept % CLEANUP_N_PACKETS === 0) this.cleanup(this.clock ? this.clock() : ts);
  }

  /** Stamp new entries with `now`; delete entries older than MAX_AGE_SECONDS. */
  private cleanup(now: number): void {
    const sessions = this.filter.sessions!;
    const nowSec = Math.floor(now);
    for (const key of [...sessions.keys()]) {
      const v = sessions.lookup(key);
      if (!v) continue;
      const stamp = Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true));
      if (stamp === 0) {
        const nv = new Uint8Array(8);
        new DataView(nv.buffer).setBigUint64(0, BigInt(nowSec), true);
        sessions.update(key, nv);
      } else if (nowSec - stamp > MAX_AGE_SECONDS) {
        sessions.delete(key);
        this.local.delete(Buffer.from(key).toString('hex'));
      }
    }
  }

  private print(text: string, base: Omit<UrlRecord, 'method' | 'uri' | 'version' | 'url'>, noCrlf: boolean): void {
    const cut = text.indexOf('\r\n');
    const line = cut >= 0 ? text.slice(0, cut) : text;
    this.printed++;
    if (noCrlf) this.truncated++;
    this.out.text(line);
    if (this.out.record && !line.startsWith('HTTP')) {
      const [method = '', uri = '', version = ''] = line.split(' ');
      this.out.record({ ...base, method, uri, version, url: uri, truncated: noCrlf });
    }
  }

  finish(): void {}

  summary(): UrlSummary {
    return {
      packets: this.seen,
      kept: this.kept,
      requests: this.printed,
      sessions: this.sessionsSeen,
      truncated: this.truncated,
      kernelDrops: 0,
      extra: {
        'url too long': this.tooLong,
        'frames not Ethernet': [...this.otherLinks.values()].reduce((a, b) => a + b, 0),
        'Ethernet frames not IPv4': this.notIPv4,
        'tunnelled frames': this.tunnelled,
        'frames cut short by the snapshot length': this.cut,
      },
      ...this.warning(),
    };
  }

  /**
   * No silent zero: frames this design cannot read (another link type, not IPv4, cut short) that are
   * most of the capture, or all but nothing, are named in a warning (and `bpfkit urls` exits 1).
   */
  private warning(): { warning?: string } {
    let other = this.notIPv4 + this.tunnelled;
    const named: string[] = [];
    for (const [lt, n] of [...this.otherLinks].sort((a, b) => b[1] - a[1])) {
      other += n;
      named.push(`link type ${linktypeName(lt)}: ${n}`);
    }
    if (this.notIPv4) named.push(`Ethernet not IPv4: ${this.notIPv4}`);
    if (this.tunnelled) named.push(`tunnelled: ${this.tunnelled}`);
    const readable = this.seen - other;
    if (other > 0 && (other * 2 > this.seen || readable === 0))
      return {
        warning:
          `${other} of ${this.seen} frames are not plain Ethernet + IPv4 (${named.join(', ')}), all the classic ` +
          `--mode v${this.version} reads: requests in them cannot be found (--mode full decodes them)`,
      };
    if (this.printed === 0 && this.cut * 2 > this.seen)
      return {
        warning:
          `${this.cut} of ${this.seen} frames were cut short by the capture's snapshot length: ` +
          `requests in them cannot be found`,
      };
    return {};
  }
}
