/**
 * BTF → C: the kernel's types as a header clang compiles (`vmlinux.h`), so CO-RE programs build with no
 * kernel headers. The hard part is order. C wants a struct complete before anything holds it by value,
 * but only declared before anything points at it; so types are emitted depth-first, following
 * by-value uses ("strong") to definitions and pointer uses ("weak") only to a forward declaration,
 * which also breaks the cycles pointers make (task_struct → mm_struct → task_struct).
 *
 * Layout is checked, not trusted: each struct is laid out with C's rules (natural alignment, bitfields
 * that do not straddle their storage unit) and where BTF puts a member later than C would, unnamed
 * bitfields fill the gap; where it puts one earlier, the struct is emitted packed. Sizes and offsets of
 * the output therefore equal BTF's (test/btf checks them with _Static_assert through clang).
 *
 * Duplicate names (BTF may hold two different `struct foo`) get libbpf's `___2` suffix. FUNC, VAR,
 * DATASEC and DECL_TAG have no C type to write and are skipped; TYPE_TAG is dropped.
 */
import { InputError } from '../util/errors.js';
import { BtfKind, type Btf, type BtfType } from './btf.js';

/** Options of writeC. */
export interface CWriterOptions {
  /** Include guard macro (default `__VMLINUX_H__`, which bpfkit's bpf_helpers.h also recognises). */
  guard?: string;
  /** Wrap records in `preserve_access_index` so field accesses become CO-RE relocations (default true). */
  preserveAccessIndex?: boolean;
}

const K = BtfKind;

/** How deep the writer follows references before calling the BTF malformed (the kernel allows 32). */
const MAX_NEST = 256;

/**
 * The most padding the writer fills in one place: 1 MiB, far more than any real hole between members (the
 * kernel's own structs pad by at most a cache line or a page), and 131072 lines of output.
 */
const MAX_GAP_BYTES = 1 << 20;

/** A gap to fill: `bits` bits starting at bit `from` of the record. */
interface Gap {
  from: number;
  bits: number;
}

/** Per-struct decision: emitted packed or not, and the gaps to fill before each member and at the end. */
interface Layout {
  packed: boolean;
  padBefore: Gap[];
  padEnd: Gap;
  align: number;
}

/** Write `btf` as C declarations: every named type and those they reach, in an order clang accepts. */
export function writeC(btf: Btf, opts: CWriterOptions = {}): string {
  return new CWriter(btf, opts).write();
}

class CWriter {
  private readonly out: string[] = [];
  /** 0 = not emitted, 1 = being defined, 2 = defined. */
  private readonly state: Uint8Array;
  private readonly declared: Uint8Array;
  private readonly names = new Map<number, string>();
  private readonly taken = { tag: new Map<string, number>(), ordinary: new Map<string, number>() };
  private readonly layouts = new Map<number, Layout>();
  private readonly enumerators = new Map<string, string>();
  /** How deep order/decl/alignOf recurse now (bounded: see enter). */
  private nest = 0;

  constructor(
    private readonly btf: Btf,
    private readonly opts: CWriterOptions,
  ) {
    this.state = new Uint8Array(btf.types.length);
    this.declared = new Uint8Array(btf.types.length);
  }

  write(): string {
    const guard = this.opts.guard ?? '__VMLINUX_H__';
    const pai = this.opts.preserveAccessIndex ?? true;
    const head = [`#ifndef ${guard}`, `#define ${guard}`, ''];
    if (pai) {
      head.push(
        '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX',
        '#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)',
        '#endif',
        '',
      );
    }
    const referenced = this.referencedTypes();
    for (let id = 1; id < this.btf.types.length; id++) {
      const t = this.btf.types[id]!;
      if (this.isTopLevel(t)) this.order(id, true);
      else if ((t.kind === K.ENUM || t.kind === K.ENUM64) && !t.name && !referenced[id]) {
        // A standalone anonymous enum (`enum { BPF_ANY = 0, ... };`) only exists for its constants.
        this.state[id] = 2;
        this.out.push(`${this.enumBody(t, '')};`, '');
      }
    }
    const tail = [''];
    if (pai) tail.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX', '#pragma clang attribute pop', '#endif', '');
    tail.push(`#endif /* ${guard} */`, '');
    return [...head, ...this.out, ...tail].join('\n');
  }

