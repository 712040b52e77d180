/**
 * Names in expressions (`host gw`, `port http`, `ip proto \tcp`, `ether proto \arp`): looked up through
 * an injectable resolver. The default one reads /etc/hosts, /etc/services and /etc/protocols once and
 * never asks the network (libpcap would ask DNS for an unknown host; bpfkit says "unknown host").
 */
import { readFileSync } from 'node:fs';

/** Where names come from. Every method returns undefined for an unknown name. */
export interface NameResolver {
  /** IPv4 addresses (as 32-bit numbers) and IPv6 addresses (16 bytes) of a host name. */
  host(name: string): { v4: number[]; v6: Uint8Array[] } | undefined;
  /** A service's port per transport protocol. */
  service(name: string): { tcp?: number; udp?: number; sctp?: number } | undefined;
  /** An IP protocol number (/etc/protocols). */
  protocol(name: string): number | undefined;
  /** A MAC address (/etc/ethers). */
  ether(name: string): Uint8Array | undefined;
  /** An IPv4 network number as getnetbyname gives it (/etc/networks: `127` is 0x7f). Optional. */
  network?(name: string): number | undefined;
}

// libpcap's own table of Ethernet protocol names (`ether proto \NAME`), from its nametoaddr.c.
/** Ethernet protocol names libpcap knows without any file. */
export const ETHER_PROTO_NAMES: Record<string, number> = {
  pup: 0x0200,
  xns: 0x0600,
  ip: 0x0800,
  ip6: 0x86dd,
  arp: 0x0806,
  rarp: 0x8035,
  sprite: 0x0500,
  mopdl: 0x6001,
  moprc: 0x6002,
  decnet: 0x6003,
  lat: 0x6004,
  sca: 0x6007,
  lanbridge: 0x8038,
  vexp: 0x805b,
  vprod: 0x805c,
  atalk: 0x809b,
  atalkarp: 0x80f3,
  loopback: 0x9000,
  decdts: 0x803e,
  decdns: 0x803c,
};

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter((l) => l.length > 0);
  } catch {
    return [];
  }
}

/** The resolver over the system's files (read on first use, each at most once). */
export function systemResolver(): NameResolver {
  let hosts: Map<string, { v4: number[]; v6: Uint8Array[] }> | undefined;
  let services: Map<string, { tcp?: number; udp?: number; sctp?: number }> | undefined;
  let protocols: Map<string, number> | undefined;
  let ethers: Map<string, Uint8Array> | undefined;
  let networks: Map<string, number> | undefined;
  return {
    network(name) {
      if (!networks) {
        networks = new Map();
        for (const line of readLines('/etc/networks')) {
          const [net, num, ...aliases] = line.split(/\s+/);
          const v = inetNetwork(num ?? '');
          if (v === undefined) continue;
          for (const n of [net!, ...aliases]) if (!networks.has(n)) networks.set(n, v);
        }
      }
      return networks.get(name);
    },
    host(name) {
      if (!hosts) {
        hosts = new Map();
        for (const line of readLines('/etc/hosts')) {
          const [addr, ...names] = line.split(/\s+/);
          const v4 = /^\d+\.\d+\.\d+\.\d+$/.test(addr!)
            ? addr!.split('.').reduce((a, p) => (a << 8) | Number(p), 0) >>> 0
            : undefined;
          const v6 = v4 === undefined ? parseV6(addr!) : undefined;
          for (const n of names) {
            const e = hosts.get(n) ?? { v4: [], v6: [] };
            if (v4 !== undefined && !e.v4.includes(v4)) e.v4.push(v4);
            if (v6) e.v6.push(v6);
            hosts.set(n, e);
          }
        }
      }
      return hosts.get(name);
    },
    service(name) {
      if (!services) {
        services = new Map();
        for (const line of readLines('/etc/services')) {
          const [svc, portProto, ...aliases] = line.split(/\s+/);
          const m = /^(\d+)\/(tcp|udp|sctp)$/.exec(portProto ?? '');
          if (!m) continue;
          for (const n of [svc!, ...aliases]) {
            const e = services.get(n) ?? {};
            const proto = m[2] as 'tcp' | 'udp' | 'sctp';
            if (e[proto] === undefined) e[proto] = Number(m[1]);
            services.set(n, e);
          }
        }
      }
      return services.get(name);
    },
    protocol(name) {
      if (!protocols) {
        protocols = new Map();
        for (const line of readLines('/etc/protocols')) {
          const [p, num, ...aliases] = line.split(/\s+/);
          for (const n of [p!, ...aliases]) if (!protocols.has(n)) protocols.set(n, Number(num));
        }
      }
      return protocols.get(name);
    },
    ether(name) {
      if (!ethers) {
        ethers = new Map();
        for (const line of readLines('/etc/ethers')) {
          const [mac, n] = line.split(/\s+/);
          const bytes = mac?.split(':').map((x) => parseInt(x, 16));
          if (n && bytes?.length === 6 && bytes.every((b) => b >= 0 && b < 256)) ethers.set(n, new Uint8Array(bytes));
        }
      }
      return ethers.get(name);
    },
  };
}

/** inet_network(3): one to four dot-separated parts (decimal, 0x hex or 0 octal), each a byte, packed. */
function inetNetwork(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  let v = 0;
  for (const p of parts) {
    const n = /^0x[0-9a-f]+$/i.test(p)
      ? parseInt(p, 16)
      : /^0[0-7]*$/.test(p)
        ? parseInt(p, 8)
        : /^[0-9]+$/.test(p)
          ? Number(p)
          : NaN;
    if (!(n >= 0 && n <= 255)) return undefined;
    v = ((v << 8) | n) >>> 0;
  }
  return v;
}

function parseV6(s: string): Uint8Array | undefined {
  if (!s.includes(':')) return undefined;
  const parts = s.split('::');
  if (parts.length > 2) return undefined;
  const a = parts[0] ? parts[0].split(':') : [];
  const b = parts.length === 2 && parts[1] ? parts[1].split(':') : [];
  const words = parts.length === 2 ? [...a, ...new Array<string>(8 - a.length - b.length).fill('0'), ...b] : a;
  if (words.length !== 8 || !words.every((w) => /^[0-9a-fA-F]{1,4}$/.test(w))) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}
