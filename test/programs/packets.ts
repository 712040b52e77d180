/**
 * Hand-built frames for the program tests: Ethernet + IPv4/IPv6 + TCP/UDP/GRE/VXLAN, with correct IP and
 * L4 checksums (so a test can check that a program's rewrite keeps them correct).
 */
import { internetChecksum } from '../../src/vm/helpers/checksum.js';

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

export function eth(type: number, payload: Uint8Array, dst = new Uint8Array(6), src = new Uint8Array(6)): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

export function ipv4(proto: number, payload: Uint8Array, src = [10, 0, 0, 1], dst = [10, 0, 0, 2], id = 1): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, id);
  dv.setUint16(6, 0x4000);
  p[8] = 64;
  p[9] = proto;
  p.set(src, 12);
  p.set(dst, 16);
  dv.setUint16(10, internetChecksum(p, 0, 20));
  p.set(payload, 20);
  fixL4(p, 20, proto, p.subarray(12, 20));
  return p;
}

export function ipv6(next: number, payload: Uint8Array, src = 1, dst = 2): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x60;
  dv.setUint16(4, payload.length);
  p[6] = next;
  p[7] = 64;
  p[8] = 0xfd;
  p[23] = src;
  p[24] = 0xfd;
  p[39] = dst;
  p.set(payload, 40);
  fixL4(p, 40, next, p.subarray(8, 40));
  return p;
}

/** Fill in the TCP/UDP checksum of the L4 segment at `off` (pseudo header from the addresses). */
function fixL4(p: Uint8Array, off: number, proto: number, addrs: Uint8Array): void {
  const at = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  if (at < 0) return;
  const len = p.length - off;
  const pseudo = new Uint8Array(addrs.length + 4 + len + (len & 1));
  pseudo.set(addrs, 0);
  pseudo[addrs.length + 1] = proto;
  pseudo[addrs.length + 2] = len >> 8;
  pseudo[addrs.length + 3] = len & 0xff;
  p[off + at] = p[off + at + 1] = 0;
  pseudo.set(p.subarray(off), addrs.length + 4);
  let c = internetChecksum(pseudo, 0, addrs.length + 4 + len);
  if (proto === 17 && c === 0) c = 0xffff;
  p[off + at] = c >> 8;
  p[off + at + 1] = c & 0xff;
}

export function tcp(sport: number, dport: number, payload: Uint8Array = new Uint8Array(0), flags = 0x18): Uint8Array {
  const t = new Uint8Array(20 + payload.length);
  const dv = new DataView(t.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint32(4, 1000);
  dv.setUint32(8, 2000);
  t[12] = 0x50;
  t[13] = flags;
  dv.setUint16(14, 65535);
  t.set(payload, 20);
  return t;
}

export function udp(sport: number, dport: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, u.length);
  u.set(payload, 8);
  return u;
}

export function vxlan(vni: number, inner: Uint8Array): Uint8Array {
  const v = new Uint8Array(8 + inner.length);
  v[0] = 0x08;
  v[4] = (vni >> 16) & 0xff;
  v[5] = (vni >> 8) & 0xff;
  v[6] = vni & 0xff;
  v.set(inner, 8);
  return v;
}

export function gre(proto: number, inner: Uint8Array): Uint8Array {
  const g = new Uint8Array(4 + inner.length);
  g[2] = proto >> 8;
  g[3] = proto & 0xff;
  g.set(inner, 4);
  return g;
}

const text = (s: string) => new TextEncoder().encode(s);

export const frames = {
  http: () => eth(ETH_P_IP, ipv4(6, tcp(40000, 80, text('GET / HTTP/1.1\r\nHost: x\r\n\r\n')))),
  https: () => eth(ETH_P_IP, ipv4(6, tcp(40001, 443, text('hello')))),
  udpDns: () => eth(ETH_P_IP, ipv4(17, udp(5353, 53, text('q')))),
  icmp: () => eth(ETH_P_IP, ipv4(1, new Uint8Array([8, 0, 0xf7, 0xff, 0, 0, 0, 0]))),
  vxlan: (vni = 42) => eth(ETH_P_IP, ipv4(17, udp(50000, 4789, vxlan(vni, eth(ETH_P_IP, ipv4(6, tcp(1, 2))))))),
  gre: () => eth(ETH_P_IP, ipv4(47, gre(0x0800, ipv4(17, udp(1, 2))))),
  ipip: () => eth(ETH_P_IP, ipv4(4, ipv4(6, tcp(3, 80)))),
  ipv6Udp: () => eth(ETH_P_IPV6, ipv6(17, udp(1000, 4789, vxlan(7, eth(ETH_P_IP, ipv4(17, udp(1, 1))))))),
  ipv6Tcp: () => eth(ETH_P_IPV6, ipv6(6, tcp(1000, 80))),
  arp: () => eth(0x0806, new Uint8Array(28)),
  /** IPv4 with options (IHL 6) carrying TCP to port 80: exercises the demux's ihl path. */
  httpWithOptions: () => {
    const inner = tcp(40002, 80, text('x'));
    const p = ipv4(6, new Uint8Array(4 + inner.length));
    // rebuild with IHL 6: header 24 bytes
    const h = new Uint8Array(24 + inner.length);
    h.set(p.subarray(0, 20));
    h[0] = 0x46;
    new DataView(h.buffer).setUint16(2, h.length);
    h[10] = h[11] = 0;
    h[20] = 1;
    h[21] = 1;
    h[22] = 1;
    h[23] = 0; // NOP NOP NOP EOL
    new DataView(h.buffer).setUint16(10, internetChecksum(h, 0, 24));
    h.set(inner, 24);
    // TCP checksum with the pseudo header
    const pseudo = new Uint8Array(12 + inner.length);
    pseudo.set(h.subarray(12, 20));
    pseudo[9] = 6;
    new DataView(pseudo.buffer).setUint16(10, inner.length);
    pseudo.set(inner, 12);
    const c = internetChecksum(pseudo);
    h[24 + 16] = c >> 8;
    h[24 + 17] = c & 0xff;
    return eth(ETH_P_IP, h);
  },
};

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
