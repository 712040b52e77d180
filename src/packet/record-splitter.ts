/**
 * The records of a pcap or pcapng stream as byte ranges, for tools that copy records through untouched
 * (`bpfkit pcap filter`, tcpdump -r IN -w OUT's work). The splitter walks a window of a chunk buffer,
 * asks `keep` about every packet record and lists the byte ranges to copy: kept packet records, the pcap
 * file header and every pcapng block that is not a packet (section and interface headers, name
 * resolution, statistics, custom blocks), so OUT is still a valid file of IN's format. Adjacent ranges are
 * merged, so a run of kept records is written with one copy. A record cut by the window's end stays for
 * the next call; `need` says how many bytes it wants. Nothing is allocated per record beyond the view the
 * filter is given.
 */
import { InputError } from '../util/errors.js';
import { MAX_RECORD_LEN, PCAPNG_SHB } from './capture-format.js';

/** A packet's verdict: the captured bytes and the length on the wire; non-zero keeps the record. */
export type RecordVerdict = (packet: Uint8Array, origLen: number) => number;

/** Splits pcap or pcapng bytes into records (see the file comment). */
export class RecordSplitter {
  /** bytes wanted at the position `split` returned before it can go on */
  need = 24;
  /** packet records seen */
  read = 0;
  /** packet records kept */
  kept = 0;
  private started = false;
  private le = true;
  /** pcap: the file's verdict function (one link type per file) */
  private pcapVerdict: RecordVerdict | undefined;
  /** pcapng: the link type of each interface of the current section */
  private readonly linktypes: number[] = [];

  constructor(
    private readonly path: string,
    readonly format: 'pcap' | 'pcapng',
    /** the verdict for a link type, asked once per pcap file or pcapng interface */
    private readonly verdictFor: (linktype: number) => RecordVerdict,
  ) {
    if (format === 'pcapng') this.need = 12;
  }

  /**
   * Walk the whole records in buf[pos, end) (`base`: the stream offset of buf[0], for messages). Byte
   * ranges to copy are appended to `runs` as start, end pairs (offsets in buf). Returns where it stopped.
   */
  split(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number, runs: number[]): number {
    return this.format === 'pcap'
      ? this.splitPcap(buf, dv, pos, end, base, runs)
      : this.splitPcapng(buf, dv, pos, end, base, runs);
  }

  /** The input ended with `left` bytes of an unfinished record at `at`: throws the matching error. */
  truncated(at: number, left: number): never {
    if (!this.started) throw new InputError(`truncated file header (${left} bytes)`, `${this.path}@${at}`);
    if (this.format === 'pcapng') throw new InputError('truncated block', `${this.path}@${at}`);
    if (left < 16) throw new InputError('truncated record header', `${this.path}@${at}`);
    throw new InputError(`truncated record (${this.need - 16} bytes)`, `${this.path}@${at}`);
  }

