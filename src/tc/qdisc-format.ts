/** `tc qdisc show` lines as iproute2 prints them (kind, handle, parent or root, refcnt, HTB's options). */
import { formatHandle } from './handle.js';
import { TC_H } from './uapi.js';
import type { QdiscEntry } from './qdisc-message.js';

/** One qdisc line, ending in a newline; `devName` is printed when the request named no device. */
export function formatQdisc(q: QdiscEntry, devName?: string): string {
  let s = `qdisc ${q.kind} ${(q.handle >>> 16).toString(16)}: `;
  if (devName !== undefined) s += `dev ${devName} `;
  if (q.parent === TC_H.ROOT) s += 'root ';
  else if (q.parent) s += `parent ${formatHandle(q.parent)} `;
  if (q.refcnt !== 1 && q.refcnt !== 0) s += `refcnt ${q.refcnt} `;
  if (q.kind === 'ingress') s += '----------------';
  if (q.htb) {
    s += `r2q ${q.htb.r2q} default ${q.htb.defcls ? `0x${q.htb.defcls.toString(16)}` : '0'} direct_packets_stat ${q.htb.directPkts}`;
    if (q.htb.directQlen !== undefined) s += ` direct_qlen ${q.htb.directQlen}`;
  }
  return `${s}\n`;
}
