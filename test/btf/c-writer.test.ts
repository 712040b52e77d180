/**
 * The BTF→C writer against clang: the kernel's BTF written as C must compile, and every uniquely named
 * struct and union must have BTF's size and BTF's offset for each named non-bitfield member
 * (_Static_assert, so clang itself is the judge). A small hand-built BTF checks order and declarators.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBtf, writeC, BtfKind, type Btf } from '../../src/btf/index.js';
import { needs } from '../support/env.js';
import { InputError } from '../../src/util/errors.js';
import { kernelFields } from '../../src/verifier/btf-fields.js';
import { buildBtf as buildRawBtf, int, ptr, struct, typedef, type TypeWords } from './build-btf.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

/** True when `id` holds a va_list by value: clang's BPF target makes it a pointer, x86's kernel 24 bytes (bpftool's vmlinux.h has the same gap). */
function holdsVaList(btf: Btf, id: number, seen = new Set<number>()): boolean {
  if (seen.has(id)) return false;
  seen.add(id);
  const t = btf.types[id]!;
  if (t.name === '__builtin_va_list') return true;
  if (t.kind === BtfKind.PTR) return false;
  if (t.array) return holdsVaList(btf, t.array.type, seen);
  if (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION)
    return t.members.some((m) => holdsVaList(btf, m.type, seen));
  if (t.kind === BtfKind.TYPEDEF || t.kind === BtfKind.CONST || t.kind === BtfKind.VOLATILE)
    return holdsVaList(btf, t.sizeOrType, seen);
  return false;
}

function layoutAsserts(btf: Btf): string {
  const count = new Map<string, number>();
  for (const t of btf.types) if (t.name) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  const out: string[] = [];
  for (const t of btf.types) {
    if ((t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) || !t.name || count.get(t.name) !== 1) continue;
    if (holdsVaList(btf, t.id)) continue;
    const c = `${t.kind === BtfKind.UNION ? 'union' : 'struct'} ${t.name}`;
    out.push(`_Static_assert(sizeof(${c}) == ${t.sizeOrType}, "size of ${c}");`);
    for (const m of t.members) {
      if (!m.name || (t.kindFlag && m.size)) continue;
      out.push(`_Static_assert(__builtin_offsetof(${c}, ${m.name}) == ${m.offset / 8}, "${c}.${m.name}");`);
    }
  }
  return out.join('\n');
}

