// VmProgram.runPackets on programs that tail call: on 'wasm' the records run inside the module's packet
// loop (wasm/packet-loop.ts) together with the stages they tail call, and must give what one run() per
// frame gives on the interpreter — retvals, trace lines in order, maps, faults, the 33-tail-call limit,
// the budget — with the prog array changed from userspace between calls, slots missing or out of range,
// a fault or a budget overrun inside a tail-called stage, and skb_load_bytes on frames of every length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection, type VmCollection } from '../../src/vm/collection.js';
import { MapType } from '../../src/uapi/types.js';
import { loopStats } from '../../src/vm/wasm/packet-batch.js';
import { mapSpec } from '../support/map-spec.js';
import { MAP, captureLayout, tcProgram } from './support.js';
import { repoPath } from '../support/env.js';
import { frames as packets } from '../programs/packets.js';

const ARR = MAP;
const PROGS = MAP + 1;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u32 = (n: number) => Uint8Array.of(n, n >>> 8, n >>> 16, n >>> 24);

/**
 * The entry reads the frame's first two bytes a, b (frames under 2 bytes: retval 0), faults on a = 0xfe
 * (a load from address 0), puts b in cb[0]
 * and a stack word, and tail calls slot a & 7 of an 8-slot prog array (r0 + 1000 when that fails).
 */
const ENTRY = `
mov %r6, %r1
mov %r0, 0
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
mov %r4, %r2
add %r4, 2
jgt %r4, %r3, out
ldxb %r5, [%r2+0]
ldxb %r7, [%r2+1]
jne %r5, 0xfe, +2
mov %r3, 0
ldxb %r0, [%r3+0]
stxw [%r6+48], %r7
stdw [%r10-8], 0x1234
mov %r3, %r5
and %r3, 7
mov %r1, %r6
lddw %r2, ${PROGS}
call 12
add %r0, 1000
out:
exit`;

/** The stages, by name: what each does with the context, the stack word and b = cb[0]. */
const STAGES: Record<string, string> = {
  // arr[0] += 1; retval b + the entry's stack word + skb->len
  count: `
mov %r6, %r1
stw [%r10-12], 0
mov %r2, %r10
add %r2, -12
lddw %r1, ${ARR}
call 1
jeq %r0, 0, +2
mov %r1, 1
lock add [%r0+0], %r1
ldxw %r0, [%r6+48]
ldxdw %r1, [%r10-8]
add %r0, %r1
ldxw %r1, [%r6+0]
add %r0, %r1
exit`,
  // loops b times (the budget), returns b
  spin: `
ldxw %r0, [%r1+48]
mov %r2, %r0
again:
jeq %r2, 0, done
sub %r2, 1
ja again
done:
exit`,
  // arr[1] += 1, then tail calls itself (slot 2) until refused: r0 = the helper's -ENOENT
  self: `
mov %r6, %r1
stw [%r10-12], 1
mov %r2, %r10
add %r2, -12
lddw %r1, ${ARR}
call 1
jeq %r0, 0, +2
mov %r1, 1
lock add [%r0+0], %r1
mov %r1, %r6
lddw %r2, ${PROGS}
mov %r3, 2
call 12
exit`,
  // b = 0xee: a load from address 0 (an access fault in this stage); else retval 3
  faulty: `
ldxw %r2, [%r1+48]
mov %r0, 3
jne %r2, 0xee, +2
mov %r3, 0
ldxb %r0, [%r3+0]
exit`,
  // prints a trace line "t" (a helper in a tail-called stage), then goes on to slot 0
  trace: `
mov %r6, %r1
stb [%r10-16], 0x74
stb [%r10-15], 0
mov %r1, %r10
add %r1, -16
mov %r2, 2
call 6
mov %r1, %r6
lddw %r2, ${PROGS}
mov %r3, 0
call 12
mov %r0, 77
exit`,
  // skb_load_bytes(skb, b, r10 - 24, 8): r0 = its result + the loaded word (zeroed on -EFAULT)
  load: `
ldxw %r2, [%r1+48]
mov %r3, %r10
add %r3, -24
mov %r4, 8
call 26
ldxdw %r1, [%r10-24]
add %r0, %r1
exit`,
};

/** The prog array's 8 slots: 0-5 hold the stages in this order, 6 and 7 are empty. */
const SLOTS = ['count', 'spin', 'self', 'faulty', 'trace', 'load', undefined, undefined];

function object(): ObjectSpec {
  const progs = mapSpec('progs', MapType.PROG_ARRAY, 4, 4, SLOTS.length);
  progs.contents = SLOTS.flatMap((p, i) => (p ? [{ key: u32(i), value: { program: p } }] : []));
  const maps = [mapSpec('arr', MapType.ARRAY, 4, 8, 8), progs];
  return {
    endian: 'little',
    license: 'GPL',
    kernelVersion: 0,
    maps,
    programs: Object.entries({ entry: ENTRY, ...STAGES }).map(([name, text]) => tcProgram(name, text, maps)),
  };
}

