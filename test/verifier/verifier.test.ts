import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadObjectFile } from '../../src/elf/index.js';
import { encodeProgram } from '../../src/isa/index.js';
import { loadCollection } from '../../src/loader/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { ProgramRefusedError, verifyInstructions, verifyObject, verifyProgram } from '../../src/verifier/index.js';
import { build, boundaryPrograms } from './boundary-programs.js';
import { repoPath } from '../support/env.js';

const XDP = ProgType.XDP;
const verify = (name: string) => {
  const p = boundaryPrograms(0).find((x) => x.name === name)!;
  return verifyInstructions(p.insns, { type: p.type, maps: p.maps });
};

test('stage 1: the kernel words for unreachable code, bad jumps and missing exits', () => {
  const cases: [string, number, string][] = [
    ['unreachable', 2, 'unreachable insn 2'],
    ['jump-out-of-range', 1, 'jump out of range from insn 1 to 7'],
    ['fall-off-end', 3, 'last insn is not an exit or jmp'],
    ['into-lddw', 2, 'jump into the middle of ldimm64 insn 2'],
    ['probe-callx-helper', 1, 'unknown opcode 8d'],
  ];
  for (const [name, pc, message] of cases) {
    const r = verify(name);
    assert.equal(r.accepted, false, name);
    assert.equal(r.message, message, name);
    assert.equal(r.pc, pc, name);
  }
});

test("the reliability probe's programs are refused with the kernel's reason", () => {
  const expect: [string, RegExp][] = [
    ['probe-map-neighbour', /^invalid access to map value, value_size=8 off=8 size=8\nR0 min value is outside/],
    ['probe-ringbuf-header', /^invalid access to memory, mem_size=8 off=-8 size=8\nR1 min value is outside/],
    ['probe-forged-callback', /^R2 type=scalar expected=func$/],
    ['probe-store-above-fp', /^invalid write to stack R10 off=8 size=8$/],
  ];
  for (const [name, re] of expect) {
    const r = verify(name);
    assert.equal(r.accepted, false, name);
    assert.match(r.message!, re, name);
  }
  // A callback needs BTF func_info, which raw instructions lack (the kernel's words).
  assert.equal(verify('callback-ok').message, 'missing btf func_info');
  const p = boundaryPrograms(0).find((x) => x.name === 'callback-ok')!;
  assert.equal(verifyInstructions(p.insns, { type: p.type, funcInfo: true }).accepted, true);
});

test('null checks, packet ranges, stack bounds and loops', () => {
  assert.equal(verify('null-check-copy').accepted, true);
  assert.match(verify('null-check-wrong-reg').message!, /^R6 invalid mem access 'map_value_or_null'$/);
  assert.match(
    verify('ringbuf-leak').message!,
    /^Unreleased reference id=\d+ alloc_insn=4\nBPF_EXIT instruction in main prog would lead to reference leak$/,
  );
  assert.equal(verify('ringbuf-ok').accepted, true);
  assert.equal(verify('loop-bounded-100-3').accepted, true);
  assert.match(verify('loop-infinite').message!, /^infinite loop detected at insn 1$/);
  assert.match(verify('r0-not-init').message!, /^R0 !read_ok$/);
  const ok = build(`
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r4 = r2
    r4 += 14
    if r4 > r3 goto +2
    r0 = *(u16 *)(r2 + 12)
    exit
    r0 = 2
    exit`);
  assert.equal(verifyInstructions(ok, { type: XDP }).accepted, true);
  const short = build(`
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r4 = r2
    r4 += 13
    if r4 > r3 goto +2
    r0 = *(u16 *)(r2 + 12)
    exit
    r0 = 2
    exit`);
  const r = verifyInstructions(short, { type: XDP });
  assert.equal(
    r.message,
    'invalid access to packet, off=12 size=2, R2(id=0,off=12,r=13)\nR2 offset is outside of the packet',
  );
  assert.equal(r.pc, 5);
  assert.match(r.log, /processed \d+ insns \(limit 1000000\)/);
  const read520 = build(`
    r0 = *(u64 *)(r10 - 520)
    exit`);
  assert.equal(verifyInstructions(read520, { type: XDP }).message, 'invalid read from stack R10 off=-520 size=8');
});

test('the complexity limit ends an unbounded loop with the kernel message', () => {
  const p = boundaryPrograms(0).find((x) => x.name === 'loop-unknown-bound')!;
  const r = verifyInstructions(p.insns, { type: p.type, insnLimit: 20_000 });
  assert.equal(r.accepted, false);
  assert.match(r.message!, /^BPF program is too large\. Processed 20001 insn$/);
});

