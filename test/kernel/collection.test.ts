import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { needs } from '../support/env.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/spec.js';
import { loadKernelCollection } from '../../src/kernel/collection.js';
import { loadCollection } from '../../src/loader/index.js';
import { openPinnedMap, openPinnedProgram } from '../../src/kernel/pinned.js';
import { VerifierError } from '../../src/kernel/errors.js';
import { BpfkitError } from '../../src/util/errors.js';
import { liveCount } from '../../src/kernel/lifecycle.js';
import { MapFlag, MapType, ProgType, AttachType } from '../../src/uapi/types.js';
import {
  Helper,
  atomicAdd64,
  call,
  exit,
  jmpImm,
  jmpReg,
  label,
  lddw,
  ldx,
  mov64Imm,
  mov64Reg,
  alu64Imm,
  op,
  prog,
  st,
  stx,
  to,
} from './helpers/insns.js';
import { mapSpec } from '../support/map-spec.js';
import { bpftoolIds } from './helpers/bpftool-show.js';

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);

function progSpec(
  name: string,
  type: number,
  insns: ProgramSpec['insns'],
  mapRefs: ProgramSpec['mapRefs'] = [],
  attachType?: number,
): ProgramSpec {
  return {
    name,
    section: name,
    type,
    insns,
    mapRefs,
    license: 'GPL',
    kernelVersion: 0,
    ...(attachType !== undefined ? { attachType } : {}),
  };
}

/** XDP: packet[0] = global `mark` (from .data), counts[0] += 1, returns XDP_TX; short packets: XDP_DROP. */
function xdpObject(): ObjectSpec {
  const insns = prog(
    mov64Reg(6, 1),
    ldx(op.BPF_W, 2, 6, 0), // data
    ldx(op.BPF_W, 3, 6, 4), // data_end
    mov64Reg(4, 2),
    alu64Imm(op.BPF_ADD, 4, 14),
    to(jmpReg(op.BPF_JGT, 4, 3, 0), 'drop'),
    lddw(1, 0), // r1 = &mark (.data + 4)
    ldx(op.BPF_W, 5, 1, 0),
    stx(op.BPF_B, 2, 5, 0),
    st(op.BPF_W, 10, -4, 0),
    lddw(1, 0), // r1 = counts
    mov64Reg(2, 10),
    alu64Imm(op.BPF_ADD, 2, -4),
    call(Helper.map_lookup_elem),
    to(jmpImm(op.BPF_JEQ, 0, 0, 0), 'pass'),
    mov64Imm(1, 1),
    atomicAdd64(0, 1, 0),
    label('pass'),
    mov64Imm(0, 3),
    exit(),
    label('drop'),
    mov64Imm(0, 1),
    exit(),
  );
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [
      mapSpec('counts', MapType.ARRAY, 4, 8, 1),
      mapSpec('.data', MapType.ARRAY, 4, 8, 1, {
        section: '.data',
        contents: [{ key: u32(0), value: new Uint8Array([0, 0, 0, 0, 0xab, 0, 0, 0]) }],
      }),
    ],
    programs: [
      progSpec(
        'xdp_mark',
        ProgType.XDP,
        insns,
        [
          { pc: insns[6]!.pc, map: '.data', kind: 'value', offset: 4 },
          { pc: insns[10]!.pc, map: 'counts', kind: 'fd', offset: 0 },
        ],
        AttachType.XDP,
      ),
    ],
  };
}

const frame = () => {
  const f = new Uint8Array(60);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 0x08, 0x00]);
  for (let i = 14; i < 60; i++) f[i] = i;
  return f;
};

test('XDP program: global data by PSEUDO_MAP_VALUE, map fd, packet rewrite, test run, map readback', (t) => {
  if (!needs(t, { root: true })) return;
  const coll = loadKernelCollection(xdpObject());
  try {
    const p = coll.program('xdp_mark');
    const r = p.run({ data: frame(), repeat: 3 });
    assert.equal(r.retval, 3); // XDP_TX
    assert.equal(r.data.length, 60);
    assert.equal(r.data[0], 0xab);
    assert.deepEqual(r.data.subarray(1), frame().subarray(1));
    assert.equal(typeof r.durationNs, 'number');
    assert.deepEqual(coll.map('counts').lookup(u32(0)), u64(3));
    assert.throws(() => p.run({ data: new Uint8Array(10) }), /at least 14/); // the kernel's own minimum
    // The global can be changed from userspace and the program sees it.
    coll.map('.data').update(u32(0), new Uint8Array([0, 0, 0, 0, 0x11, 0, 0, 0]));
    assert.equal(p.run({ data: frame() }).data[0], 0x11);
    const info = coll.program('xdp_mark').info();
    assert.equal(info.type, ProgType.XDP);
    assert.equal(info.name, 'xdp_mark');
    assert.equal(info.mapIds.length, 2);
  } finally {
    coll.close();
  }
});

