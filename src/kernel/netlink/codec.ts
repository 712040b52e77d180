/**
 * Netlink messages and attributes as bytes, with no syscall: `struct nlmsghdr` (16 bytes: len, type, flags,
 * seq, pid), attributes (`struct nlattr`: u16 len, u16 type, payload padded to 4 bytes; NLA_F_NESTED marks a
 * nest) and the error message (`struct nlmsgerr`: an errno, the offending header and, with extended ACK, the
 * kernel's own sentence in NLMSGERR_ATTR_MSG). Host byte order throughout, as netlink uses.
 *
 * The socket in ./socket.ts moves these bytes; rtnetlink users (src/tc) build payloads with `AttrWriter`.
 */

/** Message types every netlink family shares. */
export const NLMSG_NOOP = 1;
/** An error or, with errno 0, an acknowledgement. */
export const NLMSG_ERROR = 2;
/** The end of a multipart dump. */
export const NLMSG_DONE = 3;

/** nlmsghdr flags. */
export const NLM_F_REQUEST = 0x1;
/** One message of a multipart reply (a dump): more follow until NLMSG_DONE. */
export const NLM_F_MULTI = 0x2;
/** Ask for an acknowledgement (an NLMSG_ERROR with errno 0) on success. */
export const NLM_F_ACK = 0x4;
/** GET: dump every object (NLM_F_ROOT | NLM_F_MATCH). */
export const NLM_F_DUMP = 0x300;
/** NEW: replace an existing object. */
export const NLM_F_REPLACE = 0x100;
/** NEW: fail when the object exists. */
export const NLM_F_EXCL = 0x200;
/** NEW: create the object when it does not exist. */
export const NLM_F_CREATE = 0x400;
/** ACK flag: the error message carries extended ACK attributes (TLVs after the header). */
export const NLM_F_ACK_TLVS = 0x200;
/** Dump flag: the table changed while it was being dumped; the messages may be inconsistent (start over). */
export const NLM_F_DUMP_INTR = 0x10;
/** ACK flag: the echoed request was cut to its header. */
export const NLM_F_CAPPED = 0x100;

/** The nest bit of an attribute type. */
export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

/** Extended ACK attributes (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR_MSG = 1;
/** The offset, in the request, of the attribute the kernel refused. */
export const NLMSGERR_ATTR_OFFS = 2;

/** Size of struct nlmsghdr. */
export const NLMSG_HDRLEN = 16;

/** Round up to netlink's 4-byte alignment. */
export const align4 = (n: number): number => (n + 3) & ~3;

/** One parsed netlink message: its header fields and payload (a view into the receive buffer copy). */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Uint8Array;
}

