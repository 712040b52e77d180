/**
 * The kernel ABI table (src/kernel/abi) against the running kernel's own description of its types,
 * /sys/kernel/btf/vmlinux, read with bpfkit's BTF reader: every struct exists, every field bpfkit uses
 * has the kernel's name, offset, size and kind of type, and every size follows its rule. A hand-typed
 * offset that is wrong, or a kernel that lays a struct out differently, fails here by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { inCI } from '../support/env.js';
import { BtfKind, btfKindName, parseBtf, type Btf, type BtfMember, type BtfType } from '../../src/btf/btf.js';
import * as abi from '../../src/kernel/abi/index.js';
import {
  bytes,
  i32,
  isLayout,
  layout,
  u32,
  type Field,
  type KernelType,
  type Layout,
} from '../../src/kernel/abi/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

/** Every layout the table exports (BPF_ATTR's parts as BPF_ATTR.<part>), by the name a failure prints. */
function allLayouts(): [string, Layout][] {
  const out: [string, Layout][] = [];
  for (const [name, value] of Object.entries(abi)) {
    if (isLayout(value)) out.push([name, value]);
    else if (typeof value === 'object' && value !== null) {
      for (const [part, v] of Object.entries(value)) if (isLayout(v)) out.push([`${name}.${part}`, v]);
    }
  }
  return out;
}

interface Found {
  member: BtfMember;
  /** From the start of the struct the search began in. */
  bitOffset: number;
}

/** A member by name, looking through anonymous structs and unions as C does. */
function findMember(btf: Btf, t: BtfType, name: string, base = 0): Found | undefined {
  for (const m of t.members) {
    if (m.name === name) return { member: m, bitOffset: base + m.offset };
  }
  for (const m of t.members) {
    if (m.name !== '') continue;
    const inner = btf.resolve(m.type);
    if (inner.kind !== BtfKind.STRUCT && inner.kind !== BtfKind.UNION) continue;
    const found = findMember(btf, inner, name, base + m.offset);
    if (found) return found;
  }
  return undefined;
}

/** A dotted field path (`hdr.bh1.num_pkts`), each step a member of the previous one's type. */
function findPath(btf: Btf, t: BtfType, path: string): Found | undefined {
  let found: Found | undefined;
  let type = t;
  let base = 0;
  for (const step of path.split('.')) {
    found = findMember(btf, type, step, base);
    if (!found) return undefined;
    base = found.bitOffset;
    type = btf.resolve(found.member.type);
  }
  return found;
}

function describe(k: KernelType): string {
  if ('struct' in k) return `struct ${k.struct}`;
  if ('member' in k) return `union ${k.union} member ${k.member}`;
  return `union ${k.union}, the anonymous member with ${k.anonymousWith}`;
}

/** The kernel's struct a layout mirrors (for a union part, the member's own type). */
function kernelStruct(btf: Btf, k: KernelType): BtfType {
  if ('struct' in k) {
    const t = btf.byName(k.struct, BtfKind.STRUCT);
    assert.ok(t, `the kernel has no struct ${k.struct}`);
    return t;
  }
  const u = btf.byName(k.union, BtfKind.UNION);
  assert.ok(u, `the kernel has no union ${k.union}`);
  if ('member' in k) {
    const m = u.members.find((x) => x.name === k.member);
    assert.ok(m, `union ${k.union} has no member ${k.member}`);
    return btf.resolve(m.type);
  }
  const parts = u.members.filter((m) => m.name === '' && findMember(btf, btf.resolve(m.type), k.anonymousWith));
  assert.equal(parts.length, 1, `union ${k.union} should have exactly one anonymous member with ${k.anonymousWith}`);
  return btf.resolve(parts[0]!.type);
}

/** Does the kernel's type of a field agree with the table's kind? */
function checkKind(btf: Btf, name: string, f: Field, typeId: number): void {
  const t = btf.resolve(typeId);
  const what = `${name}: the kernel's type is ${btfKindName(t.kind)} '${t.name}', the table says ${f.kind}`;
  switch (f.kind) {
    case 'ptr':
      assert.equal(t.kind, BtfKind.PTR, what);
      break;
    case 'bytes':
      assert.equal(t.kind, BtfKind.ARRAY, what);
      break;
    default: {
      assert.equal(t.kind, BtfKind.INT, what);
      const signed = ((t.int?.encoding ?? 0) & 1) === 1;
      const base = f.kind === 'bits' ? 'u32' : f.kind;
      assert.equal(signed, base.startsWith('i'), `${what} (${signed ? 'signed' : 'unsigned'})`);
      assert.equal(t.int?.bits, f.size * 8, what); // a bitfield's unit is its u32
    }
  }
}

