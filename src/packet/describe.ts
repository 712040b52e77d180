/** One-line, tcpdump-like summaries of decoded packets (for `bpfkit capture` without -w). */
import { IPPROTO, TCP_FLAG } from './decode/constants.js';
import type { PacketView } from './decode/packet-view.js';

const DIRECTION = ['In', 'B', 'M', 'P', 'Out'];

/** One tcpdump-like line for a decoded packet. */
export function describePacket(
  v: PacketView,
  tsSec: number,
  tsNsec: number,
  origLen: number,
  ifname?: string,
  pktType?: number,
): string {
  const d = new Date(tsSec * 1000);
  const time = `${d.toISOString().slice(11, 19)}.${String(tsNsec).padStart(9, '0')}`;
  const head = [time, ifname, pktType !== undefined ? (DIRECTION[pktType] ?? String(pktType)) : undefined]
    .filter((x) => x !== undefined)
    .join(' ');
  let body: string;
  if (v.arpOp >= 0) {
    const ip = (o: number) => (o < 0 ? '?' : `${v.bytes[o]}.${v.bytes[o + 1]}.${v.bytes[o + 2]}.${v.bytes[o + 3]}`);
    body =
      v.arpOp === 1
        ? `ARP who-has ${ip(v.arpTargetIpOffset)} tell ${ip(v.arpSenderIpOffset)}`
        : `ARP op ${v.arpOp} ${ip(v.arpSenderIpOffset)}`;
  } else if (v.ipVersion) {
    const ip = v.ipVersion === 4 ? 'IP' : 'IP6';
    const ports = v.srcPort >= 0;
    const src = ports ? `${v.srcAddr()}.${v.srcPort}` : v.srcAddr();
    const dst = ports ? `${v.dstAddr()}.${v.dstPort}` : v.dstAddr();
    let what: string;
    if (v.proto === IPPROTO.TCP && v.l4Offset >= 0)
      what = `TCP [${tcpFlags(v.tcpFlags)}] seq ${v.tcpSeq} ack ${v.tcpAck} len ${v.payloadLength}`;
    else if (v.proto === IPPROTO.UDP) what = `UDP len ${v.payloadLength}`;
    else if (v.proto === IPPROTO.ICMP || v.proto === IPPROTO.ICMPV6)
      what = `ICMP${v.ipVersion === 6 ? '6' : ''} type ${v.icmpType} code ${v.icmpCode}`;
    else what = `proto ${v.proto}`;
    if (v.isFragment) what += ` (frag id ${v.ipId} offset ${v.fragmentOffset}${v.moreFragments ? '+' : ''})`;
    body = `${ip} ${src} > ${dst}: ${what}`;
  } else {
    body = `ethertype 0x${Math.max(v.etherType, 0).toString(16).padStart(4, '0')}`;
  }
  if (v.vlanCount) body = `vlan ${v.vlanOuter}${v.vlanCount > 1 ? `/${v.vlanInner}` : ''} ${body}`;
  if (v.truncated) body += ' [truncated]';
  if (v.malformed) body += ' [malformed]';
  return `${head} ${body}, length ${origLen}`;
}

function tcpFlags(f: number): string {
  let s = '';
  if (f & TCP_FLAG.SYN) s += 'S';
  if (f & TCP_FLAG.FIN) s += 'F';
  if (f & TCP_FLAG.RST) s += 'R';
  if (f & TCP_FLAG.PSH) s += 'P';
  if (f & TCP_FLAG.URG) s += 'U';
  if (f & TCP_FLAG.ECE) s += 'E';
  if (f & TCP_FLAG.CWR) s += 'W';
  if (f & TCP_FLAG.ACK) s += '.';
  return s || 'none';
}