  private splitPcap(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number, runs: number[]): number {
    if (!this.started) {
      if (end - pos < 24) return pos;
      const m = dv.getUint32(pos, true);
      if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) this.le = true;
      else if (dv.getUint32(pos, false) === 0xa1b2c3d4 || dv.getUint32(pos, false) === 0xa1b23c4d) this.le = false;
      else throw new InputError('not a pcap or pcapng file (unknown magic)', `${this.path}@${base + pos}`);
      this.pcapVerdict = this.verdictFor(dv.getUint32(pos + 20, this.le) & 0x0fffffff);
      this.started = true;
      add(runs, pos, pos + 24);
      pos += 24;
      this.need = 16;
    }
    const le = this.le;
    const verdict = this.pcapVerdict!;
    const ab = buf.buffer;
    const at0 = buf.byteOffset;
    let read = 0;
    let kept = 0;
    // A run of kept records grows in `runStart..pos` and is listed when a dropped record ends it.
    let runStart = -1;
    try {
      for (;;) {
        if (end - pos < 16) {
          this.need = 16;
          break;
        }
        const cap = dv.getUint32(pos + 8, le);
        if (cap > MAX_RECORD_LEN)
          throw new InputError(
            `captured length ${cap} is past any real record (corrupt record header)`,
            `${this.path}@${base + pos}`,
          );
        const next = pos + 16 + cap;
        if (next > end) {
          this.need = 16 + cap;
          break;
        }
        read++;
        if (verdict(new Uint8Array(ab, at0 + pos + 16, cap), dv.getUint32(pos + 12, le)) !== 0) {
          kept++;
          if (runStart < 0) runStart = pos;
        } else if (runStart >= 0) {
          add(runs, runStart, pos);
          runStart = -1;
        }
        pos = next;
      }
    } finally {
      if (runStart >= 0) add(runs, runStart, pos);
      this.read += read;
      this.kept += kept;
    }
    return pos;
  }

  private splitPcapng(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number, runs: number[]): number {
    for (;;) {
      if (end - pos < 12) {
        this.need = 12;
        return pos;
      }
      const type0 = dv.getUint32(pos, true);
      if (type0 === PCAPNG_SHB) {
        const bom = dv.getUint32(pos + 8, true);
        if (bom === 0x1a2b3c4d) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else throw new InputError('bad byte-order magic', `${this.path}@${base + pos + 8}`);
        this.linktypes.length = 0;
        this.started = true;
      } else if (!this.started) {
        throw new InputError('not a pcap or pcapng file (unknown magic)', `${this.path}@${base + pos}`);
      }
      const le = this.le;
      const type = dv.getUint32(pos, le);
      const len = dv.getUint32(pos + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_LEN)
        throw new InputError(`bad block length ${len}`, `${this.path}@${base + pos + 4}`);
      if (end - pos < len) {
        this.need = len;
        return pos;
      }
      let pass = true;
      if (type === 1) {
        if (len < 20) throw new InputError(`interface block too short (${len} bytes)`, `${this.path}@${base + pos}`);
        this.linktypes.push(dv.getUint16(pos + 8, le));
      } else if (type === 6 || type === 2) {
        if (len < 32) throw new InputError(`packet block too short (${len} bytes)`, `${this.path}@${base + pos}`);
        const iface = type === 6 ? dv.getUint32(pos + 8, le) : dv.getUint16(pos + 8, le);
        const cap = dv.getUint32(pos + 20, le);
        if (28 + cap > len) throw new InputError('packet runs past its block', `${this.path}@${base + pos}`);
        const lt = this.linktypes[iface];
        if (lt === undefined)
          throw new InputError(`packet of undeclared interface ${iface}`, `${this.path}@${base + pos}`);
        pass = this.packet(lt, buf, pos + 28, cap, dv.getUint32(pos + 24, le));
      } else if (type === 3) {
        if (len < 16)
          throw new InputError(`simple packet block too short (${len} bytes)`, `${this.path}@${base + pos}`);
        const orig = dv.getUint32(pos + 8, le);
        const lt = this.linktypes[0];
        if (lt === undefined) throw new InputError('packet before any interface', `${this.path}@${base + pos}`);
        pass = this.packet(lt, buf, pos + 12, Math.min(orig, len - 16), orig);
      }
      if (pass) add(runs, pos, pos + len);
      pos += len;
    }
  }

  /** pcapng: one packet's verdict (the function is looked up per interface link type, once each). */
  private readonly verdicts = new Map<number, RecordVerdict>();
  private packet(linktype: number, buf: Uint8Array, at: number, cap: number, orig: number): boolean {
    let v = this.verdicts.get(linktype);
    if (!v) this.verdicts.set(linktype, (v = this.verdictFor(linktype)));
    this.read++;
    const ok = v(new Uint8Array(buf.buffer, buf.byteOffset + at, cap), orig) !== 0;
    if (ok) this.kept++;
    return ok;
  }
}

/** Append [start, end) to the list of ranges, merged with the last one when they touch. */
function add(runs: number[], start: number, end: number): void {
  const n = runs.length;
  if (n > 0 && runs[n - 1] === start) runs[n - 1] = end;
  else runs.push(start, end);
}
