/**
 * Random but valid-looking pcap-filter expressions from a small grammar, with a fixed seed: primitives
 * of every kind (protocols, host/net/port with direction qualifiers, port ranges, lengths, packet-byte
 * arithmetic, tcp flags and icmp types, vlan/mpls/pppoes, broadcast/multicast), joined by and/or/not and
 * parentheses, with implicit qualifiers carried over (`host a or b`). Some are invalid on purpose (a
 * link-layer primitive on RAW, a port out of range): then both compilers must refuse.
 */
import { rng } from '../cbpf/random-programs.js';

const HOSTS4 = ['10.0.0.1', '10.0.0.2', '10.9.9.9', '8.8.8.8', '192.168.1.5', '224.0.0.251', '127.0.0.1'];
const HOSTS6 = ['fe80::1', '2001:db8::1', '2001:db8:1::53', '::1', 'ff02::1'];
const NETS = ['10.0.0.0/8', '10.0.0.0/24', '192.168.0.0/16', '224.0.0.0/4', '10.0.0', '2001:db8::/32', 'fe80::/10'];
const PORTS = ['22', '53', '80', '443', '8080', '5353', '67', 'http', 'domain', '0', '65535'];
const PROTOS = ['ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp', 'icmp6', 'igmp', 'sctp', 'pim', 'vrrp', 'ah', 'esp'];
const DIRS = ['', 'src ', 'dst ', 'src or dst ', 'src and dst '];
const CMP = ['=', '!=', '>', '<', '>=', '<='];
const ARITH = ['&', '|', '+', '-', '*', '/', '%', '<<', '>>', '^'];
const FLAGS = ['tcp-syn', 'tcp-ack', 'tcp-fin', 'tcp-rst', 'tcp-push', 'tcp-urg', 'tcp-ece', 'tcp-cwr'];
const ICMP_TYPES = ['icmp-echo', 'icmp-echoreply', 'icmp-unreach', 'icmp-timxceed', '3', '8'];
const INDEXED = ['ip', 'tcp', 'udp', 'icmp', 'ether', 'ip6', 'arp'];

/** What the grammar leaves out (the short test run keeps to what bpfkit and libpcap agree on). */
export interface GrammarLimits {
  /** No `<<`/`>>` (a shift by 32 or more: libpcap's userspace filter gives 0, the kernel masks the count). */
  noShifts?: boolean;
  /** Packet-byte access only on these protocols (e.g. no `arp[]`/`ether[]` on PPP). */
  indexed?: readonly string[];
  /** One protocol per comparison (`ip[2:2] - ip[0] > 20`, as people write them), not `ip6[1] ^ icmp[2]`. */
  oneProtocol?: boolean;
  /** Comparisons of one access, optionally masked (`ip[6:2] & 0x1fff != 0`), no arithmetic chains. */
  simpleArithmetic?: boolean;
}

/** An expression generator over `seed`. */
export function expressionGenerator(seed: number, limits: GrammarLimits = {}): () => string {
  const r = rng(seed);
  const ops = limits.noShifts ? ARITH.filter((o) => o !== '<<' && o !== '>>') : ARITH;
  const indexed = limits.indexed ?? INDEXED;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const int = (n: number): number => Math.floor(r() * n);

  const value = (): string => {
    const u = r();
    if (u < 0.5) return String(int(256));
    if (u < 0.7) return `0x${int(0x10000).toString(16)}`;
    if (u < 0.8) return String(int(4) * 1024 + int(2));
    return `${limits.oneProtocol ? proto : pick(indexed)}[${int(40)}]`;
  };
  let proto = '';
  const access = (): string => {
    const size = pick(['', ':1', ':2', ':4']);
    return `${limits.oneProtocol ? proto : pick(indexed)}[${r() < 0.8 ? int(40) : `${int(20)} + ${int(4)}`}${size}]`;
  };
  const arith = (depth: number): string => {
    if (depth > 1 || r() < 0.5) return r() < 0.7 ? access() : r() < 0.5 ? 'len' : value();
    const op = pick(ops);
    // Division and modulo by a constant: never 0 (libpcap refuses it; that is the hand list's case).
    const right = op === '/' || op === '%' ? String(1 + int(16)) : arith(depth + 1);
    return `${arith(depth + 1)} ${op} ${right}`;
  };

  const primitive = (): string => {
    const u = r();
    if (u < 0.14) return pick(PROTOS);
    if (u < 0.26) return `${pick(DIRS)}host ${r() < 0.75 ? pick(HOSTS4) : pick(HOSTS6)}`;
    if (u < 0.32) return `${r() < 0.5 ? pick(['ip ', 'ip6 ', 'arp ']) : ''}${pick(DIRS)}net ${pick(NETS)}`;
    if (u < 0.46) {
      const proto = pick(['', '', 'tcp ', 'udp ', 'sctp ']);
      if (r() < 0.25) {
        const a = int(1024);
        return `${proto}${pick(DIRS)}portrange ${a}-${a + int(20000)}`;
      }
      return `${proto}${pick(DIRS)}port ${r() < 0.03 ? '70000' : pick(PORTS)}`;
    }
    if (u < 0.52) return `${pick(['less', 'greater'])} ${int(200)}`;
    if (u < 0.64) {
      proto = pick(indexed);
      if (limits.simpleArithmetic)
        return `${access()}${r() < 0.4 ? ` & 0x${int(0x10000).toString(16)}` : ''} ${pick(CMP)} ${int(256)}`;
      return `${arith(0)} ${pick(CMP)} ${value()}`;
    }
    if (u < 0.72) {
      const n = 1 + int(3);
      const flags = Array.from({ length: n }, () => pick(FLAGS)).join('|');
      return `tcp[tcpflags] & (${flags}) ${pick(['!= 0', '= 0', `= ${pick(FLAGS)}`])}`;
    }
    if (u < 0.77) return `icmp[icmptype] ${pick(['=', '!='])} ${pick(ICMP_TYPES)}`;
    if (u < 0.83)
      return pick(['vlan', `vlan ${int(200)}`, 'mpls', `mpls ${int(100)}`, 'pppoes', 'pppoed', 'pppoes 0x11']);
    if (u < 0.89)
      return pick(['ether broadcast', 'ether multicast', 'ip multicast', 'ip6 multicast', 'broadcast', 'multicast']);
    if (u < 0.94)
      return pick(['ip proto 17', 'ip6 proto 58', 'ip proto \\tcp', 'ether proto 0x86dd', 'ip[6:2] & 0x1fff != 0']);
    return `ether ${pick(['src', 'dst', 'host'])} ${pick(['00:11:22:33:44:55', '02:00:00:00:00:02', 'ff:ff:ff:ff:ff:ff'])}`;
  };

  const expr = (depth: number): string => {
    const u = r();
    if (depth > 2 || u < 0.35) {
      const p = primitive();
      // An implicit qualifier carried to a bare id: `host a or b`, `port 80 or 443`.
      if (r() < 0.15 && /^(src |dst )?host \d/.test(p)) return `${p} or ${pick(HOSTS4)}`;
      if (r() < 0.15 && /port \d+$/.test(p)) return `${p} or ${pick(['22', '53', '443'])}`;
      return p;
    }
    if (u < 0.45) return `not ${expr(depth + 1)}`;
    if (u < 0.55) return `(${expr(depth + 1)})`;
    return `${expr(depth + 1)} ${pick(['and', 'or', '&&', '||'])} ${expr(depth + 1)}`;
  };
  return () => expr(0);
}
