/**
 * CO-RE end to end: C written for these tests (test/btf/corpus), compiled now with clang -g -O2
 * -target bpf, relocated against the running kernel's BTF. Each program runs in the VM and in the kernel
 * engine, and libbpf (`bpftool prog loadall` + `bpftool prog run`) is the oracle for load success and
 * results: every relocation kind's value lands in a map slot, compared slot by slot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseObject } from '../../src/elf/object.js';
import { readElf } from '../../src/elf/elf-file.js';
import { loadCollection } from '../../src/loader/index.js';
import { KERNEL_BTF_PATH } from '../../src/loader/core.js';
import type { Collection, EngineName } from '../../src/engine/types.js';
import { needs, repoPath } from '../support/env.js';

const work = mkdtempSync(join(tmpdir(), `bpfkit-core-${process.pid}-`));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function compile(name: string): string {
  const out = join(work, name.replace(/\.c$/, '.o'));
  if (!existsSync(out))
    execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-c', repoPath('test', 'btf', 'corpus', name), '-o', out]);
  return out;
}

const packet = new Uint8Array(64);
/** A struct __sk_buff for BPF_PROG_TEST_RUN with mark (offset 8) = 0x1234. */
const ctxWithMark = (() => {
  const c = new Uint8Array(192);
  new DataView(c.buffer).setUint32(8, 0x1234, true);
  return c;
})();

async function withCollection<T>(obj: string, engine: EngineName, use: (c: Collection) => T): Promise<T> {
  const c = await loadCollection(parseObject(readFileSync(obj), { path: obj }), { engine });
  try {
    return use(c);
  } finally {
    c.close();
  }
}

/** The non-zero slots of array map `out`, as slot -> value. */
function slots(c: Collection): Record<number, bigint> {
  const m = c.maps.get('out')!;
  const out: Record<number, bigint> = {};
  for (let i = 0; i < 32; i++) {
    const key = new Uint8Array(new Uint32Array([i]).buffer);
    const v = m.lookup(key)!;
    const n = new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
    if (n !== 0n) out[i] = n;
  }
  return out;
}

const haveKernelBtf = () => existsSync(KERNEL_BTF_PATH);

/** libbpf's answer: load with bpftool, run once, and (for core-kinds) dump the `out` map. */
function libbpf(obj: string, ctx?: Uint8Array): { retval: number; slots: Record<number, bigint> } | { error: string } {
  const dir = `/sys/fs/bpf/bpfkit-core-${process.pid}`;
  const mapDir = `${dir}-maps`;
  try {
    try {
      execFileSync('bpftool', ['prog', 'loadall', obj, dir, 'pinmaps', mapDir], { stdio: 'pipe' });
    } catch (err) {
      return { error: String((err as { stderr?: Buffer }).stderr ?? err) };
    }
    const data = join(work, 'data.bin');
    writeFileSync(data, packet);
    const args = [
      'prog',
      'run',
      'pinned',
      join(dir, execFileSync('ls', [dir], { encoding: 'utf8' }).trim()),
      'data_in',
      data,
    ];
    if (ctx) {
      writeFileSync(join(work, 'ctx.bin'), ctx);
      args.push('ctx_in', join(work, 'ctx.bin'));
    }
    const text = execFileSync('bpftool', args, { encoding: 'utf8' });
    const retval = Number(/Return value: (\d+)/.exec(text)![1]);
    const found: Record<number, bigint> = {};
    if (existsSync(join(mapDir, 'out'))) {
      const dump = JSON.parse(
        execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', join(mapDir, 'out')], { encoding: 'utf8' }),
      ) as {
        key: string[];
        value: string[];
      }[];
      for (const e of dump) {
        const value = e.value.reduceRight((acc, b) => (acc << 8n) | BigInt(parseInt(b, 16)), 0n);
        if (value !== 0n) found[parseInt(e.key[0]!, 16)] = value;
      }
    }
    return { retval, slots: found };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(mapDir, { recursive: true, force: true });
  }
}

test('the report case: __sk_buff___mini reads mark (0x1234) in both engines, as libbpf does', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  if (!haveKernelBtf()) return t.skip(`no ${KERNEL_BTF_PATH}`);
  const obj = compile('core-mark.c');
  const spec = parseObject(readFileSync(obj), { path: obj });
  assert.deepEqual(spec.programs[0]!.coreRelos, [{ pc: 0, typeId: 2, access: '0:0', kind: 0 }]);
  const vm = await withCollection(obj, 'vm', (c) => c.program('read_mark').run({ data: packet, ctx: ctxWithMark }));
  assert.equal(vm.retval, 4660);
  if (!needs(t, { tools: ['bpftool'], root: true })) return;
  const kernel = await withCollection(obj, 'kernel', (c) =>
    c.program('read_mark').run({ data: packet, ctx: ctxWithMark }),
  );
  assert.equal(kernel.retval, 4660);
  const theirs = libbpf(obj, ctxWithMark);
  assert.ok('retval' in theirs, 'libbpf loads it');
  assert.equal(theirs.retval, 4660);
});

