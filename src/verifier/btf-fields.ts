/**
 * What an object's BTF says that bpfkit does not model, so the verifier can say so instead of guessing:
 * map value fields the kernel manages itself (btf_parse_fields: spin locks, timers, kptrs, list and tree
 * nodes...), whose loads, stores and helper accesses the kernel checks by their own rules, and decl tags
 * that change how the kernel verifies a function (`__arg_*` argument tags, exception callbacks).
 */
import { type Btf, type BtfType, BtfKind, parseBtf } from '../btf/index.js';

const parsed = new WeakMap<Uint8Array, Btf | null>();

/**
 * An object's .BTF section parsed once per section (the verifier asks for every program of an object),
 * or undefined when it does not parse.
 */
export function objectBtf(raw: Uint8Array | undefined): Btf | undefined {
  if (!raw) return undefined;
  let btf = parsed.get(raw);
  if (btf === undefined) {
    try {
      btf = parseBtf(raw);
    } catch {
      btf = null;
    }
    parsed.set(raw, btf);
  }
  return btf ?? undefined;
}

/** A kernel-managed field of a map value: its byte range and what it is. */
export interface KernelField {
  off: number;
  size: number;
  what: string;
  /**
   * A kptr's struct, by name (the kernel finds it by that name in its own BTF), when the pointer names a
   * struct through exactly one type tag, as btf_find_kptr accepts.
   */
  target?: string;
  /** The kptr's struct's type id in the BTF read (a kptr of the program's own struct is found by it). */
  targetId?: number;
  /**
   * A bpf_list_head's or bpf_rb_root's `contains:STRUCT:NODE` decl tag (btf_parse_graph_root): the struct
   * its nodes are, and the node member's name (graph.ts resolves them).
   */
  contains?: { struct: string; node: string };
}

/** Structs the kernel recognises by name inside a map value (btf_get_field_type). */
const SPECIAL_STRUCTS: ReadonlySet<string> = new Set([
  'bpf_spin_lock',
  'bpf_res_spin_lock',
  'bpf_timer',
  'bpf_wq',
  'bpf_task_work',
  'bpf_list_head',
  'bpf_list_node',
  'bpf_rb_root',
  'bpf_rb_node',
  'bpf_refcount',
  'bpf_workqueue',
]);

/**
 * The size and alignment of the special structs whose layout bpfkit knows (the uapi's), by name; a struct
 * of that name with another size or at a misaligned offset is ignored by the kernel (btf_find_struct).
 */
const LAYOUT: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['bpf_spin_lock', [4, 4]],
  ['bpf_timer', [16, 8]],
  ['bpf_wq', [16, 8]],
  ['bpf_list_head', [16, 8]],
  ['bpf_list_node', [24, 8]],
  ['bpf_rb_root', [16, 8]],
  ['bpf_rb_node', [32, 8]],
  ['bpf_refcount', [4, 4]],
]);

/** Pointer type tags that make a field a kptr. */
const KPTR_TAGS: ReadonlySet<string> = new Set(['kptr', 'kptr_untrusted', 'kptr_ref', 'percpu_kptr', 'uptr']);

const QUALIFIERS: readonly number[] = [BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT];

/**
 * The kernel-managed fields of a map value of BTF type `typeId`, at their byte offsets. Arrays of such
 * fields count each element (up to a bound, as the kernel caps them too); anything unreadable gives none.
 */
export function kernelFields(btf: Btf, typeId: number): KernelField[] {
  const out: KernelField[] = [];
  const visit = (id: number, base: number, depth: number, tag?: string): void => {
    if (depth > 16 || out.length > 256) return;
    let t: BtfType | undefined = btf.types[id];
    let tid = id;
    // (chains bounded: a CONST of itself in a hostile object must not loop for ever; the kernel allows 32)
    for (let hops = 0; t && QUALIFIERS.includes(t.kind); hops++) {
      tid = t.sizeOrType;
      t = hops > 32 ? undefined : btf.types[tid];
    }
    if (!t) return;
    // A global data section's value (.data, .bss, .data.A): each variable at its byte offset, as the
    // kernel's btf_find_datasec_var walks them (a global struct bpf_spin_lock lives there).
    if (t.kind === BtfKind.VAR) return visit(t.sizeOrType, base, depth + 1, containsTag(btf, tid, -1));
    if (t.kind === BtfKind.DATASEC) {
      for (const m of t.members) visit(m.type, base + m.offset, depth + 1);
      return;
    }
    if (t.kind === BtfKind.PTR) {
      // A kptr is `T __kptr *`: the pointer's target is a TYPE_TAG named kptr (or a chain of them).
      let p: BtfType | undefined = btf.types[t.sizeOrType];
      // btf_find_kptr: any other type tag first (`__user`, `__rcu`...) makes the kernel's whole record an
      // error, kept as no fields at all; bpfkit marks it so as not to judge the map (mapFieldsUnsure).
      if (p?.kind === BtfKind.TYPE_TAG && !KPTR_TAGS.has(p.name)) {
        out.push({ off: base, size: 8, what: `tag ${p.name}` });
        return;
      }
      for (let hops = 0; p && p.kind === BtfKind.TYPE_TAG && hops <= 32; hops++) {
        if (KPTR_TAGS.has(p.name)) {
          let q: BtfType | undefined = btf.types[p.sizeOrType];
          for (let n = 0; q && hops === 0 && QUALIFIERS.includes(q.kind) && n <= 32; n++) q = btf.types[q.sizeOrType];
          const target = hops === 0 && q?.kind === BtfKind.STRUCT && q.name ? q.name : undefined;
          out.push({ off: base, size: 8, what: `__${p.name}`, ...(target ? { target, targetId: q!.id } : {}) });
          return;
        }
        p = btf.types[p.sizeOrType];
      }
      return;
    }
    if (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) {
      if (t.kind === BtfKind.STRUCT && SPECIAL_STRUCTS.has(t.name)) {
        // btf_find_struct: a special struct of another size than the kernel's, or misaligned, is no field
        // (nor looked into).
        const layout = LAYOUT.get(t.name);
        if (layout && (t.sizeOrType !== layout[0] || base % layout[1] !== 0)) return;
        const graph = tag && (t.name === 'bpf_list_head' || t.name === 'bpf_rb_root') ? parseContains(tag) : undefined;
        out.push({
          off: base,
          size: t.sizeOrType || 1,
          what: `struct ${t.name}`,
          ...(graph ? { contains: graph } : {}),
        });
        return;
      }
      t.members.forEach((m, i) => {
        const bits = t.kindFlag ? m.offset & 0xffffff : m.offset;
        visit(m.type, base + Math.floor(bits / 8), depth + 1, containsTag(btf, tid, i));
      });
      return;
    }
    if (t.kind === BtfKind.ARRAY) {
      const n = Math.min(t.array!.nelems, 64);
      let elem: number;
      try {
        elem = btf.sizeOf(t.array!.type);
      } catch {
        return;
      }
      const before = out.length;
      visit(t.array!.type, base, depth + 1, tag);
      if (out.length === before) return;
      const first = out.slice(before);
      for (let i = 1; i < n; i++) for (const f of first) out.push({ ...f, off: f.off + i * elem });
    }
  };
  visit(typeId, 0, 0);
  return out;
}

