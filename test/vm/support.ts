// Shared by the VM tests: assemble conformance-syntax text and run it on every engine.
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { BPF_PSEUDO_MAP_FD, OP_LDDW, type Instruction } from '../../src/isa/index.js';
import type { MapReference, MapSpec, ObjectSpec, ProgramSpec } from '../../src/elf/spec.js';
import { ProgType } from '../../src/uapi/types.js';
import { ENGINES, Vm, type EngineKind, type VmOptions } from '../../src/vm/interpreter.js';
import { VmError } from '../../src/vm/vm-error.js';
import { registerTestHelpers } from '../../src/conformance/test-helpers.js';

export function asm(text: string): Instruction[] {
  return assemble(text, { syntax: 'conformance', source: 'test' });
}

/** `lddw %rN, MAP+k` in tcProgram's text: the k-th map of the object. */
export const MAP = 0x7e570000;

/** A tc program from conformance-syntax text whose `lddw %rN, MAP+k` name the k-th of `maps`. */
export function tcProgram(name: string, text: string, maps: MapSpec[]): ProgramSpec {
  const mapRefs: MapReference[] = [];
  const insns = assemble(text, { syntax: 'conformance', source: name }).map((i): Instruction => {
    if (i.code !== OP_LDDW || i.imm2 !== 0 || i.imm < MAP || i.imm >= MAP + 16) return i;
    mapRefs.push({ pc: i.pc, map: maps[i.imm - MAP]!.name, kind: 'fd', offset: 0 });
    return { ...i, src: BPF_PSEUDO_MAP_FD, imm: 0 };
  });
  return { name, section: 'tc', type: ProgType.SCHED_CLS, insns, mapRefs, license: 'GPL', kernelVersion: 0 };
}

/** An object of one tc program `p` from conformance-syntax text (tcProgram: `MAP+k` names the k-th of `maps`). */
export function tcSpec(text: string, maps: MapSpec[] = []): ObjectSpec {
  return { endian: 'little', license: 'GPL', kernelVersion: 0, maps, programs: [tcProgram('p', text, maps)] };
}

/** An object of one socket filter `p` of `text` (the shape runPacketAt runs in place when it reads by LD_ABS/LD_IND). */
export function socketSpec(text: string): ObjectSpec {
  const prog: ProgramSpec = {
    name: 'p',
    section: 'socket',
    type: ProgType.SOCKET_FILTER,
    insns: asm(text),
    mapRefs: [],
    license: 'GPL',
    kernelVersion: 0,
  };
  return { endian: 'little', license: 'GPL', kernelVersion: 0, maps: [], programs: [prog] };
}

/**
 * Frames laid out in one buffer as a capture's chunk holds them: `gap` filler bytes before each (a record
 * header's place) and after the last; their offsets and lengths, as VmProgram.runPackets takes them.
 */
export function captureLayout(
  frames: Uint8Array[],
  gap = 16,
  fill = 0x5a,
): { src: Uint8Array; offs: Int32Array; lens: Int32Array } {
  const offs = new Int32Array(frames.length);
  const lens = new Int32Array(frames.length);
  let at = gap;
  for (const [i, f] of frames.entries()) {
    offs[i] = at;
    lens[i] = f.length;
    at += f.length + gap;
  }
  const src = new Uint8Array(at).fill(fill);
  for (const [i, f] of frames.entries()) src.set(f, offs[i]);
  return { src, offs, lens };
}

export type Outcome = { r0: bigint; instructions: number } | { error: VmError };

/** Run on a fresh VM of the given engine (with the test helpers); returns r0 or the VmError. */
export function runOn(
  engine: EngineKind,
  text: string | Instruction[],
  mem = new Uint8Array(0),
  opts: VmOptions = {},
): Outcome {
  const vm = new Vm({ ...opts, engine });
  registerTestHelpers(vm.helpers);
  try {
    const p = vm.load(typeof text === 'string' ? asm(text) : text, { name: 't' });
    const r = vm.runOnMemory(p, mem);
    return { r0: r.r0, instructions: r.instructions };
  } catch (err) {
    if (err instanceof VmError) return { error: err };
    throw err;
  }
}

/** Both engines must agree; returns the (common) outcome. */
export function runAll(text: string | Instruction[], mem = new Uint8Array(0), opts: VmOptions = {}): Outcome {
  const outs = ENGINES.map((e) => runOn(e, text, mem, opts));
  const [first, ...rest] = outs as [Outcome, ...Outcome[]];
  for (const o of rest) {
    if ('error' in first) {
      assert.ok('error' in o, `engines disagree: ${first.error.message} vs ${'r0' in o ? o.r0 : ''}`);
      assert.equal(o.error.message, first.error.message);
    } else assert.deepEqual(o, first);
  }
  return first;
}

export function r0Of(o: Outcome): bigint {
  if ('error' in o) throw o.error;
  return o.r0;
}

export function errorOf(o: Outcome): VmError {
  assert.ok('error' in o, `expected an error, got r0 = ${'r0' in o ? o.r0 : ''}`);
  return o.error;
}

/** A reader of unsigned LEB128 numbers in `bytes` from `at` on (`next()` reads one, `at` is where it is). */
export function lebReader(bytes: Uint8Array, at = 0): { at: number; next(): number } {
  const r = {
    at,
    next(): number {
      let v = 0;
      let shift = 0;
      let b: number;
      do {
        b = bytes[r.at++] as number;
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      return v;
    },
  };
  return r;
}

/** A WebAssembly module's own functions' bodies (its code section, each after its locals), in order. */
export function wasmBodies(bytes: Uint8Array): Uint8Array[] {
  const r = lebReader(bytes, 8);
  while (r.at < bytes.length) {
    const id = bytes[r.at++] as number;
    const end = r.next() + r.at;
    if (id === 10) {
      const out: Uint8Array[] = [];
      for (let f = r.next(); f > 0; f--) {
        const stop = r.next() + r.at;
        // (the locals: runs of a count and a type)
        for (let runs = r.next(); runs > 0; runs--) {
          r.next();
          r.at++;
        }
        out.push(bytes.slice(r.at, stop));
        r.at = stop;
      }
      return out;
    }
    r.at = end;
  }
  throw new Error('no code section');
}