  /** Which types some other type refers to (a member, a pointee, a typedef's target...). */
  private referencedTypes(): Uint8Array {
    const seen = new Uint8Array(this.btf.types.length);
    for (const t of this.btf.types) {
      switch (t.kind) {
        case K.PTR:
        case K.TYPEDEF:
        case K.VOLATILE:
        case K.CONST:
        case K.RESTRICT:
        case K.FUNC:
        case K.VAR:
        case K.TYPE_TAG:
        case K.DECL_TAG:
          seen[t.sizeOrType] = 1;
          break;
        case K.FUNC_PROTO:
          seen[t.sizeOrType] = 1;
          for (const p of t.members) seen[p.type] = 1;
          break;
        case K.STRUCT:
        case K.UNION:
          for (const m of t.members) seen[m.type] = 1;
          break;
        case K.ARRAY:
          seen[t.array!.type] = 1;
          break;
        default:
          break;
      }
    }
    return seen;
  }

  /**
   * Every walk through types goes through here. The kernel refuses BTF whose references nest deeper than
   * 32 or loop (a typedef of itself, a struct holding itself by value), but a file need not have been
   * through the kernel, and such a loop would recurse until the stack overflows.
   */
  private enter(id: number): void {
    if (++this.nest > MAX_NEST) {
      this.nest = 0;
      this.tooDeep(id);
    }
  }

  private tooDeep(id: number): never {
    const t = this.btf.types[id];
    throw new InputError(
      `BTF type ${id}${t?.name ? ` '${t.name}'` : ''}: its references nest more than ${MAX_NEST} deep — a loop (a typedef of itself, a struct holding itself by value) or a chain the kernel refuses (it allows 32)`,
    );
  }

  /** Types that get a declaration of their own: named structs, unions, enums, typedefs and forward declarations. */
  private isTopLevel(t: BtfType): boolean {
    switch (t.kind) {
      case K.STRUCT:
      case K.UNION:
      case K.ENUM:
      case K.ENUM64:
      case K.FWD:
      case K.TYPEDEF:
        // clang predefines __builtin_va_list; the kernel's BTF describes it too.
        return t.name !== '' && t.name !== '__builtin_va_list';
      default:
        return false;
    }
  }

  /** The C name of a named type, made unique in its namespace (`foo`, `foo___2`...). */
  private nameOf(id: number): string {
    let n = this.names.get(id);
    if (n !== undefined) return n;
    const t = this.btf.types[id]!;
    // struct, union and enum tags share one namespace in C; typedef names live with variables.
    const map = this.taken[t.kind === K.TYPEDEF ? 'ordinary' : 'tag'];
    n = t.name;
    for (let i = 2; map.has(n); i++) n = `${t.name}___${i}`;
    map.set(n, id);
    this.names.set(id, n);
    return n;
  }

  /**
   * Make `id` usable: `strong` when it is used by value (its definition must come first), weak through a
   * pointer (a forward declaration is enough for a struct or union).
   */
  private order(id: number, strong: boolean): void {
    this.enter(id);
    try {
      this.orderIn(id, strong);
    } finally {
      this.nest--;
    }
  }

  private orderIn(id: number, strong: boolean): void {
    const t = this.btf.types[id]!;
    switch (t.kind) {
      case K.PTR:
        this.order(t.sizeOrType, false);
        return;
      case K.ARRAY:
        this.order(t.array!.type, strong);
        return;
      case K.CONST:
      case K.VOLATILE:
      case K.RESTRICT:
      case K.TYPE_TAG:
        this.order(t.sizeOrType, strong);
        return;
      case K.FUNC_PROTO:
        this.order(t.sizeOrType, false);
        for (const p of t.members) if (p.type) this.order(p.type, false);
        return;
      case K.FWD:
        if (!this.declared[id]) {
          this.declared[id] = 1;
          this.out.push(`${t.kindFlag ? 'union' : 'struct'} ${this.nameOf(id)};`, '');
        }
        return;
      case K.ENUM:
      case K.ENUM64:
        if (t.name && this.state[id] === 0) {
          this.state[id] = 2;
          this.out.push(`${this.enumBody(t, '')};`, '');
        }
        return;
      case K.TYPEDEF:
        if (t.name === '__builtin_va_list') return;
        this.order(t.sizeOrType, strong);
        if (this.state[id] === 0) {
          this.state[id] = 2;
          this.out.push(`typedef ${this.decl(t.sizeOrType, this.nameOf(id), '')};`, '');
        }
        return;
      case K.STRUCT:
      case K.UNION:
        this.orderRecord(id, t, strong);
        return;
      default:
        return; // INT, FLOAT, void, FUNC, VAR, DATASEC, DECL_TAG
    }
  }