test('log level 2 prints the state before each instruction', () => {
  const r = verifyInstructions(build('r0 = 1\nexit'), { type: XDP, logLevel: 2 });
  assert.match(r.log, /^0: R1=ctx\(\) R10=fp0$/m);
  assert.match(r.log, /^1: \(95\) exit$/m);
});

test('every repository object the kernel loads (modelled program types) is accepted', () => {
  const files = [
    'examples/mark-stats/mark-stats.o',
    'examples/port-demux/port-demux.o',
    'examples/proto-count/proto-count.o',
    'examples/tunnel-monitor/tunnel-monitor.o',
    'test/fixtures/elf/calls.o',
    'test/fixtures/elf/maps.o',
    'test/fixtures/kernel/hooks.o',
    'test/programs/fixtures/helpers.o',
    'src/apps/http/bpf/http_filter_v1.o',
    'src/apps/http/bpf/http_filter_v2.o',
  ];
  for (const f of files) {
    const spec = loadObjectFile(repoPath(f));
    for (const { program, result } of verifyObject(spec))
      assert.equal(result.accepted, true, `${f} ${program.name}: ${result.message}`);
  }
});

test('loadCollection({ verify: true }) refuses what the verifier refuses, before loading', async () => {
  const ok = loadObjectFile(repoPath('examples/proto-count/proto-count.o'));
  // The same object with its program replaced by a store above the frame pointer.
  const bad = {
    ...ok,
    programs: [{ ...ok.programs[0]!, insns: build('r1 = 1\n*(u64 *)(r10 + 8) = r1\nr0 = 0\nexit'), mapRefs: [] }],
  };
  await assert.rejects(loadCollection(bad, { engine: 'vm', verify: true }), ProgramRefusedError);
  // Programs it cannot judge: refused by `verify: true`, reported and loaded with onUnmodelled.
  const tc = loadObjectFile(repoPath('test/fixtures/tc/tc-demo.o'));
  await assert.rejects(loadCollection(tc, { engine: 'vm', verify: true }), ProgramRefusedError);
  const notes: string[] = [];
  const loaded = await loadCollection(tc, { engine: 'vm', verify: { onUnmodelled: (p) => notes.push(p) } });
  loaded.close();
  assert.deepEqual(notes, ['set_mark', 'cls_mark']);
  const c = await loadCollection(ok, { engine: 'vm', verify: true });
  c.close();
});

test('bpfkit verify: exit 0 accepted, 1 refused with the log on stdout, 2 bad input', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), 'verify', ...args], { encoding: 'utf8' });
  assert.equal(run(repoPath('examples/port-demux/port-demux.o')).status, 0);
  const bin = join(tmpdir(), `bpfkit-verify-${process.pid}.bin`);
  writeFileSync(bin, encodeProgram(build('r1 = 1\n*(u64 *)(r10 + 8) = r1\nr0 = 0\nexit')));
  const refused = run(bin, '--type', 'xdp');
  assert.equal(refused.status, 1);
  assert.match(refused.stdout, /invalid write to stack R10 off=8 size=8/);
  assert.equal(run(bin).status, 2);
  writeFileSync(bin, new Uint8Array(5));
  assert.equal(run(bin, '--type', 'xdp').status, 2);
  // A malformed lddw: one line naming the file and the pc.
  writeFileSync(
    bin,
    Buffer.from('b700000000000000' + '1800000000000000' + 'fe00000000000000' + '9500000000000000', 'hex'),
  );
  const broken = run(bin, '--type', 'xdp');
  assert.equal(broken.status, 2);
  assert.equal(
    broken.stderr,
    `bpfkit verify: ${bin}: pc 2 (byte offset 16): lddw's second slot must have zero opcode, registers and offset (got opcode 0xfe)\n`,
  );
  // --type as a section name carries the expected attach type the cgroup and socket types need.
  writeFileSync(bin, encodeProgram(build('r2 = *(u32 *)(r1 + 4)\nr0 = 1\nexit')));
  assert.equal(run(bin, '--type', 'cgroup/connect4').stdout, `${bin}: accepted\n`);
  assert.match(
    run(bin, '--type', 'cgroup/getsockopt').stdout,
    /refused at insn 0: invalid bpf_context access off=4 size=4/,
  );
  // "Not modelled" is no prediction, and is never printed as a refusal.
  const unmodelled = run(bin, '--type', 'tracing');
  assert.equal(unmodelled.status, 1);
  assert.match(unmodelled.stdout, /^\S+: not modelled at insn 0: bpfkit: program type tracing \(26\) is not modelled/);
  assert.doesNotMatch(unmodelled.stdout, /refused/);
  rmSync(bin, { force: true });
});