test('SOCKET_FILTER test runs see the frame from its MAC header (the raw-socket view)', (t) => {
  if (!needs(t, { root: true })) return;
  // return the byte at `skb->data + 12` (the EtherType's high byte) through ld_abs
  const insns = prog(mov64Reg(6, 1), { ...mov64Imm(0, 0) }, ldAbsH(12), exit());
  const coll = loadKernelCollection({
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [],
    programs: [progSpec('sf', ProgType.SOCKET_FILTER, insns)],
  });
  try {
    const f = frame();
    const r = coll.program('sf').run({ data: f });
    assert.equal(r.retval, 0x0800);
    assert.deepEqual(r.data, f);
  } finally {
    coll.close();
  }
});

function ldAbsH(k: number) {
  return { pc: 0, code: op.BPF_LD | op.BPF_ABS | op.BPF_H, dst: 0, src: 0, off: 0, imm: k, imm2: 0 };
}

test('tail calls through a prog array filled from the spec', (t) => {
  if (!needs(t, { root: true })) return;
  const entry = prog(
    lddw(2, 0), // r2 = jump table
    mov64Imm(3, 0),
    call(Helper.tail_call),
    mov64Imm(0, 1), // reached only when the slot is empty
    exit(),
  );
  const target = prog(mov64Imm(0, 42), exit());
  const spec: ObjectSpec = {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [
      mapSpec('jmp_table', MapType.PROG_ARRAY, 4, 4, 2, { contents: [{ key: u32(0), value: { program: 'target' } }] }),
    ],
    programs: [
      progSpec('entry', ProgType.XDP, entry, [{ pc: 0, map: 'jmp_table', kind: 'fd', offset: 0 }]),
      progSpec('target', ProgType.XDP, target),
    ],
  };
  const coll = loadKernelCollection(spec);
  try {
    assert.equal(coll.program('entry').run({ data: frame() }).retval, 42);
    coll.map('jmp_table').delete(u32(0));
    assert.equal(coll.program('entry').run({ data: frame() }).retval, 1);
  } finally {
    coll.close();
  }
});

test('a program the verifier refuses throws VerifierError with the log', (t) => {
  if (!needs(t, { root: true })) return;
  const bad = prog(mov64Reg(0, 5), exit()); // r5 is uninitialised
  const before = liveCount();
  assert.throws(
    () =>
      loadKernelCollection({
        endian: 'little',
        license: 'GPL',
        kernelVersion: 0,
        maps: [mapSpec('m', MapType.HASH, 4, 4, 1)],
        programs: [progSpec('bad', ProgType.XDP, bad)],
      }),
    (err: unknown) => err instanceof VerifierError && /R5 !read_ok/.test(err.log) && /'bad'/.test(err.message),
  );
  assert.equal(liveCount(), before, 'the map created before the failure is closed again');
});

test('.rodata is frozen after its contents are written', (t) => {
  if (!needs(t, { root: true })) return;
  const coll = loadKernelCollection({
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [
      mapSpec('.rodata', MapType.ARRAY, 4, 4, 1, {
        frozen: true,
        flags: 0x80,
        contents: [{ key: u32(0), value: u32(9) }],
      }),
    ],
    programs: [],
  });
  try {
    assert.deepEqual(coll.map('.rodata').lookup(u32(0)), u32(9));
    assert.throws(() => coll.map('.rodata').update(u32(0), u32(1)), /EPERM/);
  } finally {
    coll.close();
  }
});

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

test('close() returns every fd and leaves no programs behind (bpftool)', (t) => {
  if (!needs(t, { root: true, tools: ['bpftool'] })) return;
  const fds = fdCount();
  const coll = loadKernelCollection(xdpObject());
  const id = coll.program('xdp_mark').info().id;
  assert.ok(bpftoolIds('prog').includes(id));
  coll.program('xdp_mark').run({ data: frame() });
  coll.close();
  assert.equal(fdCount(), fds);
  // (other test processes load programs concurrently: check ours by id)
  assert.ok(!bpftoolIds('prog').includes(id), `program ${id} is gone`);
});

