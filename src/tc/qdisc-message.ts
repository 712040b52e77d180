/**
 * Qdiscs and HTB classes as rtnetlink payloads, and dumped qdiscs back into fields. clsact and ingress take
 * no options; HTB takes struct tc_htb_glob for the qdisc and struct tc_htb_opt for a class. Rates go with
 * linklayer ethernet, which tells the kernel to compute the rate tables itself (no TCA_HTB_RTAB needed).
 */
import { AttrWriter, parseAttrs, cString, attrU32 } from '../kernel/netlink/codec.js';
import { InputError } from '../util/errors.js';
import { TCA, TCA_HTB, TC_H } from './uapi.js';
import { encodeTcMsg, decodeTcMsg } from './tcmsg.js';
import { makeHandle } from './handle.js';

/** A qdisc to add or delete: kind, device, parent and handle. */
export interface QdiscSpec {
  ifindex: number;
  kind: string;
  parent: number;
  handle: number;
  /** HTB's default class minor (`default N`). */
  htbDefault?: number;
  /** HTB's rate-to-quantum divisor (`r2q N`, default 10). */
  htbR2q?: number;
}

/** The spec tc uses for `clsact` and `ingress`: handle ffff:, parent ffff:fff1. */
export function hookQdisc(ifindex: number, kind: 'clsact' | 'ingress'): QdiscSpec {
  return { ifindex, kind, parent: kind === 'clsact' ? TC_H.CLSACT : TC_H.INGRESS, handle: makeHandle(0xffff, 0) };
}

/** RTM_NEWQDISC / RTM_DELQDISC payload. */
export function encodeQdisc(q: QdiscSpec, withOptions = true): Uint8Array {
  const w = new AttrWriter().raw(encodeTcMsg({ ifindex: q.ifindex, handle: q.handle, parent: q.parent, info: 0 }));
  if (q.kind) w.string(TCA.KIND, q.kind);
  if (withOptions && q.kind === 'htb') {
    const glob = new Uint8Array(20);
    const dv = new DataView(glob.buffer);
    dv.setUint32(0, 3, true); // HTB_VER >> 16
    dv.setUint32(4, q.htbR2q ?? 10, true); // rate2quantum (tc's default r2q is 10)
    dv.setUint32(8, q.htbDefault ?? 0, true);
    w.begin(TCA.OPTIONS).attr(TCA_HTB.INIT, glob).end();
  }
  return w.bytes();
}

/** An HTB class (`class add dev D parent 1: classid 1:10 htb rate R [ceil C] [burst B] [prio P]`). */
export interface HtbClassSpec {
  ifindex: number;
  parent: number;
  classid: number;
  /** Bytes per second. */
  rate: number;
  ceil?: number;
  /** Bytes that may go at once (default tc's: rate / HZ + MTU, 1600 on this HZ). */
  burst?: number;
  cburst?: number;
  prio?: number;
}

/** psched ticks per microsecond: /proc/net/psched's t2us/us2t (15.625 on current kernels). */
export const TICKS_PER_USEC = 1000 / 64;

/** Transmission time of `bytes` at `rate` bytes/s, in psched ticks (tc_calc_xmittime). */
export const xmitTicks = (rate: number, bytes: number): number =>
  Math.min(0xffffffff, Math.floor(Math.floor((1e6 * bytes) / rate) * TICKS_PER_USEC));

/** RTM_NEWTCLASS payload for an HTB class. */
export function encodeHtbClass(c: HtbClassSpec): Uint8Array {
  const ceil = c.ceil ?? c.rate;
  const opt = new Uint8Array(44);
  const dv = new DataView(opt.buffer);
  const ratespec = (at: number, bytesPerSec: number) => {
    dv.setUint8(at + 1, 1); // TC_LINKLAYER_ETHERNET
    dv.setUint32(at + 8, Math.min(bytesPerSec, 0xffffffff), true);
  };
  ratespec(0, c.rate);
  ratespec(12, ceil);
  dv.setUint32(24, xmitTicks(c.rate, c.burst ?? 1600), true);
  dv.setUint32(28, xmitTicks(ceil, c.cburst ?? 1600), true);
  dv.setUint32(40, c.prio ?? 0, true);
  const w = new AttrWriter().raw(encodeTcMsg({ ifindex: c.ifindex, handle: c.classid, parent: c.parent, info: 0 }));
  w.string(TCA.KIND, 'htb').begin(TCA.OPTIONS).attr(TCA_HTB.PARMS, opt);
  if (c.rate > 0xffffffff) w.attr(TCA_HTB.RATE64, u64(c.rate));
  if (ceil > 0xffffffff) w.attr(TCA_HTB.CEIL64, u64(ceil));
  return w.end().bytes();
}

function u64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}

/** tc's rate words ("1mbit", "100kbit", "10mbps", "800bit") in bytes per second. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)(bit|bps)?$/i.exec(text);
  if (!m) throw new InputError(`'${text}' is not a rate (e.g. 1mbit, 100kbit, 10mbps)`, 'rate');
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const unit = (m[3] ?? 'bit').toLowerCase();
  const bytes = (Number(m[1]) * scale) / (unit === 'bit' ? 8 : 1);
  if (bytes < 1) throw new InputError(`rate '${text}' is below one byte per second`, 'rate');
  return Math.round(bytes);
}

/** A qdisc as the kernel dumps it. */
export interface QdiscEntry {
  ifindex: number;
  kind: string;
  handle: number;
  parent: number;
  refcnt: number;
  /** HTB: r2q, default class, direct packets, direct queue length. */
  htb?: { r2q: number; defcls: number; directPkts: number; directQlen?: number };
}

/** Decode one RTM_NEWQDISC message of a dump. */
export function decodeQdisc(payload: Uint8Array): QdiscEntry {
  const t = decodeTcMsg(payload);
  const attrs = parseAttrs(t.rest);
  const e: QdiscEntry = {
    ifindex: t.ifindex,
    kind: attrs.has(TCA.KIND) ? cString(attrs.get(TCA.KIND)!) : '',
    handle: t.handle,
    parent: t.parent,
    refcnt: t.info,
  };
  const opts = attrs.get(TCA.OPTIONS);
  if (e.kind === 'htb' && opts) {
    const o = parseAttrs(opts);
    const init = o.get(TCA_HTB.INIT);
    if (init && init.length >= 20) {
      const dv = new DataView(init.buffer, init.byteOffset, 20);
      e.htb = {
        r2q: dv.getUint32(4, true),
        defcls: dv.getUint32(8, true),
        directPkts: dv.getUint32(16, true),
        directQlen: attrU32(o.get(TCA_HTB.DIRECT_QLEN)),
      };
    }
  }
  return e;
}