test("log level 1 reads as the kernel's: insn text, touched registers at the kernel's column, the failing path only", () => {
  const log = verify('null-check-wrong-reg').log;
  const r = verifyInstructions(boundaryPrograms(0).find((x) => x.name === 'null-check-wrong-reg')!.insns, {
    type: XDP,
    maps: boundaryPrograms(0).find((x) => x.name === 'null-check-wrong-reg')!.maps,
    logLevel: 1,
  });
  assert.match(log, /^10: \(79\) r0 = \*\(u64 \*\)\(r6 \+0\)$/m);
  const lines = r.log.split('\n');
  assert.equal(lines[0], '0: R1=ctx() R10=fp0');
  assert.equal(lines[1], '0: (bf) r2 = r10                      ; R2=fp0 R10=fp0');
  assert.ok(lines.includes('6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=hash,ks=4,vs=8)'));
  assert.ok(lines.includes('9: (15) if r7 == 0x0 goto pc+1        ; R7=fp0'));
  assert.equal(lines[lines.length - 3], "R6 invalid mem access 'map_value_or_null'");
  // A path that ended well is rewound: the failing path resumes on its branch's line.
  const pkt = boundaryPrograms(40).find((x) => x.name.startsWith('pkt-lt-taken'))!;
  const p = verifyInstructions(pkt.insns, { type: pkt.type, logLevel: 1 });
  assert.match(p.log, /^4: \(ad\) if r4 < r3 goto pc\+2 7: R1=ctx\(\) R2=pkt\(r=\d+\)/m);
  assert.doesNotMatch(p.log, /^6: \(95\) exit/m);
});

test('__sk_buff->sk is sock_common_or_null, to be null-checked and never moved', () => {
  const sk = 'r2 = *(u64 *)(r1 + 168)';
  const v = (type: number, text: string) => verifyInstructions(build(text), { type });
  for (const type of [ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.CGROUP_SKB, ProgType.SK_SKB]) {
    assert.equal(v(type, `${sk}\nif r2 == 0 goto +1\nr0 = 1\nr0 = 0\nexit`).accepted, true);
    assert.equal(
      v(type, `${sk}\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit`).message,
      "R2 invalid mem access 'sock_common_or_null'",
    );
    assert.equal(v(type, `r0 = *(u32 *)(r1 + 168)\nr0 = 0\nexit`).message, 'invalid bpf_context access off=168 size=4');
  }
  // cgroup_skb reads the 8-byte timestamps and returns 0 or 1 only.
  assert.equal(v(ProgType.CGROUP_SKB, 'r0 = *(u64 *)(r1 + 152)\nr0 = 0\nexit').accepted, true);
  assert.equal(
    v(ProgType.CGROUP_SKB, 'r0 = 2\nexit').message,
    'At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]',
  );
  assert.equal(verifyInstructions(build('r0 = 3\nexit'), { type: ProgType.CGROUP_SKB, attachType: 1 }).accepted, true);
});

test('bpfkit verify --states lists each instruction with the states the walk met before it', () => {
  const run = spawnSync(
    process.execPath,
    [repoPath('bin/bpfkit.js'), 'verify', repoPath('test/fixtures/elf/calls.o'), '--program', 'cls_twice', '--states'],
    { encoding: 'utf8' },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^cls_twice: states before each instruction$/m);
  assert.match(run.stdout, /^0: r6 = r1 {4}\(walked 1x\)\n {6}R1=ctx\(\) R10=fp0$/m);
  assert.match(run.stdout, /R7=map_value_or_null\(id=1,map=totals,ks=4,vs=8\)/);
  assert.match(run.stdout, /^cls_twice: accepted$/m);
});

test('global functions: verified alone from their BTF prototype, callers see a scalar', () => {
  const spec = loadObjectFile(repoPath('test/fixtures/elf/calls.o'));
  const prog = spec.programs.find((p) => p.name === 'cls_twice')!;
  const r = verifyObject(spec, { programs: ['cls_twice'], logLevel: 1 })[0]!.result;
  assert.equal(r.accepted, true, r.message);
  assert.match(r.log, /^Validating global_helper\(\) func#\d+\.\.\.$/m);
  assert.match(r.log, /^Func#\d+ \('global_helper'\) is safe for any args that match its prototype$/m);
  // Told of no global functions, the same program walks global_helper in its caller's context.
  const inContext = verifyProgram(spec, prog, { globals: [], logLevel: 1 });
  assert.equal(inContext.accepted, true);
  assert.doesNotMatch(inContext.log, /Validating/);
});
