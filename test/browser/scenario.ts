/**
 * What the browser test runs, in the page and again in Node, with the same code: this module imports only
 * browser-safe modules of the package by relative path, so the page loads it from dist/ over HTTP as a
 * plain ES module and Node imports the same file. Results are plain JSON (64-bit values as strings), so the
 * test compares the two sides with deepEqual.
 */
import { assemble } from '../../src/asm/index.js';
import { parseObject } from '../../src/elf/object.js';
import { ENGINES, Vm, VmError, loadVmCollection } from '../../src/vm/index.js';

/** One program's run on one engine: r0 and the instruction count, or the fault's message. */
export interface Outcome {
  engine: string;
  program: string;
  r0?: string;
  instructions?: number;
  fault?: string;
  /** The packet program's map after its packets: key -> value bytes as hex. */
  map?: Record<string, string>;
}

/** Raw-VM programs: 64-bit ALU work in a loop, memory through the stack and an input region, and a fault. */
export const PROGRAMS: Record<string, string> = {
  alu: `
mov %r0, 0
mov %r1, 0
lddw %r2, 0x9e3779b97f4a7c15
loop:
mul %r0, %r2
add %r0, %r1
mov %r3, %r0
rsh %r3, 29
xor %r0, %r3
arsh %r3, 7
sub %r0, %r3
mov %r4, %r0
div %r4, 12345
mod %r4, 1000
add32 %r0, %r4
lsh %r0, 3
be32 %r4
or %r0, %r4
add %r1, 1
jlt %r1, 200, loop
exit`,
  memory: `
mov %r6, %r1
ldxdw %r0, [%r6+0]
stxdw [%r10-8], %r0
ldxw %r3, [%r10-8]
ldxh %r4, [%r6+10]
add %r0, %r3
add %r0, %r4
stxdw [%r6+16], %r0
ldxb %r5, [%r6+16]
add %r0, %r5
exit`,
  fault: `
mov %r0, 0
ldxdw %r0, [%r1+4096]
exit`,
};

/** Input memory of the raw-VM programs: bytes 0..31 counting up. */
function input(): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
}

/** An Ethernet + IPv4 frame of IP protocol `proto` carrying `payload` bytes (enough for proto-count). */
export function frame(proto: number, payload: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + payload);
  f.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]);
  f.set([0x45, 0, (20 + payload) >> 8, (20 + payload) & 0xff, 0, 0, 0, 0, 64, proto], 14);
  f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  return f;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * Every engine on every raw program, then examples/proto-count (a socket filter: LD_ABS loads, an array map,
 * atomic adds) over a few frames, its counters read back. `protoCount` is the object file's bytes.
 */
export function runScenario(protoCount: Uint8Array): Outcome[] {
  const out: Outcome[] = [];
  for (const engine of ENGINES) {
    for (const [program, text] of Object.entries(PROGRAMS)) {
      const vm = new Vm({ engine });
      const loaded = vm.load(assemble(text), { name: program });
      try {
        const r = vm.runOnMemory(loaded, input());
        out.push({ engine, program, r0: r.r0.toString(16), instructions: r.instructions });
      } catch (err) {
        if (!(err instanceof VmError)) throw err;
        out.push({ engine, program, fault: err.message });
      }
    }
    const coll = loadVmCollection(parseObject(protoCount, { path: 'proto-count.o' }), { cpus: 1, execution: engine });
    const prog = coll.program('count_protocols');
    let retvals = '';
    for (const [proto, payload] of [
      [6, 40],
      [17, 12],
      [6, 1000],
      [1, 8],
      [6, 0],
    ] as const)
      retvals += prog.run({ data: frame(proto, payload) }).retval;
    const map: Record<string, string> = {};
    const stats = coll.map('proto_stats');
    for (const proto of [1, 6, 17, 47]) {
      const key = new Uint8Array([proto, 0, 0, 0]);
      map[proto] = hex(stats.lookup(key) ?? new Uint8Array(0));
    }
    out.push({ engine, program: 'proto-count', r0: retvals, map });
  }
  return out;
}