function compiles(dir: string, header: string, body: string): void {
  writeFileSync(path.join(dir, 'vmlinux.h'), header);
  writeFileSync(path.join(dir, 'prog.c'), `#include "vmlinux.h"\n${body}\n`);
  execFileSync('clang', ['-target', 'bpf', '-O2', '-g', '-c', 'prog.c', '-o', 'prog.o'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

test("the kernel's BTF as C compiles, with BTF's sizes and offsets for every struct and union", (t) => {
  if (!needs(t, { tools: ['clang'] }) || !existsSync(VMLINUX)) return;
  const btf = parseBtf(readFileSync(VMLINUX), VMLINUX);
  const header = writeC(btf);
  assert.match(
    header,
    /#pragma clang attribute push \(__attribute__\(\(preserve_access_index\)\), apply_to = record\)/,
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-cwriter-${process.pid}-`));
  try {
    const asserts = layoutAsserts(btf);
    assert.ok(asserts.split('\n').length > 10_000, 'checks many layouts');
    compiles(dir, header, asserts);
  } catch (err) {
    const e = err as { stderr?: Buffer };
    assert.fail(e.stderr ? e.stderr.toString().split('\n').slice(0, 8).join('\n') : String(err));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the C from BTF defines the same structs, unions, enums and typedefs as bpftool btf dump format c', (t) => {
  if (!needs(t, { tools: ['bpftool'] }) || !existsSync(VMLINUX)) return;
  const ours = writeC(parseBtf(readFileSync(VMLINUX), VMLINUX));
  const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const defs = (text: string) =>
    text
      .split('\n')
      .filter((l) => /^(struct|union|enum) \w+ \{(\};)?$/.test(l) || /^typedef /.test(l))
      .map((l) => l.replace(/^typedef .*?(\w+)(\[\d+\])?(\)\(.*\))?;$/, 'typedef $1'))
      .sort();
  const a = defs(ours);
  const b = defs(theirs);
  assert.deepEqual(
    a.filter((x) => x.startsWith('struct')),
    b.filter((x) => x.startsWith('struct')),
  );
  assert.deepEqual(
    a.filter((x) => x.startsWith('enum')),
    b.filter((x) => x.startsWith('enum')),
  );
});

test('a small BTF: order by dependency, forward declarations for pointer cycles, bitfields, func protos', () => {
  const btf = parseBtf(buildBtf(), 'hand-built');
  const c = writeC(btf, { preserveAccessIndex: false });
  const node = c.indexOf('struct node {');
  const holder = c.indexOf('struct holder {');
  assert.ok(node >= 0 && holder > node, 'struct node (held by value) comes before struct holder');
  assert.match(c, /struct node \{\n\tstruct node \*next;\n\tunsigned int flag: 3;\n\tunsigned int kind: 5;\n/);
  assert.match(c, /typedef int \(\*handler_t\)\(struct node \*, unsigned int\);/);
  assert.match(c, /struct holder \{\n\tstruct node n\[2\];\n\thandler_t h;\n\};/);
  assert.doesNotMatch(c, /preserve_access_index/);
});

/** A hand-built BTF: int, struct node { node *next; u32 flag:3, kind:5 }, typedef handler_t, struct holder. */
function buildBtf(): Uint8Array {
  const strs = ['', 'int', 'unsigned int', 'node', 'next', 'flag', 'kind', 'holder', 'n', 'h', 'handler_t'];
  const strOff = new Map<string, number>();
  let so = 0;
  for (const s of strs) {
    strOff.set(s, so);
    so += s.length + 1;
  }
  const words: number[] = [];
  const info = (kind: number, vlen: number, kf = false) => ((kf ? 1 : 0) << 31) | (kind << 24) | vlen;
  const type = (name: string, i: number, st: number) => words.push(strOff.get(name)!, info0(i), st);
  const info0 = (i: number) => i >>> 0;
  // 1: unsigned int
  type('unsigned int', info(BtfKind.INT, 0), 4);
  words.push(32);
  // 2: struct node (kind_flag: bitfield sizes in offsets)
  type('node', info(BtfKind.STRUCT, 3, true), 16);
  words.push(strOff.get('next')!, 3, 0, strOff.get('flag')!, 1, (3 << 24) | 64, strOff.get('kind')!, 1, (5 << 24) | 67);
  // 3: struct node *
  type('', info(BtfKind.PTR, 0), 2);
  // 4: func proto int(struct node *, unsigned int) — the int is type 1 for brevity
  type('', info(BtfKind.FUNC_PROTO, 2), 5);
  words.push(0, 3, 0, 1);
  // 5: int
  type('int', info(BtfKind.INT, 0), 4);
  words.push((1 << 24) | 32);
  // 6: ptr to proto, 7: typedef handler_t
  type('', info(BtfKind.PTR, 0), 4);
  type('handler_t', info(BtfKind.TYPEDEF, 0), 6);
  // 8: node[2]
  type('', info(BtfKind.ARRAY, 0), 0);
  words.push(2, 1, 2);
  // 9: struct holder { node n[2]; handler_t h; }
  type('holder', info(BtfKind.STRUCT, 2), 40);
  words.push(strOff.get('n')!, 8, 0, strOff.get('h')!, 7, 256);
  const typeBytes = new Uint8Array(new Uint32Array(words).buffer);
  const strBytes = new TextEncoder().encode(strs.join('\0') + '\0');
  const hdr = new DataView(new ArrayBuffer(24));
  hdr.setUint16(0, 0xeb9f, true);
  hdr.setUint8(2, 1);
  hdr.setUint32(4, 24, true);
  hdr.setUint32(8, 0, true);
  hdr.setUint32(12, typeBytes.length, true);
  hdr.setUint32(16, typeBytes.length, true);
  hdr.setUint32(20, strBytes.length, true);
  const out = new Uint8Array(24 + typeBytes.length + strBytes.length);
  out.set(new Uint8Array(hdr.buffer), 0);
  out.set(typeBytes, 24);
  out.set(strBytes, 24 + typeBytes.length);
  return out;
}

test('BTF that loops or nests past any kernel is one InputError naming the type, not a stack overflow', () => {
  const loops = (types: TypeWords[]) => () => writeC(parseBtf(buildRawBtf(types).raw));
  const refused = (err: unknown) =>
    err instanceof InputError && /^BTF type \d+( '[ab]')?: its references nest more than 256 deep/.test(err.message);
  // A typedef of a typedef of itself; a struct holding itself by value.
  assert.throws(loops([typedef('a', 2), typedef('b', 1)]), refused);
  assert.throws(loops([struct('a', 4, [['x', 1, 0]])]), refused);
  // A named typedef of a pointer to a pointer ... 1000 deep (the kernel allows 32).
  const chain: TypeWords[] = [typedef('a', 2)];
  for (let i = 0; i < 1000; i++) chain.push(ptr(i + 3));
  chain.push(int('int', 4, true));
  assert.throws(loops(chain), refused);
  // The writer is still whole for the same shapes without the loop.
  assert.match(loops([typedef('a', 2), int('int', 4, true)])(), /typedef int a;/);
});

test('a struct sized far past its members is one InputError, not millions of padding lines (a hostile file)', () => {
  const written = (size: number) => () =>
    writeC(parseBtf(buildRawBtf([struct('s', size, [['x', 2, 0]]), int('int', 4, true)]).raw));
  // 2 MiB and 4 GiB - 4 of nothing after one int: the writer once filled them with `long: 64;` lines
  // (a stack overflow, or a hang) — now refused, naming the type.
  for (const size of [2 << 20, 0xfffffffc])
    assert.throws(
      written(size),
      (err: unknown) =>
        err instanceof InputError &&
        /^BTF type 1 's': \d+ bytes hold no member at its end \(more than 1048576 bytes of padding/.test(err.message),
    );
  // A real hole of 64 KiB is still padded, to the byte.
  assert.match(written(8 + (64 << 10))(), /int x;\n(\tchar: 8;\n){4}(\tlong: 64;\n){8192}\}/);
});

test('an unnamed INT or FLOAT is written as the C type of its size and sign, never a fixed int', () => {
  const written = (types: TypeWords[]) => writeC(parseBtf(buildRawBtf(types).raw));
  // struct s { <unnamed u64> a; <unnamed s16> b; <unnamed double> c; }
  const f64: TypeWords = (s) => [s.add(''), (16 << 24) >>> 0, 8];
  const c = written([
    struct('s', 24, [
      ['a', 2, 0],
      ['b', 3, 64],
      ['c', 4, 128],
    ]),
    int('', 8),
    int('', 2, true),
    f64,
  ]);
  assert.match(c, /unsigned long long a;/);
  assert.match(c, /signed short b;/);
  assert.match(c, /double c;/);
  // An INT of 3 bytes has no C type: one line naming the type.
  assert.throws(
    () => written([struct('t', 4, [['x', 2, 0]]), int('', 3)]),
    (err: unknown) =>
      err instanceof InputError && /^BTF type 2: an unnamed INT of 3 bytes has no C type/.test(err.message),
  );
});

test("the verifier's kptr-field walk ends on a qualifier or type-tag loop (a hostile object's BTF)", () => {
  // 1: struct a { 2 x; }  2: typedef of 3  3: typedef of 2 — and 4: a pointer to 5, a TYPE_TAG of itself
  const tag: TypeWords = (s) => [s.add('tag'), (18 << 24) >>> 0, 5];
  const btf = parseBtf(
    buildRawBtf([
      struct('a', 16, [
        ['x', 2, 0],
        ['p', 4, 64],
      ]),
      typedef('b', 3),
      typedef('c', 2),
      ptr(5),
      tag,
    ]).raw,
  );
  // The walk ends; the pointer's first tag is no kptr's, which the kernel's record would fail on: it is
  // kept as such (mapFieldsUnsure then leaves the map unjudged).
  assert.deepEqual(kernelFields(btf, 1), [{ off: 8, size: 8, what: 'tag tag' }]);
});
