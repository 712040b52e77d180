// The kernel as the oracle for verdicts: seeded random programs the checker accepts (without ancillary
// loads, whose values the kernel does not show us) are attached to AF_PACKET sockets on a namespace's
// loopback while UDP traffic flows; each socket must keep exactly the frames bpfkit's interpreter keeps
// from the unfiltered socket's copy of the same traffic, cut to the return value as the kernel cuts them,
// and the program converted to eBPF must return, in both VM engines, what the interpreter returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BPF_ABS,
  BPF_LD,
  SKF_AD_OFF,
  checkClassic,
  convertClassic,
  prepareClassic,
  resolveContext,
  writeClassicContext,
  runClassic,
  type SockFilter,
} from '../../src/cbpf/index.js';
import { needs } from '../support/env.js';
import { ENGINES, Vm } from '../../src/vm/interpreter.js';
import { randomProgram, rng } from './random-programs.js';

const CHILD = fileURLToPath(new URL('./live-child.js', import.meta.url));
const SEED = 0x11fe;

const usesAncillary = (p: SockFilter[]) =>
  p.some((i) => (i.code & 0xe7) === (BPF_LD | BPF_ABS) && i.k >= SKF_AD_OFF >>> 0);

/** Multiset difference: the items of `a` not matched one-for-one in `b`. */
function missing(a: string[], b: string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = left.get(x) ?? 0;
    if (n > 0) left.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

/**
 * A filter that splits traffic: a few comparisons of loads from the headers and payload (absolute, via
 * SKF_NET_OFF, or indirect after ldx 4*([14]&0xf)) against values seen in such frames, each returning a
 * different length (some shorter than the frame, so the cut shows).
 */
function splittingFilter(r: () => number): SockFilter[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const out: SockFilter[] = [{ code: 0xb1, jt: 0, jf: 0, k: 14 }]; // ldx 4*([14]&0xf)
  const tests = 1 + Math.floor(r() * 3);
  for (let i = 0; i < tests; i++) {
    const size = pick([0x00, 0x08, 0x10]);
    const load = pick([
      { code: 0x20 | size, k: 12 + Math.floor(r() * 60) },
      { code: 0x20 | size, k: (-0x100000 + Math.floor(r() * 40)) >>> 0 },
      { code: 0x40 | size, k: 14 + Math.floor(r() * 20) },
    ]);
    out.push({ ...load, jt: 0, jf: 0 });
    const left = 2 * (tests - i) - 1; // instructions after this jump: the remaining tests (2 each) and a return
    out.push({
      code: pick([0x15, 0x25, 0x35, 0x45]),
      jt: 0,
      jf: left,
      k: Math.floor(r() * (size === 0x10 ? 256 : 0x10000)),
    });
  }
  out.push(
    { code: 0x06, jt: 0, jf: 0, k: pick([0xffffffff, 40, 60, 1]) },
    { code: 0x06, jt: 0, jf: 0, k: pick([0, 0, 50]) },
  );
  return out;
}

/** The converted program's return value on one captured frame (the context block the converter reads). */
function convertedRetval(vm: Vm, prog: ReturnType<Vm['load']>, bytes: Uint8Array, len: number): number {
  const c = resolveContext(bytes, { len });
  const addr = vm.memory.map(writeClassicContext(c), { name: 'cbpf context', writable: false });
  try {
    return vm.run(prog, {
      args: [addr],
      packet: { bytes, data: 0, end: bytes.length, mac: c.macOffset, net: c.netOffset },
    }).retval;
  } finally {
    vm.memory.unmap(addr);
  }
}

test(
  'AF_PACKET sockets with random classic filters keep what the interpreter and the converted eBPF keep, cut to the return value',
  { timeout: 120_000 },
  (t) => {
    if (!needs(t, { root: true, tools: ['ip'] })) return;
    const r = rng(SEED);
    const programs: SockFilter[][] = [];
    while (programs.length < 40) {
      const p = programs.length % 2 ? randomProgram(r, 24) : splittingFilter(r);
      if (checkClassic(p) === undefined && !usesAncillary(p)) programs.push(p);
    }
    const dir = mkdtempSync(join(tmpdir(), 'bpfkit-cbpf-live-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'programs.json');
    writeFileSync(file, JSON.stringify(programs));
    const ns = `bpfkit-cbpf-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    let out: string;
    try {
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, CHILD, String(SEED), file], {
        encoding: 'utf8',
        maxBuffer: 256 << 20,
      });
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
    const { all, kept } = JSON.parse(out) as { all: { hex: string; origLen: number }[]; kept: string[][] };
    const marker = Buffer.from('bpfkit-cbpf-marker').toString('hex');
    const firstMarker = all.findIndex((f) => f.hex.includes(marker));
    assert.ok(firstMarker > 250, `${firstMarker} frames before the markers (150 datagrams, two copies each on lo)`);
    let splits = 0;
    const vms = ENGINES.map((engine) => new Vm({ engine }));
    programs.forEach((prog, n) => {
      const prepared = prepareClassic(prog);
      const converted = vms.map((vm) => vm.load(convertClassic(prog), { name: `live${n}` }));
      const expect = (frames: typeof all) =>
        frames.flatMap((f) => {
          const bytes = Buffer.from(f.hex, 'hex');
          const ret = runClassic(prepared, bytes, { len: f.origLen }).retval;
          vms.forEach((vm, e) => {
            const got = convertedRetval(vm, converted[e]!, bytes, f.origLen);
            assert.equal(got, ret, `program ${n} converted (${vm.engine}) on ${f.hex}`);
          });
          return ret === 0 ? [] : [bytes.subarray(0, Math.min(ret, bytes.length)).toString('hex')];
        });
      const core = expect(all.slice(0, firstMarker));
      const everything = expect(all);
      // Every frame before the markers must be there, nothing beyond what all frames allow.
      assert.deepEqual(
        missing(core, kept[n]!),
        [],
        `program ${n} ${JSON.stringify(prog)}: frames the kernel dropped but bpfkit keeps`,
      );
      assert.deepEqual(
        missing(kept[n]!, everything),
        [],
        `program ${n} ${JSON.stringify(prog)}: frames the kernel kept but bpfkit drops`,
      );
      if (core.length > 0 && core.length < firstMarker) splits++;
    });
    assert.ok(splits >= 3, `${splits} programs keep some frames and drop others`);
  },
);