  private orderRecord(id: number, t: BtfType, strong: boolean): void {
    if (!t.name) {
      // Anonymous: written inline where it is used, so its members must be ready there.
      for (const m of t.members) this.order(m.type, true);
      return;
    }
    if (this.state[id] === 2) return;
    if (!strong || this.state[id] === 1) {
      if (!this.declared[id] && this.state[id] !== 2) {
        this.declared[id] = 1;
        this.out.push(`${t.kind === K.UNION ? 'union' : 'struct'} ${this.nameOf(id)};`, '');
      }
      if (!strong) return;
      // A by-value cycle cannot exist in valid C; a malformed BTF would land here. Declared is all we can do.
      return;
    }
    this.state[id] = 1;
    for (const m of t.members) this.order(m.type, true);
    this.state[id] = 2;
    this.out.push(`${this.recordBody(id, t, '')};`, '');
  }

  /** The base part and declarator of a declaration of `name` with type `id` (`int *x[4]`, `void (*fn)(int)`). */
  private decl(id: number, name: string, indent: string): string {
    this.enter(id);
    try {
      return this.declIn(id, name, indent);
    } finally {
      this.nest--;
    }
  }

  private declIn(id: number, name: string, indent: string): string {
    const t = this.btf.types[id]!;
    switch (t.kind) {
      case K.UNKN:
        return join('void', name);
      case K.INT:
      case K.FLOAT:
        return join(t.name || unnamedScalar(t), name);
      case K.PTR:
        return this.decl(t.sizeOrType, `*${name}`, indent);
      case K.ARRAY:
        return this.decl(t.array!.type, `${parenIfPtr(name)}[${t.array!.nelems}]`, indent);
      case K.CONST:
      case K.VOLATILE:
      case K.RESTRICT: {
        const q = t.kind === K.CONST ? 'const' : t.kind === K.VOLATILE ? 'volatile' : 'restrict';
        const under = this.skipTags(t.sizeOrType);
        if (this.btf.types[under]!.kind === K.PTR) return this.decl(t.sizeOrType, join(q, name), indent);
        // BTF may qualify both an array and its element: C has one place for it.
        const inner = this.decl(t.sizeOrType, name, indent);
        return inner.startsWith(`${q} `) ? inner : `${q} ${inner}`;
      }
      case K.TYPE_TAG:
        return this.decl(t.sizeOrType, name, indent);
      case K.FUNC_PROTO: {
        const params = t.members.map((p) => (p.type === 0 ? '...' : this.decl(p.type, p.name, indent)));
        return this.decl(t.sizeOrType, `${parenIfPtr(name)}(${params.length ? params.join(', ') : 'void'})`, indent);
      }
      case K.TYPEDEF:
        return join(this.nameOf(id), name);
      case K.ENUM:
      case K.ENUM64:
        return join(t.name ? `enum ${this.nameOf(id)}` : this.enumBody(t, indent), name);
      case K.FWD:
        return join(`${t.kindFlag ? 'union' : 'struct'} ${this.nameOf(id)}`, name);
      case K.STRUCT:
      case K.UNION:
        return join(
          t.name ? `${t.kind === K.UNION ? 'union' : 'struct'} ${this.nameOf(id)}` : this.recordBody(id, t, indent),
          name,
        );
      default:
        return join('void', name);
    }
  }

  private skipTags(id: number): number {
    let t = this.btf.types[id]!;
    for (
      let hops = 0;
      t.kind === K.TYPE_TAG || t.kind === K.CONST || t.kind === K.VOLATILE || t.kind === K.RESTRICT;
      hops++
    ) {
      if (hops > MAX_NEST) this.tooDeep(id);
      id = t.sizeOrType;
      t = this.btf.types[id]!;
    }
    return id;
  }

  /** Enumerators share C's ordinary namespace: a second `Opt_gid` in another enum becomes `Opt_gid___2`. */
  private enumeratorName(id: number, index: number, name: string): string {
    const key = `${id}:${index}`;
    let n = this.enumerators.get(key);
    if (n !== undefined) return n;
    n = name;
    for (let i = 2; this.taken.ordinary.has(n); i++) n = `${name}___${i}`;
    this.taken.ordinary.set(n, id);
    this.enumerators.set(key, n);
    return n;
  }

