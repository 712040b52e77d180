/**
 * The pcap-filter(7) grammar of libpcap 1.10 (grammar.y) as a recursive-descent parser that generates
 * code as it reduces, exactly when yacc would run its actions: so `vlan` moves the offsets of what follows
 * it, and qualifiers carry over to bare ids after `and`/`or` (`host a or b`, `port 80 or (81 or 82)`).
 * `and` and `or` share one precedence and associate to the left, as in libpcap. Chains of any length are
 * loops; only parentheses, a load's brackets (and `^`, `%`, see unary()) nest, at most MAX_NESTING deep, so
 * no input can overflow the stack.
 */
import { and, not, or, type Frag } from './blocks.js';
import { FilterSyntaxError } from './errors.js';
import { Gen, unsupported, type Arith } from './gencode.js';
import { geneve } from './geneve.js';
import { tokenize, parseIPv6, type Token } from './lexer.js';
import { pfAction, pfField, pfIfname, pfReason, pfRuleset } from './pflog.js';
import { ETHER_PROTO_NAMES, type NameResolver } from './names.js';
import { wlanDir, wlanType, WLAN_DIRS, WLAN_SUBTYPES, WLAN_SUBTYPE_MASK, WLAN_TYPES, WLAN_TYPE_MASK } from './wlan.js';

/** Link types whose link layer has no protocol field (libpcap's off_linktype is OFFSET_NOT_SET). */
const NO_LINKTYPE_FIELD: ReadonlySet<string> = new Set(['raw', 'ipv4', 'ipv6', 'slip', 'frelay']);

/** Deepest parenthesis nesting accepted (libpcap's parser runs out of stack near 5,000). */
export const MAX_NESTING = 1000;

interface Qual {
  proto: string;
  dir: string;
  addr: string;
}

const PNAMES = new Set([
  'link',
  'ip',
  'arp',
  'rarp',
  'sctp',
  'tcp',
  'udp',
  'icmp',
  'igmp',
  'igrp',
  'pim',
  'vrrp',
  'carp',
  'atalk',
  'aarp',
  'decnet',
  'lat',
  'sca',
  'moprc',
  'mopdl',
  'ip6',
  'icmp6',
  'ah',
  'esp',
  'iso',
  'esis',
  'isis',
  'l1',
  'l2',
  'iih',
  'lsp',
  'snp',
  'csnp',
  'psnp',
  'clnp',
  'stp',
  'ipx',
  'netbeui',
  'radio',
]);
const DQUALS = new Set(['src', 'dst', 'addr1', 'addr2', 'addr3', 'addr4', 'ra', 'ta']);
const AQUALS = new Set(['host', 'net', 'port', 'portrange', 'gateway', 'proto', 'protochain']);
const NON_DIRECTIONAL = new Set(['gateway', 'proto', 'protochain']);
const RELOPS = new Set(['>', '>=', '=', '<', '<=', '!=']);
// Binary arithmetic operators by precedence level (grammar.y: '|' < '&' < shifts < '+' '-' < '*' '/').
// '^' and '%' are not here: grammar.y declares no precedence for them, so bison resolves every conflict
// they are in by shifting; see unary().
const ARITH_LEVEL: Record<string, [number, number]> = {
  '|': [0, 0x40],
  '&': [1, 0x50],
  '<<': [2, 0x60],
  '>>': [2, 0x70],
  '+': [3, 0x00],
  '-': [3, 0x10],
  '*': [4, 0x20],
  '/': [4, 0x30],
};
/** libpcap's pcap_nametollc table (LLC SAPs by name, for `link proto \\NAME`). */
const LLC_NAMES: Record<string, number> = { iso: 0xfe, stp: 0x42, ipx: 0xe0, netbeui: 0xf0 };
/** The OSI network protocols `iso proto` names (ISO9542_ESIS, ISO10589_ISIS, ISO8473_CLNP). */
const ISO_NAMES: Record<string, number> = { esis: 0x82, isis: 0x83, clnp: 0x81 };
const TRANSPORT: Record<string, number> = { default: -1, tcp: 6, udp: 17, sctp: 132 };