/** Deterministic frames: a picks the slot, b the stage's argument; short ones and empty ones among them. */
function frameSet(n: number, seed: number, special: (i: number, f: Uint8Array) => void = () => {}): Uint8Array[] {
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xffff;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = i % 17 === 0 ? rnd() % 12 : 14 + (rnd() % 120);
    const f = new Uint8Array(len).map(() => rnd() & 0xff);
    if (len > 0 && f[0] === 0xfe) f[0] = 0xfd;
    if (len > 1) f[1] = f[1]! === 0xee ? 0xed : f[1]! % 150;
    special(i, f);
    out.push(f);
  }
  return out;
}

/** What a sequence of steps gave: result and trace lines in order, the error that stopped it, the maps. */
interface Outcome {
  events: string[];
  error?: string;
  maps: Record<string, string>;
}

/** A step: a group of frames run (per frame or batched), or a change the step makes from userspace. */
type Step = Uint8Array[] | ((c: VmCollection) => void);

function dump(c: VmCollection): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, m] of c.maps)
    out[name] = [...m.keys()]
      .map((k) => `${hex(k)}=${hex(m.lookup(k) ?? new Uint8Array(0))}`)
      .sort()
      .join(' ');
  return out;
}

/** Run the steps on a fresh collection: one run() per frame on the interpreter, or runPackets on wasm. */
/** Called after frame i was reported (per frame: after its run), as a capture loop's report would be. */
type OnReport = (c: VmCollection, i: number) => void;

function play(
  spec: ObjectSpec,
  entry: string,
  steps: Step[],
  batched: boolean,
  budget?: number,
  onReport: OnReport = () => {},
): Outcome {
  const events: string[] = [];
  const c = loadVmCollection(spec, {
    execution: batched ? 'wasm' : 'interpreter',
    cpus: 1,
    host: { trace: (l) => events.push(`trace ${l}`) },
    ...(budget ? { budget } : {}),
  });
  const p = c.program(entry);
  let base = 0;
  let error: string | undefined;
  try {
    for (const step of steps) {
      if (typeof step === 'function') {
        step(c);
        continue;
      }
      const first = base;
      base += step.length;
      if (!batched) {
        for (const [i, f] of step.entries()) {
          events.push(`${first + i}: ${p.run({ data: f }).retval >>> 0}`);
          onReport(c, first + i);
        }
        continue;
      }
      const { src, offs, lens } = captureLayout(step, 8, 0xa5);
      p.runPackets(src, offs, lens, step.length, (i, retval) => {
        events.push(`${first + i}: ${retval}`);
        onReport(c, first + i);
      });
    }
  } catch (err) {
    error = (err as Error).message;
  }
  const out: Outcome = { events, maps: dump(c), ...(error !== undefined ? { error } : {}) };
  c.close();
  return out;
}

/** Interpreter per frame against wasm batched; returns the reference and how many records the loop ran. */
function agree(
  spec: ObjectSpec,
  entry: string,
  steps: Step[],
  budget?: number,
  onReport?: OnReport,
): { want: Outcome; looped: number } {
  const want = play(spec, entry, steps, false, budget, onReport);
  const before = loopStats.records;
  const got = play(spec, entry, steps, true, budget, onReport);
  const looped = loopStats.records - before;
  assert.deepEqual(got, want);
  return { want, looped };
}

const retvals = (o: Outcome) => o.events.filter((e) => !e.startsWith('trace')).map((e) => e.split(' ')[1]);

test('runPackets (wasm) on a tail-calling entry: every stage, the 33-call limit and trace lines in the loop, as run() per frame', () => {
  const frames = frameSet(4000, 1);
  const { want, looped } = agree(object(), 'entry', [frames]);
  assert.equal(want.error, undefined);
  const r = retvals(want);
  // a stage's retval shows up for every stage, the limit (-ENOENT) and an empty slot (-ENOENT + 1000)
  assert.ok(r.includes(String(2 ** 32 - 2)), 'the self stage reached the limit');
  assert.ok(r.includes(String(1000 - 2)), 'an empty slot');
  assert.ok(r.includes(String(2 ** 32 - 14)), 'skb_load_bytes past the end: -EFAULT');
  assert.ok(want.events.some((e) => e.startsWith('trace')));
  // arr[1]: 34 runs of the self stage per frame that picked it
  assert.match(want.maps['arr']!, /01000000=/);
  // (a record whose stage prints a trace line or is short of the packet buffer still runs in the loop)
  assert.ok(looped > 3500, `${looped} of 4000 records in the loop`);
});