  private enumBody(t: BtfType, indent: string): string {
    const head = t.name ? `enum ${this.nameOf(t.id)}` : 'enum';
    if (t.members.length === 0) return head;
    const values = t.kind === K.ENUM64 ? this.enum64Values(t) : t.members.map((m) => String(m.offset));
    const suffix = t.kind === K.ENUM64 ? (t.kindFlag ? 'LL' : 'ULL') : '';
    const lines = t.members.map(
      (m, i) => `${indent}\t${this.enumeratorName(t.id, i, m.name)} = ${values[i]}${suffix},`,
    );
    // C makes an enum int-sized; BTF's 1- and 2-byte enums are packed ones (8-byte ones come from their values).
    const attr = t.sizeOrType < 4 ? ' __attribute__((packed))' : '';
    return `${head} {\n${lines.join('\n')}\n${indent}}${attr}`;
  }

  /** ENUM64 values read exactly (the reader's numbers are exact only up to 2^53). */
  private enum64Values(t: BtfType): string[] {
    const v = new DataView(this.btf.raw.buffer, this.btf.raw.byteOffset, this.btf.raw.byteLength);
    const le = this.btf.endian === 'little';
    return t.members.map((_, i) => {
      const at = t.recordAt + 12 + i * 12;
      const value = (BigInt(v.getUint32(at + 8, le)) << 32n) | BigInt(v.getUint32(at + 4, le));
      return (t.kindFlag ? BigInt.asIntN(64, value) : value).toString();
    });
  }

  private recordBody(id: number, t: BtfType, indent: string): string {
    const kw = t.kind === K.UNION ? 'union' : 'struct';
    const head = t.name ? `${kw} ${this.nameOf(id)}` : kw;
    const layout = this.layout(id);
    const inner = `${indent}\t`;
    const lines: string[] = [];
    t.members.forEach((m, i) => {
      this.padTo(lines, id, layout.padBefore[i], inner, `before member '${m.name}'`);
      const bits = t.kindFlag ? m.size : 0;
      lines.push(`${inner}${this.decl(m.type, m.name, inner)}${bits ? `: ${bits}` : ''};`);
    });
    this.padTo(lines, id, layout.padEnd, inner, 'at its end');
    const attr = layout.packed ? ' __attribute__((packed))' : '';
    if (lines.length === 0) return `${head} {}${attr}`;
    return `${head} {\n${lines.join('\n')}\n${indent}}${attr}`;
  }

  /**
   * Append the unnamed bitfields that fill `gap`. Padding is one line per 8 bytes, so a size or offset
   * far past the members (a malformed or hostile file: BTF allows 4 GiB) would write hundreds of millions
   * of lines; a gap over MAX_GAP_BYTES is refused instead.
   */
  private padTo(lines: string[], id: number, gap: Gap | undefined, indent: string, where: string): void {
    if (gap && gap.bits > MAX_GAP_BYTES * 8) {
      const t = this.btf.types[id]!;
      throw new InputError(
        `BTF type ${id}${t.name ? ` '${t.name}'` : ''}: ${Math.floor(gap.bits / 8)} bytes hold no member ${where} (more than ${MAX_GAP_BYTES} bytes of padding: a size or offset past its members)`,
      );
    }
    for (const line of padding(gap, indent)) lines.push(line);
  }

  /** Alignment (bytes) of a type as the emitted C gives it. */
  private alignOf(id: number): number {
    this.enter(id);
    try {
      return this.alignOfIn(id);
    } finally {
      this.nest--;
    }
  }

  private alignOfIn(id: number): number {
    const t = this.btf.types[id]!;
    switch (t.kind) {
      case K.INT:
      case K.FLOAT:
      case K.ENUM:
      case K.ENUM64:
        return Math.min(Math.max(t.sizeOrType, 1), 8);
      case K.PTR:
        return 8;
      case K.ARRAY:
        return this.alignOf(t.array!.type);
      case K.STRUCT:
      case K.UNION:
        return this.layout(id).align;
      case K.TYPEDEF:
      case K.CONST:
      case K.VOLATILE:
      case K.RESTRICT:
      case K.TYPE_TAG:
        return this.alignOf(t.sizeOrType);
      default:
        return 1;
    }
  }

