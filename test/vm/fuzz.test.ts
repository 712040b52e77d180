// Hostile programs: random instruction words and random (mostly valid) programs. Every one must end in a
// result or a BpfkitError (InputError from decoding, VmError from loading or running) — never another
// exception, never a hang — and the two engines must agree exactly (r0, instruction count, error text).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProgram, opcodeTable, assignPcs, makeInsn, type Instruction } from '../../src/isa/index.js';
import { BpfkitError } from '../../src/util/errors.js';
import { ENGINES, Vm, type EngineKind } from '../../src/vm/interpreter.js';
import { registerTestHelpers } from '../../src/conformance/test-helpers.js';
import { ATOMIC_OPS } from '../../src/isa/opcode-table.js';
import { compiledSource } from '../../src/vm/interpreter-jit.js';

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

type Outcome = string;

/**
 * Load once, then run on each memory in turn (same VM: the compiled engine's region caches must follow
 * the input being mapped afresh, smaller, at the same address).
 */
function outcome(engine: EngineKind, insns: Instruction[] | Uint8Array, ...mems: Uint8Array[]): Outcome {
  const results: string[] = [];
  try {
    const prog = insns instanceof Uint8Array ? decodeProgram(insns) : insns;
    const vm = new Vm({ engine, budget: 5000 });
    registerTestHelpers(vm.helpers);
    const p = vm.load(prog, { name: 'fuzz' });
    for (const mem of mems) {
      try {
        const r = vm.runOnMemory(p, mem.slice());
        results.push(`r0=${r.r0} n=${r.instructions}`);
      } catch (err) {
        if (err instanceof BpfkitError) results.push(`${err.name}: ${err.message}`);
        else throw err;
      }
    }
  } catch (err) {
    if (err instanceof BpfkitError) results.push(`${err.name}: ${err.message}`);
    else throw err; // a raw exception: the test fails with it
  }
  return results.join(' | ');
}

test('random instruction words: every run ends in a result or a BpfkitError (both engines agree)', () => {
  const r = rng(20240601);
  const mem = new Uint8Array(64).map((_, i) => i);
  const kinds = new Map<string, number>();
  for (let n = 0; n < 3000; n++) {
    const slots = 1 + (r() % 12);
    const bytes = new Uint8Array(slots * 8);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < slots; i++) {
      dv.setUint32(i * 8, r(), true);
      dv.setUint32(i * 8 + 4, r(), true);
      // bias towards real opcodes and small registers so some programs load
      if (r() % 2) bytes[i * 8] = (opcodeTable[r() % opcodeTable.length] as { code: number }).code;
      if (r() % 2) bytes[i * 8 + 1] = (r() % 11) | ((r() % 11) << 4);
    }
    if (r() % 2) bytes.set([0x95, 0, 0, 0, 0, 0, 0, 0], (slots - 1) * 8);
    const outs = ENGINES.map((e) => outcome(e, bytes, mem));
    assert.equal(outs[1], outs[0], `engines disagree on ${Buffer.from(bytes).toString('hex')}`);
    const kind = (outs[0] as string).split(':')[0] as string;
    kinds.set(kind.startsWith('r0=') ? 'result' : kind, (kinds.get(kind) ?? 0) + 1);
  }
  assert.ok((kinds.get('VmError') ?? 0) > 100, `some programs load and fault: ${[...kinds]}`);
});

