/**
 * The pcap-filter(7) scanner, following libpcap 1.10's scanner.l: at each position the longest match
 * wins and, between matches of one length, keywords beat numbers beat addresses beat names — so
 * `tcp-syn` is a constant, `tcpx` a name, `1.2.3.4` an address and `10-20` a name (a port range).
 */
import { FilterSyntaxError } from './errors.js';

/** What a token is. `kw` carries the canonical keyword in `text`; `num` its value in `value`. */
export type TokenKind = 'kw' | 'num' | 'hid' | 'hid6' | 'eid' | 'id' | 'op' | 'eof';

/** One token and the 1-based column it starts at. */
export interface Token {
  kind: TokenKind;
  text: string;
  value: number;
  col: number;
}

// Keyword spellings → the keyword the parser sees (aliases fold to one name).
const KEYWORDS: Record<string, string> = {
  dst: 'dst',
  src: 'src',
  link: 'link',
  ether: 'link',
  ppp: 'link',
  slip: 'link',
  fddi: 'link',
  tr: 'link',
  wlan: 'link',
  arp: 'arp',
  rarp: 'rarp',
  ip: 'ip',
  sctp: 'sctp',
  tcp: 'tcp',
  udp: 'udp',
  icmp: 'icmp',
  igmp: 'igmp',
  igrp: 'igrp',
  pim: 'pim',
  vrrp: 'vrrp',
  carp: 'carp',
  radio: 'radio',
  ip6: 'ip6',
  icmp6: 'icmp6',
  ah: 'ah',
  esp: 'esp',
  atalk: 'atalk',
  aarp: 'aarp',
  decnet: 'decnet',
  lat: 'lat',
  sca: 'sca',
  moprc: 'moprc',
  mopdl: 'mopdl',
  iso: 'iso',
  esis: 'esis',
  'es-is': 'esis',
  isis: 'isis',
  'is-is': 'isis',
  l1: 'l1',
  l2: 'l2',
  iih: 'iih',
  lsp: 'lsp',
  snp: 'snp',
  csnp: 'csnp',
  psnp: 'psnp',
  clnp: 'clnp',
  stp: 'stp',
  ipx: 'ipx',
  netbeui: 'netbeui',
  host: 'host',
  net: 'net',
  mask: 'mask',
  port: 'port',
  portrange: 'portrange',
  proto: 'proto',
  protochain: 'protochain',
  gateway: 'gateway',
  type: 'type',
  subtype: 'subtype',
  direction: 'dir',
  dir: 'dir',
  address1: 'addr1',
  addr1: 'addr1',
  address2: 'addr2',
  addr2: 'addr2',
  address3: 'addr3',
  addr3: 'addr3',
  address4: 'addr4',
  addr4: 'addr4',
  ra: 'ra',
  ta: 'ta',
  less: 'less',
  greater: 'greater',
  byte: 'byte',
  broadcast: 'broadcast',
  multicast: 'multicast',
  and: 'and',
  '&&': 'and',
  or: 'or',
  '||': 'or',
  not: 'not',
  len: 'len',
  length: 'len',
  inbound: 'inbound',
  outbound: 'outbound',
  ifindex: 'ifindex',
  vlan: 'vlan',
  mpls: 'mpls',
  pppoed: 'pppoed',
  pppoes: 'pppoes',
  geneve: 'geneve',
  lane: 'lane',
  llc: 'llc',
  metac: 'metac',
  bcc: 'bcc',
  oam: 'oam',
  oamf4: 'oamf4',
  oamf4ec: 'oamf4ec',
  oamf4sc: 'oamf4sc',
  sc: 'sc',
  ilmic: 'ilmic',
  vpi: 'vpi',
  vci: 'vci',
  connectmsg: 'connectmsg',
  metaconnect: 'metaconnect',
  on: 'ifname',
  ifname: 'ifname',
  rset: 'rset',
  ruleset: 'rset',
  rnr: 'rnr',
  rulenum: 'rnr',
  srnr: 'srnr',
  subrulenum: 'srnr',
  reason: 'reason',
  action: 'action',
  fisu: 'fisu',
  lssu: 'lssu',
  lsu: 'lssu',
  msu: 'msu',
  hfisu: 'hfisu',
  hlssu: 'hlssu',
  hmsu: 'hmsu',
  sio: 'sio',
  opc: 'opc',
  dpc: 'dpc',
  sls: 'sls',
  hsio: 'hsio',
  hopc: 'hopc',
  hdpc: 'hdpc',
  hsls: 'hsls',
};