/** Throws (assert) at the first disagreement between a layout and the kernel's BTF. */
function checkLayout(btf: Btf, name: string, l: Layout): void {
  const t = kernelStruct(btf, l.kernel);
  const where = `${name} (${describe(l.kernel)})`;
  const kernelSize = t.sizeOrType;
  for (const [field, f] of Object.entries(l.fields)) {
    const label = `${where}.${field}`;
    const found = findPath(btf, t, field);
    assert.ok(found, `${label}: the kernel has no such field`);
    if (f.kind === 'bits') {
      const b = f as abi.BitField;
      assert.equal(found.bitOffset, f.offset * 8 + b.bit, `${label}: bit offset`);
      assert.equal(found.member.size, b.bits, `${label}: bitfield width`);
    } else {
      assert.equal(found.bitOffset, f.offset * 8, `${label}: offset`);
      assert.equal(found.member.size, 0, `${label}: the kernel's field is a bitfield`);
      assert.equal(btf.sizeOf(found.member.type), f.size, `${label}: size`);
    }
    checkKind(btf, label, f, found.member.type);
  }
  switch (l.rule) {
    case 'exact':
      assert.equal(l.size, kernelSize, `${where}: size ${l.size}, the kernel's is ${kernelSize}`);
      break;
    case 'prefix': {
      assert.ok(l.size <= kernelSize, `${where}: size ${l.size} is beyond the kernel's ${kernelSize}`);
      // Where the kernel's fields start and end, and its own end (tail padding included).
      const bounds = new Set([kernelSize]);
      for (const m of t.members) {
        bounds.add(m.offset >> 3);
        bounds.add(m.size ? (m.offset + m.size + 7) >> 3 : m.offset / 8 + btf.sizeOf(m.type));
      }
      assert.ok(
        bounds.has(l.size),
        `${where}: size ${l.size} cuts a kernel field (boundaries: ${[...bounds].sort((a, b) => a - b).join(', ')})`,
      );
      break;
    }
    case 'fields':
      assert.ok(l.size <= kernelSize, `${where}: size ${l.size} is beyond the kernel's ${kernelSize}`);
      break;
  }
}

test('the kernel ABI table matches the running kernel (BTF)', async (t) => {
  if (!existsSync(VMLINUX)) {
    const reason = `needs ${VMLINUX} (Linux with CONFIG_DEBUG_INFO_BTF)`;
    if (inCI) assert.fail(`${reason} (CI=true: .ci/run must provide it)`);
    t.skip(reason);
    return;
  }
  const btf = parseBtf(readFileSync(VMLINUX), VMLINUX);
  const layouts = allLayouts();
  assert.ok(layouts.length >= 20, `found only ${layouts.length} layouts in src/kernel/abi`);
  for (const [name, l] of layouts) await t.test(name, () => checkLayout(btf, name, l));

  await t.test('the check itself catches wrong entries', () => {
    const sll = { struct: 'sockaddr_ll' } as const;
    assert.throws(() => checkLayout(btf, 'bad offset', layout(sll, 20, 'exact', { sll_ifindex: i32(8) })), /offset/);
    assert.throws(() => checkLayout(btf, 'bad kind', layout(sll, 20, 'exact', { sll_ifindex: u32(4) })), /signed/);
    assert.throws(() => checkLayout(btf, 'bad size', layout(sll, 24, 'exact', {})), /size 24/);
    assert.throws(() => checkLayout(btf, 'bad name', layout(sll, 20, 'exact', { ifindex: i32(4) })), /no such field/);
    const attr = { union: 'bpf_attr', anonymousWith: 'prog_type' } as const;
    assert.throws(() => checkLayout(btf, 'cut field', layout(attr, 50, 'prefix', { prog_name: bytes(48, 2) })), /size/);
  });
});