/** A random valid instruction: opcode from the table, fields within each kind's rules. */
function randomInsn(r: () => number, pc: number, slots: number): Instruction {
  for (;;) {
    const info = opcodeTable[r() % opcodeTable.length] as (typeof opcodeTable)[number];
    const reg = () => r() % 10; // never r10 as a destination
    const src = () => (r() % 8 === 0 ? 10 : r() % 10);
    const smallImm = () =>
      [0, 1, -1, 2, 7, 8, 31, 32, 63, 64, -0x80000000, 0x7fffffff, r() | 0, (r() % 64) - 8][r() % 14] as number;
    const target = () => (r() % slots) - pc - 1;
    const i = makeInsn({ code: info.code });
    switch (info.kind) {
      case 'alu': {
        const op = info.code & 0xf0;
        i.dst = reg();
        if (info.reg) i.src = src();
        else i.imm = smallImm();
        if ((op === 0x30 || op === 0x90) && r() % 2) i.off = 1;
        if (op === 0xb0 && info.reg && r() % 3 === 0) i.off = [8, 16, info.width === 64 ? 32 : 8][r() % 3] as number;
        return i;
      }
      case 'neg':
        i.dst = reg();
        return i;
      case 'end':
        i.dst = reg();
        i.imm = [16, 32, 64][r() % 3] as number;
        return i;
      case 'jump':
        i.dst = src();
        if (info.reg) i.src = src();
        else i.imm = smallImm();
        i.off = target();
        return i;
      case 'ja':
        i.off = target();
        return i;
      case 'ja32':
        i.imm = target();
        return i;
      case 'call':
        if (r() % 3 === 0) {
          i.src = 1;
          i.imm = target();
        } else i.imm = r() % 6;
        return i;
      case 'callx':
        i.dst = reg();
        return i;
      case 'exit':
        return i;
      case 'ldx':
      case 'ldxsx':
        i.dst = reg();
        i.src = [1, 10, r() % 10][r() % 3] as number;
        i.off = i.src === 10 ? -8 * (1 + (r() % 70)) : r() % 72;
        return i;
      case 'st':
      case 'stx':
      case 'atomic':
        i.dst = [1, 10, r() % 10][r() % 3] as number;
        i.off = i.dst === 10 ? -8 * (1 + (r() % 70)) : r() % 72;
        if (info.kind === 'st') i.imm = smallImm();
        else i.src = src();
        if (info.kind === 'atomic') i.imm = ATOMIC_OPS[r() % ATOMIC_OPS.length] as number;
        return i;
      case 'ld-abs':
        i.imm = r() % 80;
        return i;
      case 'ld-ind':
        i.src = src();
        i.imm = r() % 80;
        return i;
      case 'lddw':
        continue; // two slots: added separately
    }
  }
}

test('random valid programs: the compiled engine matches the interpreter exactly', () => {
  const r = rng(777);
  const mem = new Uint8Array(64).map((_, i) => (i * 37) & 0xff);
  let results = 0;
  for (let n = 0; n < 1500; n++) {
    const count = 2 + (r() % 24);
    const insns: Instruction[] = [];
    for (let pc = 0; pc < count; pc++) {
      if (r() % 12 === 0)
        insns.push(makeInsn({ code: 0x18, dst: r() % 10, imm: r() | 0, imm2: r() % 2 ? 0 : r() | 0 }));
      else insns.push(randomInsn(r, pc, count));
    }
    insns.push(makeInsn({ code: 0x95 }));
    assignPcs(insns);
    // jump targets were chosen by instruction index; with lddw slots they may now be off: that is fine,
    // the loader rejects bad ones, and both engines must agree either way.
    const outs = ENGINES.map((e) => outcome(e, insns, mem, mem.subarray(0, 12), mem));
    assert.equal(outs[1], outs[0], `engines disagree on program ${n}`);
    if ((outs[0] as string).startsWith('r0=')) results++;
  }
  assert.ok(results > 200, `enough programs run to the end (${results})`);
});

/**
 * A random loop-free program whose blocks are placed in a shuffled order, as clang lays out filters:
 * jumps go backwards as well as forwards but never close a cycle. Block k (in topological order) does a
 * few random computations (packet loads, stack and memory traffic, ALU), then jumps conditionally to a
 * later block and, unless the next block in the layout is later too, goes to another later block.
 */