test('runPackets (wasm): a prog array changed from userspace between calls — slots emptied, moved and refilled', () => {
  const spec = object();
  const fd = (c: VmCollection, name: string) => u32(c.program(name).fd);
  const groups = [frameSet(700, 2), frameSet(700, 3), frameSet(700, 4), frameSet(700, 5)];
  const steps: Step[] = [
    groups[0]!,
    (c) => c.map('progs').update(u32(6), fd(c, 'count')),
    groups[1]!,
    (c) => c.map('progs').delete(u32(0)),
    (c) => c.map('progs').update(u32(4), fd(c, 'spin')),
    groups[2]!,
    (c) => c.map('progs').update(u32(0), fd(c, 'load')),
    (c) => c.map('progs').delete(u32(6)),
    groups[3]!,
  ];
  const { want, looped } = agree(spec, 'entry', steps);
  assert.equal(want.error, undefined);
  assert.ok(looped > 2000, `${looped} of 2800 records in the loop`);
  // slot 6 (a & 7 = 6) is empty (-ENOENT + 1000) but in the second group; slot 0 in the third
  const r = retvals(want);
  const empty = String(1000 - 2);
  const answers = (g: number, slot: number) =>
    groups[g]!.flatMap((f, i) => (f.length >= 2 && (f[0]! & 7) === slot ? [r[700 * g + i] === empty] : []));
  assert.deepEqual(new Set(answers(0, 6)), new Set([true]));
  assert.deepEqual(new Set(answers(1, 6)), new Set([false]));
  assert.deepEqual(new Set(answers(2, 0)), new Set([true]));
  assert.deepEqual(new Set(answers(3, 0)), new Set([false]));
  assert.deepEqual(new Set(answers(3, 6)), new Set([true]));
});

for (const [where, a, b] of [
  ['a tail-called stage', 3, 0xee],
  ['the entry, after records that tail called', 0xfe, 0],
] as const)
  test(`runPackets (wasm): a fault in ${where} is the interpreter’s error, naming that program, after every frame before it`, () => {
    const frames = frameSet(2500, 6, (i, f) => {
      if (i === 1999 && f.length > 1) {
        f[0] = a;
        f[1] = b;
      }
    });
    assert.ok(frames[1999]!.length > 1);
    const { want, looped } = agree(object(), 'entry', [frames]);
    assert.match(want.error ?? '', a === 3 ? /faulty/ : /entry/);
    assert.equal(
      want.events
        .filter((e) => !e.startsWith('trace'))
        .at(-1)!
        .split(':')[0],
      '1998',
    );
    // (loopStats counts a window's records when the module returns: the window that faults, frames
    // 1024-2047 of 1,024-record windows, counts none, though its frames before 1999 ran in the loop)
    assert.ok(looped >= 1000, `${looped} records in the loop`);
  });

test('runPackets (wasm): the budget running out inside a tail-called stage, part-way through a batch', () => {
  const frames = frameSet(2500, 7, (i, f) => {
    if (f.length > 1) f[1] = f[1]! % 20;
    if (i === 2222 && f.length > 1) {
      f[0] = 1; // the spin stage
      f[1] = 250;
    }
  });
  const { want, looped } = agree(object(), 'entry', [frames], 700);
  assert.match(want.error ?? '', /budget|instructions/);
  assert.equal(
    want.events
      .filter((e) => !e.startsWith('trace'))
      .at(-1)!
      .split(':')[0],
    '2221',
  );
  assert.ok(looped > 1500, `${looped} records in the loop`);
});

test('runPackets (wasm): a report that fills a slot with a program never run yet: a helper before the tail call sees it, as per frame', () => {
  // (reports come lazily, at the next import: a helper before the tail call makes them exact; the new
  // target is compiled by the helper's mirror update and must get its loop instance then)
  const spec = object();
  spec.programs.push(
    tcProgram(
      'traced',
      `mov %r6, %r1\nstb [%r10-8], 0x65\nstb [%r10-7], 0\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 2\ncall 6
mov %r1, %r6\nlddw %r2, ${PROGS}\nmov %r3, 6\ncall 12\nadd %r0, 1000\nexit`,
      spec.maps,
    ),
    tcProgram('late', 'mov %r0, 42\nexit', spec.maps),
  );
  const onReport = (c: VmCollection, i: number) => {
    if (i === 500) c.map('progs').update(u32(6), u32(c.program('late').fd));
  };
  const { want, looped } = agree(spec, 'traced', [frameSet(1000, 8)], undefined, onReport);
  const r = retvals(want);
  assert.deepEqual(new Set(r.slice(0, 501)), new Set([String(1000 - 2)]));
  assert.deepEqual(new Set(r.slice(501)), new Set(['42']));
  assert.ok(looped > 900, `${looped} of 1000 records in the loop`);
});

test('runPackets (wasm): tunnel-monitor over every kind of tunnel and cut frames gives the interpreter’s retvals and maps, in the loop', () => {
  const spec = loadObjectFile(repoPath('examples', 'tunnel-monitor', 'tunnel-monitor.o'));
  const kinds = [
    packets.vxlan(42),
    packets.vxlan(0x123456),
    packets.gre(),
    packets.ipip(),
    packets.ipv6Udp(),
    packets.http(),
    packets.arp(),
  ];
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) {
    const f = kinds[i % kinds.length]!;
    // cut inside a header every so often: skb_load_bytes past the end
    frames.push(i % 5 === 2 ? f.subarray(0, Math.min(f.length, 14 + (i % 60))) : f);
  }
  const { want, looped } = agree(spec, 'tunnel_entry', [frames]);
  assert.equal(want.error, undefined);
  assert.ok(looped > 2900, `${looped} of 3000 records in the loop`);
  assert.notEqual(want.maps['vni_packets'], '');
  assert.notEqual(want.maps['gre_protocols'], '');
});