// Named constants the scanner turns into numbers (pcap-filter(7) "icmptype", "tcpflags"...).
const CONSTANTS: Record<string, number> = {
  icmptype: 0,
  icmpcode: 1,
  'icmp-echoreply': 0,
  'icmp-unreach': 3,
  'icmp-sourcequench': 4,
  'icmp-redirect': 5,
  'icmp-echo': 8,
  'icmp-routeradvert': 9,
  'icmp-routersolicit': 10,
  'icmp-timxceed': 11,
  'icmp-paramprob': 12,
  'icmp-tstamp': 13,
  'icmp-tstampreply': 14,
  'icmp-ireq': 15,
  'icmp-ireqreply': 16,
  'icmp-maskreq': 17,
  'icmp-maskreply': 18,
  icmp6type: 0,
  icmp6code: 1,
  'icmp6-destinationunreach': 1,
  'icmp6-packettoobig': 2,
  'icmp6-timeexceeded': 3,
  'icmp6-parameterproblem': 4,
  'icmp6-echo': 128,
  'icmp6-echoreply': 129,
  'icmp6-multicastlistenerquery': 130,
  'icmp6-multicastlistenerreportv1': 131,
  'icmp6-multicastlistenerdone': 132,
  'icmp6-routersolicit': 133,
  'icmp6-routeradvert': 134,
  'icmp6-neighborsolicit': 135,
  'icmp6-neighboradvert': 136,
  'icmp6-redirect': 137,
  'icmp6-routerrenum': 138,
  'icmp6-nodeinformationquery': 139,
  'icmp6-nodeinformationresponse': 140,
  'icmp6-ineighbordiscoverysolicit': 141,
  'icmp6-ineighbordiscoveryadvert': 142,
  'icmp6-multicastlistenerreportv2': 143,
  'icmp6-homeagentdiscoveryrequest': 144,
  'icmp6-homeagentdiscoveryreply': 145,
  'icmp6-mobileprefixsolicit': 146,
  'icmp6-mobileprefixadvert': 147,
  'icmp6-certpathsolicit': 148,
  'icmp6-certpathadvert': 149,
  'icmp6-multicastrouteradvert': 151,
  'icmp6-multicastroutersolicit': 152,
  'icmp6-multicastrouterterm': 153,
  tcpflags: 13,
  'tcp-fin': 0x01,
  'tcp-syn': 0x02,
  'tcp-rst': 0x04,
  'tcp-push': 0x08,
  'tcp-ack': 0x10,
  'tcp-urg': 0x20,
  'tcp-ece': 0x40,
  'tcp-cwr': 0x80,
};

const TWO_CHAR_OPS = ['>=', '<=', '!=', '==', '<<', '>>', '&&', '||'];
const ONE_CHAR_OPS = '+-*/%:[]!<>()&|^=';