  /** Lay `id` out as C would, natural first, packed if BTF places a member earlier than that allows. */
  private layout(id: number): Layout {
    const known = this.layouts.get(id);
    if (known) return known;
    const t = this.btf.types[id]!;
    const l = this.tryLayout(t, false) ??
      this.tryLayout(t, true) ?? { packed: true, padBefore: [], padEnd: NO_GAP, align: 1 };
    this.layouts.set(id, l);
    return l;
  }

  private tryLayout(t: BtfType, packed: boolean): Layout | undefined {
    const union = t.kind === K.UNION;
    const padBefore: Gap[] = [];
    let pos = 0; // bits
    let end = 0;
    let align = 1;
    for (const m of t.members) {
      const size = this.btf.sizeOf(m.type);
      const a = packed ? 1 : this.alignOf(m.type);
      const bits = t.kindFlag ? m.size : 0;
      const at = union ? 0 : pos;
      let natural: number;
      if (bits) {
        const unit = size * 8;
        natural = packed || Math.floor(at / unit) === Math.floor((at + bits - 1) / unit) ? at : roundUp(at, unit);
      } else {
        natural = roundUp(at, a * 8);
      }
      if (m.offset < natural) return undefined;
      padBefore.push(union ? NO_GAP : { from: natural, bits: m.offset - natural });
      if (!union || !bits) align = Math.max(align, a);
      const next = m.offset + (bits || size * 8);
      pos = next;
      end = Math.max(end, next);
    }
    const size = t.sizeOrType * 8;
    if (end > size || size % (align * 8) !== 0) return undefined;
    // Tail padding only where C's rounding up to the alignment would not reach BTF's size by itself.
    const padEnd = union || roundUp(end, align * 8) === size ? NO_GAP : { from: end, bits: size - end };
    if (union && roundUp(end, align * 8) !== size) return undefined;
    return { packed, padBefore, padEnd, align };
  }
}

const NO_GAP: Gap = { from: 0, bits: 0 };

/**
 * Unnamed bitfields filling a gap: `char: n` up to the next byte (a char bitfield never straddles a
 * byte, so it lands exactly there), then `long: 64` per aligned 8 bytes and `char: 8` per other byte.
 * Unnamed bitfields add nothing to a struct's alignment, so they change no other offset.
 */
function padding(gap: Gap | undefined, indent: string): string[] {
  const out: string[] = [];
  if (!gap || gap.bits <= 0) return out;
  let at = gap.from;
  const end = gap.from + gap.bits;
  while (at < end) {
    let n: number;
    let type = 'char';
    if (at % 8 !== 0) n = Math.min(end - at, 8 - (at % 8));
    else if (at % 64 === 0 && end - at >= 64) {
      n = 64;
      type = 'long';
    } else n = Math.min(end - at, 8);
    out.push(`${indent}${type}: ${n};`);
    at += n;
  }
  return out;
}

function roundUp(v: number, to: number): number {
  return to <= 1 ? v : Math.ceil(v / to) * to;
}

/**
 * The C type of an INT or FLOAT BTF gave no name (malformed, but parseable): chosen by size and encoding,
 * since a fixed `int` would give any other size a wrong layout. A size no C type has is refused.
 */
function unnamedScalar(t: BtfType): string {
  const size = t.sizeOrType;
  if (t.kind === K.FLOAT) {
    const float = size === 4 ? 'float' : size === 8 ? 'double' : size === 16 ? 'long double' : undefined;
    if (float) return float;
  } else {
    const enc = t.int?.encoding ?? 0;
    if (enc & 4 && size === 1) return '_Bool';
    if (enc & 2 && size === 1) return 'char';
    const sign = enc & 1 ? 'signed ' : 'unsigned ';
    const int = { 1: 'char', 2: 'short', 4: 'int', 8: 'long long', 16: '__int128' }[size];
    if (int) return sign + int;
  }
  throw new InputError(
    `BTF type ${t.id}: an unnamed ${t.kind === K.FLOAT ? 'FLOAT' : 'INT'} of ${size} bytes has no C type`,
  );
}

function join(base: string, declarator: string): string {
  if (!declarator) return base;
  return declarator.startsWith('[') ? `${base}${declarator}` : `${base} ${declarator}`;
}

/** `*name` must be parenthesized when an array or function suffix follows. */
function parenIfPtr(name: string): string {
  return name.startsWith('*') ? `(${name})` : name;
}