/** Thrown (and caught) when a speculative parse does not fit; never leaves the parser. */
class Mismatch extends Error {}
/** The one instance thrown: speculation fails often, and an Error's stack trace is costly to capture. */
const MISMATCH = new Mismatch('speculative parse did not fit');

/** Parse `expression` and generate its code; returns the fragment (null for an empty expression). */
export function parseFilter(expression: string, gen: Gen, resolver: NameResolver): Frag | null {
  const p = new Parser(tokenize(expression), gen, resolver);
  return p.program();
}

class Parser {
  private pos = 0;
  private depth = 0;
  private speculating = 0;

  constructor(
    private readonly toks: Token[],
    private readonly gen: Gen,
    private readonly names: NameResolver,
  ) {}

  program(): Frag | null {
    if (this.peek().kind === 'eof') return null;
    try {
      const { f } = this.expr(null);
      if (this.peek().kind !== 'eof') this.syntax();
      return f;
    } catch (e) {
      if (e instanceof Mismatch) throw new FilterSyntaxError('syntax error', this.peek().col);
      throw e;
    }
  }

  // ---- token helpers ----
  private peek(o = 0): Token {
    return this.toks[Math.min(this.pos + o, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }
  private isKw(t: Token, ...words: string[]): boolean {
    return t.kind === 'kw' && words.includes(t.text);
  }
  private isOp(t: Token, ...ops: string[]): boolean {
    return t.kind === 'op' && ops.includes(t.text);
  }
  private syntax(): never {
    if (this.speculating > 0) throw MISMATCH;
    throw new FilterSyntaxError('syntax error', this.peek().col);
  }
  private expectOp(op: string): void {
    if (!this.isOp(this.peek(), op)) this.syntax();
    this.next();
  }
  private expectNum(): number {
    const t = this.peek();
    if (t.kind !== 'num') this.syntax();
    this.next();
    return t.value;
  }
  /** Run a code generator with the column of `tok` put on any error it raises. */
  private at<T>(tok: Token, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof FilterSyntaxError && e.column === 0) throw new FilterSyntaxError(e.reason, tok.col);
      throw e;
    }
  }
  private open(what = 'parentheses'): void {
    if (++this.depth > MAX_NESTING) {
      throw new FilterSyntaxError(`expression nested more than ${MAX_NESTING} ${what} deep`, this.peek().col);
    }
    this.next();
  }
  /** Try `fn`; on a mismatch rewind and return undefined. Semantic errors still propagate. */
  private attempt<T>(fn: () => T): T | undefined {
    const save = this.pos;
    const depth = this.depth;
    this.speculating++;
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof Mismatch)) throw e;
      this.pos = save;
      this.depth = depth;
      return undefined;
    } finally {
      this.speculating--;
    }
  }

  // ---- expressions ----
  private expr(ctx: Qual | null): { f: Frag; q: Qual | null } {
    let { f, q } = this.term(ctx);
    for (;;) {
      const t = this.peek();
      if (!this.isKw(t, 'and', 'or')) return { f, q };
      this.next();
      const combine = t.text === 'and' ? and : or;
      const carried = q;
      const asId = this.attempt(() => {
        // bison reads the token after a number before reducing it: an operator there makes it arithmetic
        // (`ether dst 02:00:00:00:00:02 and 5 | ether[1] > 0`), never an address with the carried qualifiers.
        if (this.peek().kind === 'num' && this.peek(1).kind === 'op' && this.peek(1).text !== ')') this.syntax();
        const g = this.id(carried);
        const n = this.peek();
        if (!(n.kind === 'eof' || this.isKw(n, 'and', 'or') || this.isOp(n, ')'))) this.syntax();
        return g;
      });
      if (asId) {
        f = combine(f, asId);
        continue;
      }
      const rhs = this.term(q);
      f = combine(f, rhs.f);
      q = rhs.q;
    }
  }

  private term(ctx: Qual | null): { f: Frag; q: Qual | null } {
    let nots = 0;
    while (this.isKw(this.peek(), 'not') || this.isOp(this.peek(), '!')) {
      this.next();
      nots++;
    }
    const r = this.rterm(ctx);
    return { f: nots % 2 ? not(r.f) : r.f, q: r.q };
  }

  private rterm(ctx: Qual | null): { f: Frag; q: Qual | null } {
    const t = this.peek();
    if (this.isOp(t, '(')) {
      const rel = this.attempt(() => this.relation());
      if (rel) return { f: rel, q: null };
      this.open();
      const inner = this.expr(ctx);
      this.expectOp(')');
      this.depth--;
      return { f: inner.f, q: ctx };
    }
    if (t.kind === 'num' || this.isOp(t, '-') || this.isKw(t, 'len')) return { f: this.relation(), q: null };
    if (t.kind !== 'kw') this.syntax();
    const w = t.text;
    if (PNAMES.has(w)) {
      const n = this.peek(1);
      if (this.isOp(n, '[')) return { f: this.relation(), q: null };
      if (n.kind === 'kw' && (DQUALS.has(n.text) || AQUALS.has(n.text))) return this.headId();
      if (this.isKw(n, 'broadcast', 'multicast')) {
        this.next();
        this.next();
        return {
          f: this.at(n, () => (n.text === 'broadcast' ? this.gen.broadcast(w) : this.gen.multicast(w))),
          q: null,
        };
      }
      this.next();
      // yacc reads the token after a bare protocol name before reducing: one that cannot follow a term
      // (`ether 10.0.0.1`) is a syntax error before any code is generated.
      const after = this.peek();
      if (!(after.kind === 'eof' || this.isKw(after, 'and', 'or') || this.isOp(after, ')'))) this.syntax();
      return { f: this.at(t, () => this.gen.protoAbbrev(w)), q: null };
    }
    if (DQUALS.has(w) || AQUALS.has(w)) return this.headId();
    this.next();
    const f = this.at(t, () => this.other(w));
    return { f, q: null };
  }

  /** Primitives that are neither qualifiers+id nor relations (grammar.y's `other`). */
  private other(w: string): Frag {
    switch (w) {
      case 'broadcast':
        return this.gen.broadcast('default');
      case 'multicast':
        return this.gen.multicast('default');
      case 'less':
      case 'greater':
        return this.gen.length(this.expectNum(), w === 'greater');
      case 'byte': {
        const idx = this.expectNum();
        const op = this.peek();
        if (!this.isOp(op, '=', '<', '>', '&', '|')) this.syntax();
        this.next();
        return this.gen.byteop(op.text, idx, this.expectNum());
      }
      case 'inbound':
      case 'outbound':
        return this.gen.direction(w === 'outbound');
      case 'ifindex':
        return this.gen.ifindex(this.expectNum());
      case 'vlan':
        return this.gen.vlan(this.optionalNum());
      case 'mpls':
        return this.gen.mpls(this.optionalNum());
      case 'pppoed':
        return this.gen.pppoed();
      case 'pppoes':
        return this.gen.pppoes(this.optionalNum());
      case 'geneve':
        return geneve(this.gen, this.optionalNum());
      case 'ifname':
      case 'rset': {
        const name = this.peek();
        if (name.kind !== 'id') this.syntax();
        this.next();
        return this.at(name, () => (w === 'ifname' ? pfIfname(this.gen, name.text) : pfRuleset(this.gen, name.text)));
      }
      case 'rnr':
      case 'srnr':
        return pfField(this.gen, w, this.expectNum());
      case 'reason':
      case 'action': {
        const v = this.peek();
        if (v.kind === 'num' && w === 'reason') return pfField(this.gen, w, this.next().value);
        if (v.kind !== 'id') this.syntax();
        this.next();
        return this.at(v, () => pfField(this.gen, w, w === 'reason' ? pfReason(v.text) : pfAction(v.text)));
      }
      case 'type':
      case 'subtype':
      case 'dir':
        return this.wlanPrimitive(w);
      default:
        if (w === 'and' || w === 'or' || w === 'mask') {
          this.pos--;
          this.syntax();
        }
        throw unsupported(`'${w}'`);
    }
  }

  /** `type T [subtype S]`, `subtype S`, `dir D` (grammar.y's pqual_type, type_subtype, dir values). */
  private wlanPrimitive(w: string): Frag {
    const link = this.gen.link;
    const value = (): Token => {
      const t = this.peek();
      if (t.kind !== 'num' && t.kind !== 'id' && t.kind !== 'kw') this.syntax();
      return this.next();
    };
    if (w === 'dir') {
      const t = value();
      if (t.kind === 'num') return wlanDir(link, t.value);
      const d = WLAN_DIRS[t.text];
      if (d === undefined) throw new FilterSyntaxError('unknown 802.11 direction', t.col);
      return this.at(t, () => wlanDir(link, d));
    }
    if (w === 'subtype') {
      const t = this.peek();
      if (t.kind !== 'id' && t.kind !== 'kw') this.syntax();
      this.next();
      for (const [type, subs] of Object.entries(WLAN_SUBTYPES)) {
        const sub = subs[t.text];
        if (sub !== undefined) {
          return this.at(t, () => wlanType(link, WLAN_TYPES[type]! | sub, WLAN_TYPE_MASK | WLAN_SUBTYPE_MASK));
        }
      }
      throw new FilterSyntaxError('unknown 802.11 type name', t.col);
    }
    const t = value();
    let type: number;
    let typeName: string | undefined;
    if (t.kind === 'num') {
      type = t.value >>> 0;
      if (type & ~WLAN_TYPE_MASK)
        throw new FilterSyntaxError(`invalid 802.11 type value 0x${type.toString(16).padStart(2, '0')}`, t.col);
      typeName = Object.keys(WLAN_TYPES).find((n) => WLAN_TYPES[n] === type);
    } else {
      const v = WLAN_TYPES[t.text];
      if (v === undefined) throw new FilterSyntaxError(`unknown 802.11 type name "${t.text}"`, t.col);
      type = v;
      typeName = t.text;
    }
    if (!this.isKw(this.peek(), 'subtype')) return this.at(t, () => wlanType(link, type, WLAN_TYPE_MASK));
    this.next();
    const st = value();
    let sub: number;
    if (st.kind === 'num') {
      sub = st.value >>> 0;
      if (sub & ~WLAN_SUBTYPE_MASK)
        throw new FilterSyntaxError(`invalid 802.11 subtype value 0x${sub.toString(16).padStart(2, '0')}`, st.col);
    } else {
      const v = typeName === undefined ? undefined : WLAN_SUBTYPES[typeName]![st.text];
      if (v === undefined) throw new FilterSyntaxError(`unknown 802.11 subtype name "${st.text}"`, st.col);
      sub = v;
    }
    return this.at(t, () => wlanType(link, type | sub, WLAN_TYPE_MASK | WLAN_SUBTYPE_MASK));
  }

  /** `vlan 10`, `vlan (10)`, or nothing. */
  private optionalNum(): number | undefined {
    if (this.peek().kind === 'num') return this.next().value;
    if (this.isOp(this.peek(), '(')) return this.attempt(() => this.pnum());
    return undefined;
  }

  private pnum(): number {
    let opened = 0;
    while (this.isOp(this.peek(), '(')) {
      this.open();
      opened++;
    }
    const v = this.expectNum();
    for (; opened > 0; opened--) {
      this.expectOp(')');
      this.depth--;
    }
    return v;
  }

  /** `[proto] [dir] [addr] id` (grammar.y's `head id`). */
  private headId(): { f: Frag; q: Qual } {
    const q: Qual = { proto: 'default', dir: 'default', addr: 'default' };
    let t = this.peek();
    if (t.kind === 'kw' && PNAMES.has(t.text)) {
      q.proto = t.text;
      this.next();
      t = this.peek();
    }
    if (t.kind === 'kw' && DQUALS.has(t.text)) {
      q.dir = t.text;
      this.next();
      const n = this.peek();
      const other = t.text === 'src' ? 'dst' : t.text === 'dst' ? 'src' : '';
      if (other && this.isKw(n, 'and', 'or') && this.isKw(this.peek(1), other)) {
        q.dir = n.text;
        this.next();
        this.next();
      }
      t = this.peek();
    }
    if (t.kind === 'kw' && AQUALS.has(t.text)) {
      // grammar.y: proto, protochain and gateway take no direction (`src proto 6` is a syntax error).
      if (q.dir !== 'default' && NON_DIRECTIONAL.has(t.text)) this.syntax();
      q.addr = t.text;
      this.next();
    }
    return { f: this.id(q), q };
  }

  /** An address, number or name under qualifiers `q` (grammar.y's `id`). */
  private id(q: Qual | null): Frag {
    let nots = 0;
    while (this.isKw(this.peek(), 'not') || this.isOp(this.peek(), '!')) {
      this.next();
      nots++;
    }
    const f = this.idAtom(q);
    return nots % 2 ? not(f) : f;
  }

  private idAtom(q: Qual | null): Frag {
    const t = this.peek();
    if (this.isOp(t, '(')) {
      this.open();
      let f = this.id(q);
      while (this.isKw(this.peek(), 'and', 'or')) {
        const op = this.next().text;
        f = op === 'and' ? and(f, this.id(q)) : or(f, this.id(q));
      }
      this.expectOp(')');
      this.depth--;
      return f;
    }
    if (!['num', 'hid', 'hid6', 'eid', 'id'].includes(t.kind)) this.syntax();
    if (!q) this.syntax();
    this.next();
    const qq = q;
    switch (t.kind) {
      case 'num':
        return this.at(t, () => this.ncode(null, t.value, qq));
      case 'hid': {
        if (this.isOp(this.peek(), '/')) {
          this.next();
          const len = this.expectNum();
          return this.at(t, () => this.mcode(t.text, null, len, qq));
        }
        if (this.isKw(this.peek(), 'mask')) {
          this.next();
          const m = this.peek();
          if (m.kind !== 'hid') this.syntax();
          this.next();
          return this.at(t, () => this.mcode(t.text, m.text, 0, qq));
        }
        // grammar.y's nid: a dotted address cannot be a port or protocol.
        if (['port', 'portrange', 'proto', 'protochain'].includes(qq.addr))
          throw new FilterSyntaxError(`'${qq.addr}' modifier applied to ip host`, t.col);
        return this.at(t, () => this.ncode(t.text, 0, qq));
      }
      case 'hid6': {
        let len = 128;
        if (this.isOp(this.peek(), '/')) {
          this.next();
          len = this.expectNum();
        }
        return this.at(t, () => this.mcode6(t.text, len, qq));
      }
      case 'eid':
        return this.at(t, () => {
          if ((qq.addr === 'host' || qq.addr === 'default') && qq.proto === 'link') {
            return this.gen.ehost(parseMac(t.text), qq.dir);
          }
          throw new FilterSyntaxError('ethernet address used in non-ether expression', 0);
        });
      default:
        return this.at(t, () => this.scode(t.text, qq));
    }
  }

  // ---- libpcap's gen_ncode / gen_mcode / gen_mcode6 / gen_scode ----
  private ncode(s: string | null, num: number, q: Qual): Frag {
    let v = num >>> 0;
    let vlen = 32;
    if (q.proto === 'decnet' && ['default', 'host', 'net'].includes(q.addr)) {
      // libpcap's __pcap_atodn: AREA.NODE, 6 bits of area above 10 of node (no range check).
      if (s !== null) {
        const m = /^(\d+)\.(\d+)/.exec(s);
        if (!m) throw new FilterSyntaxError(`malformed decnet address '${s}'`, 0);
        v = ((Number(m[1]) << 10) & 0xfc00) | (Number(m[2]) & 0x3ff);
      }
      return this.gen.host(v, 0, 'decnet', q.dir, q.addr === 'net' ? 'net' : 'host');
    }
    if (s !== null) {
      if (q.proto === 'link') throw new FilterSyntaxError('illegal link layer address', 0);
      [v, vlen] = atoin(s);
    }
    switch (q.addr) {
      case 'default':
      case 'host':
      case 'net': {
        if (q.proto === 'link') throw new FilterSyntaxError('illegal link layer address', 0);
        let mask = 0xffffffff;
        if (s === null && q.addr === 'net') {
          while (v && (v & 0xff000000) === 0) {
            v = (v << 8) >>> 0;
            mask = (mask << 8) >>> 0;
          }
        } else if (vlen < 32) {
          v = (v << (32 - vlen)) >>> 0;
          mask = (mask << (32 - vlen)) >>> 0;
        }
        return this.gen.host(v, mask, q.proto, q.dir, q.addr === 'net' ? 'net' : 'host');
      }
      case 'port':
      case 'portrange':
        if (!(q.proto in TRANSPORT)) throw new FilterSyntaxError(`illegal qualifier of '${q.addr}'`, 0);
        if (v > 65535) throw new FilterSyntaxError(`illegal port number ${v} > 65535`, 0);
        return this.gen.port(v, v, q.addr === 'portrange', TRANSPORT[q.proto]!, q.dir);
      case 'proto':
        return this.gen.proto(v, q.proto, q.dir);
      case 'protochain':
        return this.gen.protochain(v, q.proto);
      default:
        throw new FilterSyntaxError(`'${q.addr}' requires a name`, 0);
    }
  }

  private mcode(s1: string, s2: string | null, masklen: number, q: Qual): Frag {
    const [n0, nlen] = atoin(s1);
    const n = nlen < 32 ? (n0 << (32 - nlen)) >>> 0 : n0;
    let m: number;
    if (s2 !== null) {
      const [m0, mlen] = atoin(s2);
      m = mlen < 32 ? (m0 << (32 - mlen)) >>> 0 : m0;
      if ((n & ~m) >>> 0) throw new FilterSyntaxError(`non-network bits set in "${s1} mask ${s2}"`, 0);
    } else {
      if (masklen > 32) throw new FilterSyntaxError('mask length must be <= 32', 0);
      m = masklen === 0 ? 0 : (0xffffffff << (32 - masklen)) >>> 0;
      if ((n & ~m) >>> 0) throw new FilterSyntaxError(`non-network bits set in "${s1}/${masklen}"`, 0);
    }
    if (q.addr !== 'net') throw new FilterSyntaxError('Mask syntax for networks only', 0);
    return this.gen.host(n, m, q.proto, q.dir, 'net');
  }

  private mcode6(s: string, masklen: number, q: Qual): Frag {
    const addr = parseIPv6(s);
    if (!addr) throw new FilterSyntaxError(`invalid ip6 address ${s}`, 0);
    if (masklen > 128) throw new FilterSyntaxError('mask length must be <= 128', 0);
    const mask = new Uint8Array(16);
    for (let i = 0; i < masklen; i++) mask[i >> 3]! |= 0x80 >> (i & 7);
    for (let i = 0; i < 16; i++) {
      if (addr[i]! & ~mask[i]! & 0xff) throw new FilterSyntaxError(`non-network bits set in "${s}/${masklen}"`, 0);
    }
    switch (q.addr) {
      case 'default':
      case 'host':
      case 'net':
        if (q.addr !== 'net' && masklen !== 128) throw new FilterSyntaxError('Mask syntax for networks only', 0);
        return this.gen.host6(addr, mask, q.proto, q.dir, q.addr === 'net' ? 'net' : 'host');
      default:
        throw new FilterSyntaxError('invalid qualifier against IPv6 address', 0);
    }
  }

  private scode(name: string, q: Qual): Frag {
    switch (q.addr) {
      case 'net': {
        // libpcap's getnetbyname: the number, left-justified, with a mask of its significant bytes.
        let addr = this.names.network?.(name) ?? 0;
        if (addr === 0) throw new FilterSyntaxError(`unknown network '${name}'`, 0);
        let mask = 0xffffffff;
        while (addr && (addr & 0xff000000) === 0) {
          addr = (addr << 8) >>> 0;
          mask = (mask << 8) >>> 0;
        }
        return this.gen.host(addr, mask, q.proto, q.dir, 'net');
      }
      case 'gateway':
        // libpcap 1.10 as Debian builds it (with IPv6) has no gateway code for names.
        throw new FilterSyntaxError("'gateway' not supported in this configuration", 0);
      case 'default':
      case 'host': {
        if (q.proto === 'decnet')
          throw new FilterSyntaxError(`decnet name support not included, '${name}' cannot be translated`, 0);
        if (q.proto === 'link') {
          const mac = this.names.ether(name);
          if (!mac) throw new FilterSyntaxError(`unknown ether host '${name}'`, 0);
          return this.gen.ehost(mac, q.dir);
        }
        const found = this.names.host(name);
        let f: Frag | null = null;
        const add = (g: Frag): void => {
          f = f ? or(f, g) : g;
        };
        // libpcap's gen_scode: where the link type has no protocol field (off_linktype unset), a named host's
        // IPv4 addresses are tested as `ip host` only (no ARP/RARP tests that could never match).
        const v4proto = q.proto === 'default' && NO_LINKTYPE_FIELD.has(this.gen.link.kind) ? 'ip' : q.proto;
        if (q.proto !== 'ip6')
          for (const a of found?.v4 ?? []) add(this.gen.host(a, 0xffffffff, v4proto, q.dir, 'host'));
        if (!['ip', 'arp', 'rarp'].includes(q.proto)) {
          for (const a of found?.v6 ?? [])
            add(this.gen.host6(a, new Uint8Array(16).fill(0xff), q.proto, q.dir, 'host'));
        }
        if (!f) {
          const fam = q.proto === 'default' ? '' : ' for specified address family';
          throw new FilterSyntaxError(`unknown host '${name}'${fam}`, 0);
        }
        return f;
      }
      case 'port':
      case 'portrange': {
        if (!(q.proto in TRANSPORT)) throw new FilterSyntaxError(`illegal qualifier of '${q.addr}'`, 0);
        let lo: number, hi: number, proto: number;
        if (q.addr === 'port') [lo, proto] = this.service(name, name);
        else {
          const m = /^(\d+)-(\d+)/.exec(name);
          if (m) [lo, hi, proto] = [Number(m[1]), Number(m[2]), -1];
          else {
            const dash = name.indexOf('-');
            if (dash < 0) throw new FilterSyntaxError(`unknown port in range '${name}'`, 0);
            const [a, pa] = this.service(name.slice(0, dash), name);
            const [b, pb] = this.service(name.slice(dash + 1), name);
            [lo, hi, proto] = [a, b, pa === pb ? pa : -1];
          }
        }
        hi ??= lo;
        proto = this.narrow(proto, q.proto, name);
        for (const p of [lo, hi]) if (p > 65535) throw new FilterSyntaxError(`illegal port number ${p} > 65535`, 0);
        return this.gen.port(lo, hi, q.addr === 'portrange', proto, q.dir);
      }
      case 'proto':
      case 'protochain': {
        const v = this.lookupProto(name, q.proto);
        if (v === undefined) throw new FilterSyntaxError(`unknown protocol: ${name}`, 0);
        return q.addr === 'proto' ? this.gen.proto(v, q.proto, q.dir) : this.gen.protochain(v, q.proto);
      }
      default:
        throw unsupported(`'${q.addr}'`);
    }
  }

  /** libpcap's lookup_proto: a protocol name under qualifier `proto` (undefined where none applies). */
  private lookupProto(name: string, proto: string): number | undefined {
    if (proto === 'default' || proto === 'ip' || proto === 'ip6') {
      const v = this.names.protocol(name);
      if (v === undefined) throw new FilterSyntaxError(`unknown ip proto '${name}'`, 0);
      return v;
    }
    if (proto === 'link') {
      const v = ETHER_PROTO_NAMES[name] ?? LLC_NAMES[name];
      if (v === undefined) throw new FilterSyntaxError(`unknown ether proto '${name}'`, 0);
      return v;
    }
    if (proto === 'iso') {
      const v = ISO_NAMES[name];
      if (v === undefined) throw new FilterSyntaxError(`unknown osi proto '${name}'`, 0);
      return v;
    }
    return undefined;
  }

  /** A service name → [port, protocol (-1 when tcp and udp agree)], as libpcap's pcap_nametoport. */
  private service(name: string, whole: string): [number, number] {
    const s = this.names.service(name);
    if (s?.tcp !== undefined) return [s.tcp, s.udp === s.tcp ? -1 : 6];
    if (s?.udp !== undefined) return [s.udp, 17];
    throw new FilterSyntaxError(name === whole ? `unknown port '${name}'` : `unknown port in range '${whole}'`, 0);
  }

  private narrow(real: number, proto: string, name: string): number {
    const want = TRANSPORT[proto]!;
    if (want < 0) return real;
    if (real >= 0 && real !== want)
      throw new FilterSyntaxError(`port '${name}' is ${real === 6 ? 'tcp' : real === 17 ? 'udp' : 'sctp'}`, 0);
    return want;
  }

  // ---- relations: arth relop arth ----
  private relation(): Frag {
    const start = this.peek();
    const a = this.arith(0);
    const op = this.peek();
    if (!(op.kind === 'op' && RELOPS.has(op.text))) this.syntax();
    this.next();
    const b = this.arith(0);
    return this.at(start, () => this.gen.relation(op.text, a, b));
  }

  private arith(minLevel: number): Arith {
    let lhs = this.unary();
    for (;;) {
      const t = this.peek();
      const lv = t.kind === 'op' ? ARITH_LEVEL[t.text] : undefined;
      if (!lv || lv[0] < minLevel) return lhs;
      this.next();
      const rhs = this.arith(lv[0] + 1);
      lhs = this.at(t, () => this.gen.arith(lv[1], lhs, rhs));
    }
  }

  private unary(): Arith {
    let negs = 0;
    while (this.isOp(this.peek(), '-')) {
      this.next();
      negs++;
    }
    let v = this.primary();
    // libpcap's '^' and '%' have no precedence, so its parser always shifts them: they take the operand
    // just read as their left side and the whole arithmetic to their right (`len * 2 ^ 3 + 1` is
    // len * (2 ^ (3 + 1)), `len / 10 % 3` is len / (10 % 3), `- len ^ 2` is -(len ^ 2)).
    const xor = this.peek();
    if (this.isOp(xor, '^', '%')) {
      // Each '^' nests the rest of the chain, as a parenthesis does: the same depth bound keeps the stack safe.
      this.open();
      const left = v;
      const right = this.arith(0);
      this.depth--;
      v = this.at(xor, () => this.gen.arith(xor.text === '^' ? 0xa0 : 0x90, left, right));
    }
    for (; negs > 0; negs--) v = this.gen.neg(v);
    return v;
  }

  private primary(): Arith {
    const t = this.peek();
    if (t.kind === 'num') {
      this.next();
      return this.gen.num(t.value);
    }
    if (this.isKw(t, 'len')) {
      this.next();
      return this.gen.len();
    }
    if (this.isOp(t, '(')) {
      this.open();
      const v = this.arith(0);
      this.expectOp(')');
      this.depth--;
      return v;
    }
    if (t.kind === 'kw' && PNAMES.has(t.text) && this.isOp(this.peek(1), '[')) {
      this.next();
      // An index holds any arithmetic, loads too (`ip[ip[0]]`): brackets nest as parentheses do, under the same bound.
      this.open('parentheses or brackets');
      const index = this.arith(0);
      let size = 1;
      if (this.isOp(this.peek(), ':')) {
        this.next();
        size = this.expectNum();
      }
      this.expectOp(']');
      this.depth--;
      return this.at(t, () => this.gen.load(t.text, index, size));
    }
    return this.syntax();
  }
}

/** libpcap's __pcap_atoin: dotted decimal with 1-4 parts → [value, bits given]. */
function atoin(s: string): [number, number] {
  let v = 0;
  let len = 0;
  for (const part of s.split('.')) {
    if (!/^[0-9]+$/.test(part) || Number(part) > 255) throw new FilterSyntaxError(`invalid IPv4 address '${s}'`, 0);
    v = ((v << 8) | Number(part)) >>> 0;
    len += 8;
  }
  return [v, len];
}

function parseMac(s: string): Uint8Array {
  const hex = s.replace(/[:.-]/g, (c) => c);
  let parts: string[];
  if (/^[0-9A-Fa-f]{12}$/.test(hex)) parts = hex.match(/../g)!;
  else if (/^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$/.test(hex)) parts = hex.replace(/\./g, '').match(/../g)!;
  else parts = hex.split(/[:.-]/);
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}