test('pinned maps and programs outlive the collection and reopen by path', (t) => {
  if (!needs(t, { root: true })) return;
  const dir = `/sys/fs/bpf/bpfkit-test-${process.pid}`;
  try {
    const coll = loadKernelCollection(xdpObject());
    const pinned = coll.pinAll(dir);
    assert.deepEqual(pinned.sort(), [`${dir}/counts`, `${dir}/data`, `${dir}/xdp_mark`].sort());
    coll.program('xdp_mark').run({ data: frame() });
    coll.close();
    const p = openPinnedProgram(`${dir}/xdp_mark`);
    const m = openPinnedMap(`${dir}/counts`);
    try {
      assert.equal(p.type, ProgType.XDP);
      assert.equal(m.type, MapType.ARRAY);
      assert.equal(m.valueSize, 8);
      p.run({ data: frame() });
      assert.deepEqual(m.lookup(u32(0)), u64(2));
    } finally {
      p.close();
      m.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maps with pinning are reused by a second load', (t) => {
  if (!needs(t, { root: true })) return;
  const pinPath = `/sys/fs/bpf/bpfkit-test-reuse-${process.pid}`;
  const spec = xdpObject();
  spec.maps[0] = { ...spec.maps[0]!, pinning: 'global' };
  try {
    const a = loadKernelCollection(spec, { pinPath });
    a.program('xdp_mark').run({ data: frame() });
    a.close();
    const b = loadKernelCollection(spec, { pinPath });
    try {
      b.program('xdp_mark').run({ data: frame() });
      assert.deepEqual(b.map('counts').lookup(u32(0)), u64(2));
    } finally {
      b.close();
    }
  } finally {
    rmSync(pinPath, { recursive: true, force: true });
  }
});

test("the object's BTF loads (DATASECs fixed up) and maps carry their key/value types", async (t) => {
  if (!needs(t, { root: true })) return;
  const { loadObjectFile } = await import('../../src/elf/index.js');
  const { mapInfo } = await import('../../src/kernel/objects.js');
  const coll = loadKernelCollection(loadObjectFile('test/fixtures/kernel/hooks.o'));
  try {
    assert.equal(coll.btfError, undefined);
    assert.ok(coll.btfFd >= 0);
    for (const name of ['hook_counts', 'len_counts', '.bss'])
      assert.ok(mapInfo(coll.map(name).fd).btfId > 0, `${name} has BTF`);
  } finally {
    coll.close();
  }
});

test('the verifier log buffer grows until the whole log fits (success and rejection)', async (t) => {
  if (!needs(t, { root: true })) return;
  const { loadProgram } = await import('../../src/kernel/prog-load.js');
  const { encodeProgram } = await import('../../src/isa/codec.js');
  const { closeFd } = await import('../../src/kernel/bpf-syscall.js');
  const body = Array.from({ length: 200 }, (_, i) => alu64Imm(op.BPF_ADD, 0, i));
  const good = encodeProgram(prog(mov64Imm(0, 0), ...body, exit()));
  const ok = loadProgram({
    name: 'long_log',
    type: ProgType.XDP,
    insns: good,
    license: 'GPL',
    logLevel: 2,
    logSize: 64,
  });
  closeFd(ok.fd);
  assert.ok(ok.log.length > 64 * 4, `log of ${ok.log.length} bytes`);
  assert.match(ok.log, /processed \d+ insns/);
  const bad = encodeProgram(prog(mov64Imm(0, 0), ...body, mov64Reg(0, 7), exit()));
  assert.throws(
    () => loadProgram({ name: 'long_bad', type: ProgType.XDP, insns: bad, license: 'GPL', logSize: 64 }),
    (err: unknown) =>
      err instanceof VerifierError &&
      /R7 !read_ok/.test(err.log) &&
      /processed \d+ insns/.test(err.log) &&
      err.log.length > 256,
  );
});

test('test runs take a context in and give it back (skb->mark, skb->priority)', (t) => {
  if (!needs(t, { root: true })) return;
  // r0 = skb->mark; skb->priority = 7 (programs may write priority); return r0
  const insns = prog(ldx(op.BPF_W, 0, 1, 8), st(op.BPF_W, 1, 32, 7), exit());
  const coll = loadKernelCollection({
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [],
    programs: [progSpec('cls', ProgType.SCHED_CLS, insns)],
  });
  try {
    const ctx = new Uint8Array(192); // struct __sk_buff
    new DataView(ctx.buffer).setUint32(8, 0x1234, true);
    const r = coll.program('cls').run({ data: frame(), ctx });
    assert.equal(r.retval, 0x1234);
    assert.ok(r.ctx && r.ctx.length === 192);
    const out = new DataView(r.ctx.buffer, r.ctx.byteOffset);
    assert.equal(out.getUint32(8, true), 0x1234);
    assert.equal(out.getUint32(32, true), 7);
  } finally {
    coll.close();
  }
});

test("skb->tstamp: read from the context passed in, written by tc, handed back — the VM gives back the kernel's bytes", async (t) => {
  if (!needs(t, { root: true })) return;
  // r2 = skb->tstamp; r2 += 5; skb->tstamp = r2; skb->mark = 9; return 0
  const insns = prog(
    ldx(op.BPF_DW, 2, 1, 152),
    alu64Imm(op.BPF_ADD, 2, 5),
    stx(op.BPF_DW, 1, 2, 152),
    st(op.BPF_W, 1, 8, 9),
    mov64Imm(0, 0),
    exit(),
  );
  const spec: ObjectSpec = {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [],
    programs: [progSpec('cls', ProgType.SCHED_CLS, insns)],
  };
  const ctx = new Uint8Array(192); // struct __sk_buff
  new DataView(ctx.buffer).setBigUint64(152, 1_000_000_123n, true);
  const kernel = loadKernelCollection(spec);
  const vm = await loadCollection(spec, { engine: 'vm' });
  try {
    const k = kernel.program('cls').run({ data: frame(), ctx });
    const v = vm.program('cls').run({ data: frame(), ctx });
    assert.equal(new DataView(k.ctx!.buffer, k.ctx!.byteOffset).getBigUint64(152, true), 1_000_000_128n);
    assert.deepEqual(v.ctx, k.ctx);
  } finally {
    kernel.close();
    vm.close();
  }
});

test('a load that fails removes the map pins it created', (t) => {
  if (!needs(t, { root: true })) return;
  const pinPath = `/sys/fs/bpf/bpfkit-test-failpin-${process.pid}`;
  const spec = xdpObject();
  spec.maps[0] = { ...spec.maps[0]!, pinning: 'global' };
  spec.programs[0] = { ...spec.programs[0]!, insns: prog(mov64Reg(0, 5), exit()), mapRefs: [] }; // refused
  try {
    assert.throws(() => loadKernelCollection(spec, { pinPath }), VerifierError);
    assert.equal(existsSync(pinPath), false, 'the pin directory it made is removed with the pins');
  } finally {
    rmSync(pinPath, { recursive: true, force: true });
  }
});

test("a map's numa_node reaches BPF_MAP_CREATE: a node that is not online is the kernel's EINVAL, as with libbpf", (t) => {
  if (!needs(t, { root: true })) return;
  // The first node past the last online one (/sys/devices/system/node/online: "0" or "0-3").
  const online = readFileSync('/sys/devices/system/node/online', 'utf8').trim();
  const absent = Math.max(...online.split(/[,-]/).map(Number)) + 1;
  const object = (numaNode: number): ObjectSpec => ({
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps: [mapSpec('placed', MapType.ARRAY, 4, 8, 1, { flags: MapFlag.NUMA_NODE, numaNode })],
    programs: [],
  });
  loadKernelCollection(object(0)).close();
  // (before numa_node was passed, this map was made on node 0 without a word)
  assert.throws(
    () => loadKernelCollection(object(absent)),
    (err: Error) =>
      /creating map 'placed' \(array, .*flags 0x4, numa_node \d+\) failed: EINVAL/.test(err.message) &&
      !err.message.includes('\n'),
  );
});

test('privatePinPath without a pinPath of its own is refused before anything is created (it was dropped)', () => {
  const object: ObjectSpec = { endian: 'little', license: 'GPL', kernelVersion: 0, maps: [], programs: [] };
  assert.throws(
    () => loadKernelCollection(object, { privatePinPath: true }),
    (err: Error) =>
      err instanceof BpfkitError &&
      err.exitCode === 2 &&
      err.message.startsWith('privatePinPath needs a pinPath of its own'),
  );
});