const RE_NUM = /(?:0[xX][0-9A-Fa-f]+|[0-9]+)/y;
const N = '(?:0[xX][0-9A-Fa-f]+|[0-9]+)';
const RE_HID = new RegExp(`${N}(?:\\.${N}){1,3}`, 'y');
const B = '[0-9A-Fa-f][0-9A-Fa-f]?';
const W = '[0-9A-Fa-f]{4}';
const RE_MAC = new RegExp(
  `(?:${B}:${B}:${B}:${B}:${B}:${B}|${B}-${B}-${B}-${B}-${B}-${B}|${B}\\.${B}\\.${B}\\.${B}\\.${B}\\.${B}|${W}\\.${W}\\.${W}|[0-9A-Fa-f]{12})`,
  'y',
);
const RE_V6 = /[0-9A-Fa-f:.]+/y;
const RE_ID = /[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?/y;
const RE_ESCAPED = /\\[^ !()\n\t]+/y;
const RE_BOGUS_MAC = /[0-9A-Fa-f][0-9A-Fa-f]?:+(?:[0-9A-Fa-f][0-9A-Fa-f]?:+)+/y;

function matchLen(re: RegExp, s: string, at: number): number {
  re.lastIndex = at;
  const m = re.exec(s);
  return m ? m[0].length : 0;
}

/** Parse libpcap's NUM: decimal, 0x hex or 0-led octal, at most 32 bits. */
export function parseNumber(text: string, col: number): number {
  let v: bigint;
  if (/^0[xX]/.test(text)) v = BigInt(text);
  else if (/^0[0-7]+$/.test(text)) v = BigInt('0o' + text.slice(1));
  else if (/^[0-9]+$/.test(text)) {
    if (/[89]/.test(text) && text.startsWith('0') && text.length > 1)
      throw new FilterSyntaxError(`number ${text} contains non-octal digit`, col);
    v = BigInt(text);
  } else throw new FilterSyntaxError(`number ${text} contains non-octal digit`, col);
  if (v > 0xffffffffn) throw new FilterSyntaxError(`number ${text} overflows 32 bits`, col);
  return Number(v);
}

/** Split an expression into tokens (the whole list, so errors arrive before any code is made). */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const col = i + 1;
    // Candidates, best first among equal lengths (scanner.l's rule order).
    let best: { kind: TokenKind; len: number } | null = null;
    const offer = (kind: TokenKind, len: number): void => {
      if (len > 0 && (!best || len > best.len)) best = { kind, len };
    };
    const word = /[-_.A-Za-z0-9]+/y;
    word.lastIndex = i;
    const w = word.exec(src)?.[0] ?? '';
    for (let n = w.length; n > 0; n--) {
      if (Object.hasOwn(KEYWORDS, w.slice(0, n))) {
        offer('kw', n);
        break;
      }
    }
    const two = src.slice(i, i + 2);
    if (TWO_CHAR_OPS.includes(two)) offer(two === '&&' || two === '||' ? 'kw' : 'op', 2);
    else if (ONE_CHAR_OPS.includes(c)) offer('op', 1);
    offer('num', matchLen(RE_NUM, src, i));
    offer('eid', matchLen(RE_MAC, src, i));
    offer('hid', matchLen(RE_HID, src, i));
    const v6 = matchLen(RE_V6, src, i);
    if (v6 > 0 && src.slice(i, i + v6).includes(':')) {
      const text = src.slice(i, i + v6);
      if (parseIPv6(text)) offer('hid6', v6);
      else if (matchLen(RE_BOGUS_MAC, src, i) === v6 && !RE_MAC.test(text))
        throw new FilterSyntaxError(`bogus ethernet address ${text}`, col);
      else if (text.split(':').length > 2 && !best) throw new FilterSyntaxError(`bogus IPv6 address ${text}`, col);
    }
    for (let n = w.length; n > 0; n--) {
      if (Object.hasOwn(CONSTANTS, w.slice(0, n))) {
        offer('num', n);
        break;
      }
    }
    offer('id', matchLen(RE_ID, src, i));
    const esc = matchLen(RE_ESCAPED, src, i);
    if (c === '\\' && esc > 1) {
      out.push({ kind: 'id', text: src.slice(i + 1, i + esc), value: 0, col });
      i += esc;
      continue;
    }
    if (!best) throw new FilterSyntaxError(`illegal character '${c}'`, col);
    const { kind, len } = best as { kind: TokenKind; len: number };
    const text = src.slice(i, i + len);
    let value = 0;
    let canonical = text;
    if (kind === 'kw') canonical = TWO_CHAR_OPS.includes(text) ? (text === '&&' ? 'and' : 'or') : KEYWORDS[text]!;
    else if (kind === 'num') value = Object.hasOwn(CONSTANTS, text) ? CONSTANTS[text]! : parseNumber(text, col);
    else if (kind === 'op' && text === '==') canonical = '=';
    out.push({ kind, text: canonical, value, col });
    i += len;
  }
  out.push({ kind: 'eof', text: '', value: 0, col: src.length + 1 });
  return out;
}

/** An IPv6 address in text → its 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  let s = text;
  let tail4: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4Strict(s.slice(lastColon + 1));
    if (!v4) return null;
    tail4 = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = s.slice(0, lastColon + 1) + (s.endsWith('::') ? '' : '0');
    if (!s.endsWith('::')) s = s.slice(0, -1) + '_';
  }
  const parts = s.split('::');
  if (parts.length > 2) return null;
  const group = (p: string): number[] | null => {
    if (p === '') return [];
    const out: number[] = [];
    for (const g of p.split(':')) {
      if (g === '_') continue;
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(parts[0]!);
  const rest = parts.length === 2 ? group(parts[1]!) : [];
  if (!head || !rest) return null;
  const fixed = [...head, ...rest, ...tail4].length;
  let words: number[];
  if (parts.length === 2) {
    if (fixed > 7) return null;
    words = [...head, ...new Array<number>(8 - fixed).fill(0), ...rest, ...tail4];
  } else {
    if (fixed !== 8) return null;
    words = [...head, ...tail4];
  }
  const out = new Uint8Array(16);
  words.forEach((v, j) => {
    out[2 * j] = v >> 8;
    out[2 * j + 1] = v & 0xff;
  });
  return out;
}

function parseIPv4Strict(s: string): number[] | null {
  const p = s.split('.');
  if (p.length !== 4 || !p.every((x) => /^[0-9]{1,3}$/.test(x) && Number(x) < 256)) return null;
  return p.map(Number);
}