/** The `contains:` decl tag on a struct's member `component` (or on a variable: -1), if any. */
function containsTag(btf: Btf, id: number, component: number): string | undefined {
  return declTags(btf, id).find((x) => x.component === component && x.name.startsWith('contains:'))?.name;
}

/** `contains:STRUCT:NODE`, split; undefined when it is not of that shape (the kernel refuses the BTF then). */
function parseContains(tag: string): { struct: string; node: string } | undefined {
  const parts = tag.split(':');
  return parts.length === 3 && parts[1] && parts[2] ? { struct: parts[1], node: parts[2] } : undefined;
}

/** BTF_FIELDS_MAX: the most fields btf_parse_fields keeps in a record. */
const FIELDS_MAX = 11;

/** Fields a map value holds at most one of (btf_find_struct_field's seen_mask). */
const SINGULAR: ReadonlySet<string> = new Set([
  'struct bpf_spin_lock',
  'struct bpf_res_spin_lock',
  'struct bpf_timer',
  'struct bpf_wq',
  'struct bpf_refcount',
  'struct bpf_task_work',
]);

/**
 * Why the kernel's record of a map value's fields may differ from what bpfkit read, or undefined when it
 * should not: btf_parse_fields fails on more than BTF_FIELDS_MAX fields, a second lock or timer, a pointer
 * whose first type tag is no kptr's, a kptr that does not point to a struct, and a map_check_btf keeps such
 * a failed record as no fields at all, which bpfkit does not model.
 */
export function mapFieldsUnsure(fields: readonly KernelField[]): string | undefined {
  if (fields.length > FIELDS_MAX) return `more than ${FIELDS_MAX} kernel-managed fields`;
  const tag = fields.find((f) => f.what.startsWith('tag '));
  if (tag) return `a pointer with type tag '${tag.what.slice(4)}' at off ${tag.off}`;
  // `kptr_ref` is no tag the kernel knows (the old name of `kptr`): it fails the record too.
  const kptr = fields.find((f) => f.what.startsWith('__') && (!f.target || f.what === '__kptr_ref'));
  if (kptr) return `a ${kptr.what} field at off ${kptr.off} that does not point to a struct bpfkit reads`;
  const twice = fields.find((f, i) => SINGULAR.has(f.what) && fields.findIndex((g) => g.what === f.what) !== i);
  if (twice) return `a second ${twice.what}`;
  // A resilient lock's layout and rules (Linux 6.15 on) bpfkit does not carry.
  if (fields.some((f) => f.what === 'struct bpf_res_spin_lock')) return 'a struct bpf_res_spin_lock';
  return undefined;
}

/**
 * Decl tags on function `funcTypeId` (component -1 the function, else the argument's index), by name:
 * `arg:ctx`, `arg:nonnull`, `exception_callback:cb`...
 */
export function declTags(btf: Btf, funcTypeId: number): readonly { component: number; name: string }[] {
  let index = tagIndex.get(btf);
  if (!index) {
    index = new Map();
    for (const t of btf.types) {
      if (!t || t.kind !== BtfKind.DECL_TAG) continue;
      const list = index.get(t.sizeOrType) ?? [];
      list.push({ component: t.extra === undefined ? -1 : t.extra | 0, name: t.name });
      index.set(t.sizeOrType, list);
    }
    tagIndex.set(btf, index);
  }
  return index.get(funcTypeId) ?? [];
}

const tagIndex = new WeakMap<Btf, Map<number, { component: number; name: string }[]>>();
