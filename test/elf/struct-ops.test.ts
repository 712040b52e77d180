/**
 * struct_ops maps from our own C (clang, no kernel headers): each `.struct_ops` / `.struct_ops.link`
 * variable becomes a STRUCT_OPS map spec with the object's bytes and its function pointers bound to
 * programs through the section's relocations; the loader lays it out by the "kernel's" struct, here the
 * object's own BTF standing in for vmlinux (members matched by name, a flavor suffix dropped, a zero member
 * the kernel lacks skipped, a non-zero one refused), and what bpfkit does not load is refused in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseObject, type ParsedObject } from '../../src/elf/object.js';
import { parseBtf } from '../../src/btf/btf.js';
import { loadCollection } from '../../src/loader/load-collection.js';
import { prepareSpec } from '../../src/loader/load-collection.js';
import type { KernelEnv } from '../../src/loader/kernel-env.js';
import { BpfkitError, InputError } from '../../src/util/errors.js';
import { validateSpec } from '../../src/engine/validate-spec.js';
import { applyMutation, drawMutation, rng, targetsOf } from './mutate.js';
import { MapFlag, MapType } from '../../src/uapi/types.js';
import { needs } from '../support/env.js';

const work = mkdtempSync(join(tmpdir(), `bpfkit-struct-ops-${process.pid}-`));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const SOURCE = `
#define SEC(n) __attribute__((section(n), used))
struct ops {
  int (*init)(void *sk);
  unsigned int flags;
  void (*release)(void *sk);
  char name[16];
};
/* The object's view of it: other order, and a member the "kernel" lacks. */
struct ops___mine {
  char name[16];
  void (*release)(void *sk);
  int (*init)(void *sk);
  unsigned int flags;
  unsigned long extra;
};
#ifndef NO_WRAPPER
/* The kernel's map-value wrapper, as kernel/bpf/bpf_struct_ops.c declares one per type. */
struct bpf_struct_ops_ops { long refcnt; int state; struct ops data; };
struct bpf_struct_ops_ops wrapper_type_only SEC(".data.types");
#endif
#ifndef EXTRA
#define EXTRA 0
#endif
SEC("struct_ops/init") int my_init(unsigned long long *ctx) { return 1; }
SEC("struct_ops/release") int my_release(unsigned long long *ctx) { return 0; }
#ifdef OPTIONAL
SEC("struct_ops/only_optional") int only_optional(unsigned long long *ctx) { return 0; }
SEC("?.struct_ops") struct ops optional = { .init = (void *)only_optional, .release = (void *)my_release };
#endif
#ifdef ORPHAN
SEC("struct_ops.s/orphan") int orphan(unsigned long long *ctx) { return 0; }
#endif
SEC(".struct_ops") struct ops plain = { .init = (void *)my_init, .flags = 7, .name = "plain_ops" };
SEC(".struct_ops.link") struct ops___mine linked = {
  .release = (void *)my_release, .init = (void *)my_init, .flags = 9, .name = "linked_ops", .extra = EXTRA,
};
char LICENSE[] SEC("license") = "GPL";
`;

function compile(...defines: string[]): ParsedObject {
  const tag = defines.join('_') || 'plain';
  const src = join(work, `ops-${tag}.c`);
  const out = join(work, `ops-${tag}.o`);
  writeFileSync(src, SOURCE);
  execFileSync('clang', ['-g', '-O2', '-target', 'bpf', ...defines.map((d) => `-D${d}`), '-c', src, '-o', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return parseObject(readFileSync(out), { path: out });
}

/** A kernel whose BTF is the object's own (it declares `struct ops` and its wrapper). */
function envOf(spec: ParsedObject): KernelEnv {
  const btf = parseBtf(spec.btf!);
  return { btf: () => btf } as KernelEnv;
}

function refusal(fn: () => unknown): BpfkitError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BpfkitError) return err;
    throw err;
  }
  assert.fail('not refused');
}

const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, b.indexOf(0)));
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

test('each .struct_ops variable is a STRUCT_OPS map with its bytes and function pointers bound to programs', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = compile();
  const plain = spec.maps.find((m) => m.name === 'plain')!;
  const linked = spec.maps.find((m) => m.name === 'linked')!;
  assert.deepEqual(
    [plain.type, plain.keySize, plain.valueSize, plain.maxEntries, plain.flags, plain.section],
    [MapType.STRUCT_OPS, 4, 40, 1, 0, '.struct_ops'],
  );
  assert.deepEqual([linked.valueSize, linked.flags, linked.section], [48, MapFlag.LINK, '.struct_ops.link']);
  assert.equal(plain.structOps!.typeName, 'ops');
  assert.equal(linked.structOps!.typeName, 'ops___mine');
  assert.equal(linked.structOps!.link, true);
  const bound = (m: typeof plain) =>
    m.structOps!.members.filter((x) => x.program).map((x) => `${x.name}=${x.program}@${x.offset}`);
  assert.deepEqual(bound(plain), ['init=my_init@0']);
  assert.deepEqual(bound(linked), ['release=my_release@16', 'init=my_init@24']);
  assert.equal(text(plain.structOps!.data.subarray(24)), 'plain_ops');
  assert.equal(u32(plain.structOps!.data, 8), 7);
  assert.equal(text(linked.structOps!.data), 'linked_ops');
  // Bound programs load; neither carries the section's refusal.
  for (const p of spec.programs) assert.equal(p.unsupported, undefined, p.name);
});

test("the loader lays a map out by the kernel's struct: members by name, program slots, attach ids", (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = compile();
  const env = envOf(spec);
  const btf = env.btf()!;
  // Asking for one program brings its maps and their other programs (a struct_ops program loads with its map).
  const s = prepareSpec(spec, { engine: 'kernel', kernel: { programs: ['my_release'] } }, env);
  assert.deepEqual(s.programs.map((p) => p.name).sort(), ['my_init', 'my_release']);
  const ops = btf.byName('ops')!;
  const wrapper = btf.byName('bpf_struct_ops_ops')!;
  const linked = s.maps.find((m) => m.name === 'linked')!;
  const k = linked.structOps!.kernel!;
  assert.equal(k.typeId, ops.id);
  assert.equal(k.valueTypeId, wrapper.id);
  assert.equal(linked.valueSize, 56);
  assert.equal(k.value.length, 56);
  // data sits at 16 in the wrapper; the kernel's order: init@0 flags@8 release@16 name@24.
  assert.deepEqual(k.programSlots, [
    { offset: 32, program: 'my_release' },
    { offset: 16, program: 'my_init' },
  ]);
  assert.equal(u32(k.value, 24), 9);
  assert.equal(text(k.value.subarray(40)), 'linked_ops');
  assert.ok(
    k.value.subarray(0, 16).every((b) => b === 0),
    'the wrapper head stays zero',
  );
  const attach = Object.fromEntries(s.programs.map((p) => [p.name, [p.attachBtfId, p.attachType]]));
  assert.deepEqual(attach, { my_init: [ops.id, 0], my_release: [ops.id, 2] });
});

test('a ?.struct_ops map (libbpf 1.4) is not created, nor are the programs only it points at', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const spec = compile('OPTIONAL');
  const optional = spec.maps.find((m) => m.name === 'optional')!;
  assert.equal(optional.section, '?.struct_ops');
  assert.equal(optional.structOps!.autocreate, false);
  assert.equal(optional.flags, 0);
  const s = prepareSpec(spec, { engine: 'kernel' }, envOf(spec));
  assert.deepEqual(
    s.maps.filter((m) => m.structOps).map((m) => m.name),
    ['plain', 'linked'],
  );
  // my_release is also linked's: it stays; only_optional goes with its map.
  assert.deepEqual(s.programs.map((p) => p.name).sort(), ['my_init', 'my_release']);
});

test('refused in one line: a member the kernel lacks set non-zero, a missing kernel type, an unbound program, the VM', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const extra = compile('EXTRA=5');
  let err = refusal(() => prepareSpec(extra, { engine: 'kernel' }, envOf(extra)));
  assert.match(
    err.message,
    /struct_ops map 'linked', member 'extra': the kernel's 'struct ops' has no member 'extra', and the object sets it/,
  );
  const noType = compile('NO_WRAPPER');
  err = refusal(() => prepareSpec(noType, { engine: 'kernel' }, envOf(noType)));
  assert.match(err.message, /struct_ops map 'plain': the kernel's BTF \(vmlinux\) has no struct_ops type 'struct ops'/);
  const orphan = compile('ORPHAN');
  err = refusal(() => prepareSpec(orphan, { engine: 'kernel' }, envOf(orphan)));
  assert.match(err.message, /program 'orphan'.*no map of this object does/);
  const vm = await loadCollection(compile(), { engine: 'vm' }).then(
    () => assert.fail('the VM loaded a struct_ops map'),
    (e: unknown) => e as BpfkitError,
  );
  assert.match(
    vm.message,
    /struct_ops map 'plain' \(struct ops\) registers with the kernel: load it with the kernel engine/,
  );
  for (const e of [err, vm]) {
    assert.ok(!e.message.includes('\n'), e.message);
    assert.equal(e.exitCode, 2);
  }
});

test('fuzz: seeded mutations of a struct_ops object end in an ObjectSpec or a one-line InputError', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const file = join(work, 'ops-plain.o');
  compile();
  const original = new Uint8Array(readFileSync(file));
  const targets = targetsOf(original);
  const next = rng(0x5700);
  const scratch = new Uint8Array(original.length);
  const outcomes = { spec: 0, error: 0 };
  const count = Number(process.env.BPFKIT_FUZZ_MUTATIONS ?? 3000);
  for (let i = 0; i < count; i++) {
    const edits = drawMutation(targets, next);
    const bytes = applyMutation(original, edits, targets.little, scratch);
    try {
      validateSpec(parseObject(bytes, { path: 'ops.o' }));
      outcomes.spec++;
    } catch (err) {
      if (err instanceof InputError && !err.message.includes('\n')) outcomes.error++;
      else assert.fail(`mutation ${i}, edits ${JSON.stringify(edits)}: ${String(err)}`);
    }
  }
  assert.ok(outcomes.error > 0 && outcomes.spec > 0, JSON.stringify(outcomes));
  t.diagnostic(`${count} mutations: ${outcomes.spec} specs, ${outcomes.error} input errors`);
});