function shuffledDag(r: () => number): Instruction[] {
  const n = 3 + (r() % 10);
  const layout = [0, ...Array.from({ length: n - 1 }, (_, i) => i + 1).sort(() => (r() % 3) - 1)];
  const bodies: Instruction[][] = [];
  for (let k = 0; k < n; k++) {
    const body: Instruction[] = [];
    const len = 1 + (r() % 4);
    for (let i = 0; i < len; i++) {
      for (;;) {
        const insn = randomInsn(r, 0, 1);
        const kind = opcodeTable.find((o) => o.code === insn.code)!.kind;
        if (
          kind === 'jump' ||
          kind === 'ja' ||
          kind === 'ja32' ||
          kind === 'call' ||
          kind === 'callx' ||
          kind === 'exit'
        )
          continue;
        body.push(insn);
        break;
      }
    }
    bodies.push(body);
  }
  // Emit in layout order; jumps name a block number and are resolved to offsets afterwards.
  const insns: Instruction[] = [];
  const startOf = new Map<number, number>();
  const fixups: { at: number; block: number }[] = [];
  for (let pos = 0; pos < n; pos++) {
    const k = layout[pos]!;
    startOf.set(k, insns.length);
    insns.push(...bodies[k]!.map((i) => ({ ...i })));
    if (k === n - 1) {
      insns.push(makeInsn({ code: 0x95 }));
      continue;
    }
    const later = () => k + 1 + (r() % (n - 1 - k));
    fixups.push({ at: insns.length, block: later() });
    const code = [0x15, 0x55, 0x25, 0xa5, 0x45, 0x16, 0x6d, 0x5d, 0x3e][r() % 9]!;
    const x = (code & 8) !== 0;
    insns.push(makeInsn({ code, dst: r() % 6, src: x ? r() % 6 : 0, imm: x ? 0 : [0, 1, 7, 0x40, -1][r() % 5]! }));
    const next = layout[pos + 1];
    if (next === undefined || next <= k || r() % 4 === 0) {
      fixups.push({ at: insns.length, block: later() });
      insns.push(makeInsn({ code: 0x05 }));
    }
  }
  for (const f of fixups) insns[f.at]!.off = startOf.get(f.block)! - f.at - 1;
  return assignPcs(insns);
}

test('loop-free programs laid out out of order (the flat layout): the compiled engine matches the interpreter', () => {
  const r = rng(4242);
  const mem = new Uint8Array(96).map((_, i) => (i * 73 + 5) & 0xff);
  let flat = 0;
  let loaded = 0;
  let results = 0;
  for (let n = 0; n < 600; n++) {
    const insns = shuffledDag(r);
    const outs = ENGINES.map((e) =>
      outcome(
        e,
        insns,
        mem,
        mem.subarray(0, 20),
        mem.map((b) => b ^ 0x5a),
      ),
    );
    assert.equal(outs[1], outs[0], `engines disagree on program ${n}`);
    if ((outs[0] as string).includes('r0=')) results++;
    const vm = new Vm({ engine: 'jit' });
    registerTestHelpers(vm.helpers);
    let p;
    try {
      p = vm.load(insns);
    } catch {
      continue; // a random instruction the loader refuses (both engines reported the same error above)
    }
    loaded++;
    if (!compiledSource(p).includes('switch (BI[pc])')) flat++;
  }
  assert.ok(results > 300, `enough programs run to the end (${results})`);
  assert.equal(flat, loaded, 'every loop-free program without calls gets the flat layout');
});

test('the flat layout keeps exact budgets: a budget below the longest path runs on the interpreter, same result', () => {
  const r = rng(99);
  const mem = new Uint8Array(64).map((_, i) => i);
  for (let n = 0; n < 200; n++) {
    const insns = shuffledDag(r);
    for (const budget of [1, 3, 7, 15]) {
      const out = ENGINES.map((engine) => {
        const vm = new Vm({ engine, budget });
        registerTestHelpers(vm.helpers);
        try {
          const res = vm.runOnMemory(vm.load(insns, { name: 'dag' }), mem.slice());
          return `r0=${res.r0} n=${res.instructions}`;
        } catch (err) {
          return err instanceof BpfkitError ? err.message : `raw ${String(err)}`;
        }
      });
      assert.equal(out[1], out[0], `program ${n}, budget ${budget}`);
    }
  }
});

test('a never-ending program always stops at the budget (no hang), on both engines', () => {
  const loop = assignPcs([makeInsn({ code: 0x07, dst: 0, imm: 1 }), makeInsn({ code: 0x05, off: -2 })]);
  for (const engine of ENGINES) {
    const out = outcome(engine, loop, new Uint8Array(0));
    assert.match(out, /^VmError: fuzz: pc \d+ .*instruction budget of 5000 executed instructions exhausted/);
  }
});
