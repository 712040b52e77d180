/**
 * tc's handle notation: 32-bit ids split into major:minor, written in hex ("1:", "1:10", ":5", "ffff:fff1"),
 * plus the names tc accepts for special parents (root, ingress, egress, none).
 */
import { InputError } from '../util/errors.js';
import { TC_H } from './uapi.js';

/** major << 16 | minor. */
export const makeHandle = (major: number, minor: number): number => ((major << 16) | (minor & 0xffff)) >>> 0;

/** The parent of a clsact qdisc's ingress or egress hook. */
export const clsactParent = (hook: 'ingress' | 'egress'): number =>
  makeHandle(0xffff, hook === 'ingress' ? TC_H.MIN_INGRESS : TC_H.MIN_EGRESS);

/**
 * Parse "MAJ:MIN", "MAJ:" or ":MIN" (hex, as tc reads them) or a special name. `what` names the option in errors.
 */
export function parseHandle(text: string, what = 'handle'): number {
  const t = text.toLowerCase();
  if (t === 'root') return TC_H.ROOT;
  if (t === 'none') return TC_H.UNSPEC;
  if (t === 'ingress') return TC_H.INGRESS;
  const m = /^([0-9a-f]{0,4}):([0-9a-f]{0,4})$/.exec(t);
  if (!m) throw new InputError(`'${text}' is not a tc handle (hex MAJ:MIN, e.g. 1: or 1:10)`, what);
  return makeHandle(m[1] ? parseInt(m[1], 16) : 0, m[2] ? parseInt(m[2], 16) : 0);
}

/** tc's print form: "root", "none", "1:", ":5", "1:10" (hex). */
export function formatHandle(h: number): string {
  h >>>= 0;
  if (h === TC_H.ROOT) return 'root';
  if (h === TC_H.UNSPEC) return 'none';
  const maj = h >>> 16;
  const min = h & 0xffff;
  if (maj === 0) return `:${min.toString(16)}`;
  if (min === 0) return `${maj.toString(16)}:`;
  return `${maj.toString(16)}:${min.toString(16)}`;
}

/** A filter handle as tc reads it: a number in any C base (0x.. hex, 0.. octal, else decimal). */
export function parseFilterHandle(text: string): number {
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(text)) v = parseInt(text, 16);
  else if (/^0[0-7]*$/.test(text)) v = parseInt(text, 8);
  else if (/^[1-9]\d*$/.test(text)) v = Number(text);
  else throw new InputError(`'${text}' is not a filter handle (a number)`, 'handle');
  if (v > 0xffffffff) throw new InputError(`${text} does not fit 32 bits`, 'handle');
  return v;
}