test('every relocation kind on kernel types: VM = kernel engine = libbpf, slot by slot', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  if (!haveKernelBtf()) return t.skip(`no ${KERNEL_BTF_PATH}`);
  const obj = compile('core-kinds.c');
  const spec = parseObject(readFileSync(obj), { path: obj });
  const kinds = new Set(spec.programs[0]!.coreRelos!.map((r) => r.kind));
  // type_matches (12) needs clang >= 15; every other kind is in the object.
  for (const k of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) assert.ok(kinds.has(k), `relocation kind ${k} exercised`);
  const vm = await withCollection(obj, 'vm', (c) => (c.program('core_kinds').run({ data: packet }), slots(c)));
  // Facts that hold on any kernel: existence, signedness, sizes of fixed types, and the guarded dead branch.
  assert.equal(vm[4], 1n); // task_struct.pid exists
  assert.equal(vm[5], undefined); // the made-up field does not
  assert.equal(vm[6], 1n); // pid_t is signed
  assert.equal(vm[7], undefined); // sk_buff.len is unsigned
  assert.equal(vm[2], 16n); // comm is 16 bytes
  assert.equal(vm[13], 8n); // offsetof(struct __sk_buff, mark) is uapi
  assert.equal(vm[14], 48n + 8n); // __sk_buff.cb[2]: cb at 48
  assert.equal(vm[15], 1n);
  assert.equal(vm[16], undefined); // no such type
  assert.equal(vm[17], 16n); // list_head
  assert.equal(vm[19], 1n);
  assert.equal(vm[20], undefined);
  assert.equal(vm[21], 27n); // BPF_MAP_TYPE_RINGBUF
  assert.equal(vm[24], 7n); // the poisoned load was dead code
  if (!needs(t, { tools: ['bpftool'], root: true })) return;
  const kernel = await withCollection(obj, 'kernel', (c) => (c.program('core_kinds').run({ data: packet }), slots(c)));
  assert.deepEqual(kernel, vm);
  const theirs = libbpf(obj);
  assert.ok('slots' in theirs, `libbpf loads it: ${'error' in theirs ? theirs.error : ''}`);
  assert.deepEqual(theirs.slots, vm);
});

test('a reached poisoned instruction: refused by the kernel (as by libbpf), an error when the VM reaches it', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  if (!haveKernelBtf()) return t.skip(`no ${KERNEL_BTF_PATH}`);
  const obj = compile('core-poison.c');
  await withCollection(obj, 'vm', (c) => {
    assert.throws(
      () => c.program('read_gone').run({ data: packet, ctx: ctxWithMark }),
      /poisoned by a CO-RE relocation/,
    );
  });
  if (!needs(t, { tools: ['bpftool'], root: true })) return;
  await assert.rejects(
    withCollection(obj, 'kernel', () => 0),
    /195896080/,
  );
  assert.ok('error' in libbpf(obj), 'libbpf refuses it too');
});

test('a CO-RE relocation pointing outside its program: bpfkit run exits 2 with one line naming the place', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const obj = compile('core-mark.c');
  const bytes = new Uint8Array(readFileSync(obj));
  const ext = readElf(bytes).sectionByName('.BTF.ext')!;
  const v = new DataView(bytes.buffer, ext.offset);
  const hdrLen = v.getUint32(4, true);
  const coreOff = hdrLen + v.getUint32(24, true);
  v.setUint32(coreOff + 12, 0x100, true); // the record's insn_off, after rec_size, sec_name_off, num_info
  const bad = join(work, 'core-outside.o');
  writeFileSync(bad, bytes);
  const r = spawnSync(process.execPath, [repoPath('bin', 'bpfkit.js'), 'run', bad, '--mem', '00'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /^bpfkit run: .*core-outside\.o: section '\.BTF\.ext': CO-RE relocation for 'tc'\+0x100.*outside every function/,
  );
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('no target BTF: a CO-RE object is refused in one line, never run at its compiled offsets', async (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  const obj = compile('core-mark.c');
  const spec = parseObject(readFileSync(obj), { path: obj });
  await assert.rejects(
    loadCollection(spec, { engine: 'vm', targetBtf: join(work, 'absent.btf') }),
    /cannot read target BTF: ENOENT/,
  );
  // An engine handed the spec directly (bypassing the CO-RE step) refuses it too.
  const { loadVmCollection } = await import('../../src/vm/collection.js');
  assert.throws(() => loadVmCollection(spec), /1 CO-RE relocation\(s\) nobody applied/);
});

test('objdump lists .BTF.ext records and how each CO-RE relocation resolved', (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  if (!haveKernelBtf()) return t.skip(`no ${KERNEL_BTF_PATH}`);
  const obj = compile('core-mark.c');
  const text = execFileSync(process.execPath, [repoPath('bin', 'bpfkit.js'), 'objdump', obj, '--lines'], {
    encoding: 'utf8',
  });
  assert.match(text, /read_mark: func_info 1, line_info 1, CO-RE relocations 1/);
  assert.match(text, /pc 0 {2}core-mark\.c:9:\d+ {2}__attribute__/);
  assert.match(text, /pc 0 {2}byte_off struct __sk_buff___mini\.mark: 0 -> 8 \(target \[\d+\] __sk_buff\)/);
  const json = JSON.parse(
    execFileSync(process.execPath, [repoPath('bin', 'bpfkit.js'), 'objdump', obj, '--json'], { encoding: 'utf8' }),
  );
  const [rec] = json.btfExt[0].coreRelocations;
  assert.deepEqual([rec.pc, rec.kind, rec.localValue, rec.targetValue, rec.poisoned], [0, 0, 0, 8, false]);
});