/** A whole message: header then `payload` (already laid out by the caller). */
export function encodeMessage(type: number, flags: number, seq: number, payload: Uint8Array): Uint8Array {
  const len = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(align4(len));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  dv.setUint32(12, 0, true);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/** The messages in one datagram. A length that does not fit ends the walk with an error (a kernel bug or a short read). */
export function splitMessages(buf: Uint8Array): NetlinkMessage[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NetlinkMessage[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= buf.length) {
    const len = dv.getUint32(at, true);
    if (len < NLMSG_HDRLEN || at + len > buf.length)
      throw new Error(`netlink: message at ${at} claims ${len} bytes, ${buf.length - at} left`);
    out.push({
      type: dv.getUint16(at + 4, true),
      flags: dv.getUint16(at + 6, true),
      seq: dv.getUint32(at + 8, true),
      pid: dv.getUint32(at + 12, true),
      payload: buf.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += align4(len);
  }
  return out;
}

/** What an NLMSG_ERROR says: errno (positive; 0 is an ACK) and the extended ACK text when the kernel gave one. */
export interface NetlinkAck {
  errno: number;
  message?: string;
  /** Byte offset in the request of the attribute the kernel pointed at (NLMSGERR_ATTR_OFFS). */
  offset?: number;
}

/**
 * Decode the NLMSG_DONE that ends a dump: an int, the dump's own error (negative errno; 0 when it went
 * well), then extended ACK attributes when NLM_F_ACK_TLVS is set. A dump that failed part way ends with
 * DONE, not NLMSG_ERROR: what came before it is not the whole table.
 */
export function parseDone(m: NetlinkMessage): NetlinkAck {
  const p = m.payload;
  if (p.length < 4) return { errno: 0 };
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const ack: NetlinkAck = { errno: -dv.getInt32(0, true) || 0 };
  if (m.flags & NLM_F_ACK_TLVS) {
    const msg = parseAttrs(p.subarray(4)).get(NLMSGERR_ATTR_MSG);
    if (msg) ack.message = cString(msg);
  }
  return ack;
}

/** Decode struct nlmsgerr (int error; struct nlmsghdr msg; [payload]; [TLVs]) from an NLMSG_ERROR message. */
export function parseAck(m: NetlinkMessage): NetlinkAck {
  const p = m.payload;
  if (p.length < 4) return { errno: 0 };
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const errno = -dv.getInt32(0, true) || 0; // never -0
  const ack: NetlinkAck = { errno };
  if (!(m.flags & NLM_F_ACK_TLVS) || p.length < 4 + NLMSG_HDRLEN) return ack;
  // Without NLM_F_CAPPED the kernel echoes the whole request before the TLVs.
  const echoedLen = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : dv.getUint32(4, true);
  const tlvs = parseAttrs(p.subarray(Math.min(p.length, 4 + align4(echoedLen))));
  const msg = tlvs.get(NLMSGERR_ATTR_MSG);
  if (msg) ack.message = cString(msg);
  const offs = tlvs.get(NLMSGERR_ATTR_OFFS);
  if (offs && offs.length >= 4) ack.offset = new DataView(offs.buffer, offs.byteOffset, 4).getUint32(0, true);
  return ack;
}

/**
 * The attributes of a stream, by type (nest bit and byte-order bit cleared). A type that occurs more than
 * once keeps the first; `parseAttrList` keeps them all in order. Truncated attributes end the walk.
 */
export function parseAttrs(buf: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (const [type, value] of parseAttrList(buf)) if (!out.has(type)) out.set(type, value);
  return out;
}

/** Every attribute of a stream in order, as [type, payload] pairs. */
export function parseAttrList(buf: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = buf[at]! | (buf[at + 1]! << 8);
    const type = (buf[at + 2]! | (buf[at + 3]! << 8)) & NLA_TYPE_MASK;
    if (len < 4 || at + len > buf.length) break;
    out.push([type, buf.subarray(at + 4, at + len)]);
    at += align4(len);
  }
  return out;
}

/** The text of a NUL-terminated string attribute. */
export function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return Buffer.from(b.subarray(0, end < 0 ? b.length : end)).toString('utf8');
}

/** A u32 attribute payload (host order). */
export function attrU32(b: Uint8Array | undefined): number | undefined {
  if (!b || b.length < 4) return undefined;
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

/**
 * Builds a payload: a fixed header struct, then attributes, nests closed in order. Grows as needed;
 * `bytes()` returns the finished payload.
 */
export class AttrWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private readonly open: number[] = [];

  private reserve(n: number): number {
    const need = this.len + align4(n);
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    const at = this.len;
    this.len = need;
    return at;
  }

  /** Raw bytes (a fixed struct such as struct tcmsg), padded to 4. */
  raw(data: Uint8Array): this {
    const at = this.reserve(data.length);
    this.buf.set(data, at);
    return this;
  }

  /** An attribute with `data` as payload. */
  attr(type: number, data: Uint8Array): this {
    const at = this.reserve(4 + data.length);
    this.header(at, 4 + data.length, type);
    this.buf.set(data, at + 4);
    return this;
  }

  /** A u32 attribute. */
  u32(type: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    return this.attr(type, b);
  }

  /** A u16 attribute. */
  u16(type: number, value: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, value, true);
    return this.attr(type, b);
  }

  /** A NUL-terminated string attribute. */
  string(type: number, value: string): this {
    const s = Buffer.from(value, 'utf8');
    const b = new Uint8Array(s.length + 1);
    b.set(s);
    return this.attr(type, b);
  }

  /** Open a nested attribute; `end()` closes the innermost one. */
  begin(type: number): this {
    const at = this.reserve(4);
    this.header(at, 4, type | NLA_F_NESTED);
    this.open.push(at);
    return this;
  }

  /** Close the innermost open nest, fixing its length. */
  end(): this {
    const at = this.open.pop();
    if (at === undefined) throw new Error('AttrWriter.end() without begin()');
    const len = this.len - at;
    this.buf[at] = len & 0xff;
    this.buf[at + 1] = len >> 8;
    return this;
  }

  /** The payload built so far (a copy). */
  bytes(): Uint8Array {
    if (this.open.length) throw new Error('AttrWriter: a nest is still open');
    return this.buf.slice(0, this.len);
  }

  private header(at: number, len: number, type: number): void {
    if (len > 0xffff) throw new Error(`netlink attribute of ${len} bytes does not fit 16 bits`);
    this.buf[at] = len & 0xff;
    this.buf[at + 1] = len >> 8;
    this.buf[at + 2] = type & 0xff;
    this.buf[at + 3] = (type >> 8) & 0xff;
  }
}
