/**
 * Random socket-filter objects for the VM's differential fuzzer (differential-fuzz.test.ts and
 * scripts/fuzz-vm.js): three programs sharing an array, a hash, a prog array and a ring buffer, built from
 * blocks that exercise what the engines implement separately — LD_ABS/LD_IND packet loads, ALU, map
 * lookups with stores through the value pointer (sometimes past the value: a fault), hash updates and
 * deletes, skb_load_bytes, ring-buffer output, bpf_loop and for_each_map_elem with a callback that writes
 * the array (now and then through a forged pointer), callx of refused helpers, tail calls between the
 * programs (chains and cycles up to the kernel's limit), counted loops (sometimes long enough to exhaust a
 * small budget), local (bpf-to-bpf) calls — one that clobbers the callee-saved registers in its own frame,
 * one that recurses past the kernel's eight frames — and, in tc programs, skb_store_bytes and
 * l3/l4_csum_replace rewriting the packet. No verifier runs: whatever a program does, the VM must end
 * it in a result or a VmError, the same on every engine and path.
 */
import { assemble } from '../../src/asm/index.js';
import { BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD, OP_LDDW, type Instruction } from '../../src/isa/index.js';
import type { MapReference, MapSpec, ObjectSpec, ProgramSpec } from '../../src/elf/spec.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { mapSpec } from '../support/map-spec.js';

/** `lddw %rN, MAP+k`: the k-th map of the object. */
const MAP = 0x7e570000;
/** `lddw %rN, FUNC+slot`: a function pointer to that slot of the same program. */
const FUNC = 0x7e580000;

/** A small, fast, seeded generator of 32-bit unsigned integers (xorshift32). */
export function rng(seed: number): () => number {
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

/** Slots a line of assembly takes (lddw takes two), for jump offsets. */
const slots = (lines: string[]) => lines.reduce((n, l) => n + (l.startsWith('lddw') ? 2 : 1), 0);

/** Names of the object's programs; `progs` slots 0 and 1 hold the second and third. */
export const PROGRAMS = ['entry', 'tail1', 'tail2'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[r() % xs.length]!;
}

/** One random block of the program body. */
/** Blocks a classic filter is made of: packet loads, ALU, hash updates and deletes, loops (runs in place). */
const CLASSIC_BLOCKS = [0, 1, 3, 5, 9, 10];

/** The program types a case may have: packet loads and helpers differ between them. */
export type FuzzProgType = 'socket' | 'xdp' | 'tc';

/** Direct packet access (XDP, tc): data/data_end from the context, a bounds check, then a byte. */
function directRead(r: () => number, type: FuzzProgType, reg: string): string[] {
  const [data, end] = type === 'xdp' ? [0, 4] : [76, 80];
  const off = r() % 72;
  return [
    `ldxw %r2, [%r6+${data}]`,
    `ldxw %r3, [%r6+${end}]`,
    'mov %r4, %r2',
    `add %r4, ${off + 1}`,
    'jgt %r4, %r3, +2',
    `ldxb %r4, [%r2+${off}]`,
    `add ${reg}, %r4`,
  ];
}

function block(r: () => number, classic: boolean, type: FuzzProgType = 'socket'): string[] {
  const reg = () => pick(r, ['%r7', '%r8']);
  const lookup = (map: number, keyReg: string, mask: number) => [
    `mov %r2, ${keyReg}`,
    `and %r2, ${mask}`,
    'stxw [%r10-4], %r2',
    'mov %r2, %r10',
    'add %r2, -4',
    `lddw %r1, ${MAP + map}`,
    'call 1',
  ];
  const which = classic ? pick(r, CLASSIC_BLOCKS) : r() % 19;
  // XDP has no LD_ABS/LD_IND and no skb_load_bytes (the VM has no xdp_load_bytes): direct packet access
  if (type === 'xdp' && (which === 0 || which === 6 || which === 10)) return directRead(r, type, reg());
  if (type === 'tc' && which === 10 && r() % 2 === 0) return directRead(r, type, reg());
  switch (which) {
    case 16:
      // a local call: SUBA(r1, r2) with its own stack, a map lookup and r6/r7 clobbered in its frame
      return [`mov %r1, ${reg()}`, `mov %r2, ${reg()}`, 'call local SUBA', `xor ${reg()}, %r0`];
    case 17:
      // a local call recursing r1 & 15 deep: past the kernel's eight frames it faults
      return [`mov %r1, ${reg()}`, `and %r1, ${r() % 4 === 0 ? 15 : 3}`, 'call local SUBB', 'add %r9, %r0'];
    case 18:
      if (type !== 'tc') return block(r, classic, type);
      return packetWrite(r, reg());
    case 13:
    case 14: {
      // per-CPU array (map 4) or LRU hash (map 5): lookup, sometimes pointer arithmetic on the value
      // pointer (inside the 16-byte value, or out of it: a fault), then a read-modify-write
      const map = which === 13 ? 4 : 5;
      const move = r() % 3 === 0 ? [`add %r0, ${pick(r, [8, 16, -8, 4, 24])}`] : [];
      const body = [...move, 'ldxdw %r3, [%r0+0]', 'add %r3, %r8', 'stxdw [%r0+0], %r3', 'add %r7, %r3'];
      return [...lookup(map, reg(), which === 13 ? 7 : 15), `jeq %r0, 0, +${slots(body)}`, ...body];
    }
    case 15: {
      // LRU hash update (keys 0..15 into 4 entries: the LRU evicts), per-CPU array update
      const map = r() % 2 ? 5 : 4;
      return [
        `mov %r2, ${reg()}`,
        `and %r2, ${map === 5 ? 15 : 7}`,
        'stxw [%r10-4], %r2',
        `stxdw [%r10-16], ${reg()}`,
        `stxdw [%r10-8], ${reg()}`,
        'mov %r2, %r10',
        'add %r2, -4',
        'mov %r3, %r10',
        'add %r3, -16',
        `mov %r4, ${r() % 3}`,
        `lddw %r1, ${MAP + map}`,
        'call 2',
        'add %r9, %r0',
      ];
    }
    case 0: {
      const size = pick(r, ['b', 'h', 'w']);
      return [`ldabs${size} ${r() % 72}`, `${pick(r, ['add', 'xor'])} ${reg()}, %r0`];
    }
    case 1: {
      const op = pick(r, ['add', 'sub', 'mul', 'xor', 'or', 'and', 'lsh', 'rsh', 'arsh', 'div', 'mod']);
      const shift = op === 'lsh' || op === 'rsh' || op === 'arsh';
      const src = r() % 3 === 0 ? reg() : String(shift ? r() % 64 : (r() % 2000) - 1000);
      return [`${op}${r() % 4 === 0 ? '32' : ''} ${reg()}, ${src}`];
    }
    case 2: {
      // array lookup (keys 8..15 are out of range: a null pointer), then a read-modify-write of the value;
      // the offset is sometimes past the 16-byte value (a fault) or before it
      const off = r() % 5 === 0 ? pick(r, [16, -8, 12]) : pick(r, [0, 8]);
      const at = off < 0 ? `${off}` : `+${off}`;
      const body = [`ldxdw %r3, [%r0${at}]`, 'add %r3, %r8', `stxdw [%r0${at}], %r3`, 'add %r7, %r3'];
      if (r() % 3 === 0) {
        // a counted loop storing into the value on each turn
        const n = r() % 5 === 0 ? 100000 : 1 + (r() % 40);
        body.push(
          'mov %r4, %r0',
          `mov %r5, ${n}`,
          'stxdw [%r4+0], %r5',
          'add %r8, %r5',
          'sub %r5, 1',
          'jne %r5, 0, -4',
        );
      }
      return [...lookup(0, reg(), r() % 4 === 0 ? 15 : 7), `jeq %r0, 0, +${slots(body)}`, ...body];
    }
    case 3: {
      // hash update: key r & 15, value the other register, flags ANY / NOEXIST / EXIST (or invalid)
      const [k, v] = r() % 2 ? ['%r7', '%r8'] : ['%r8', '%r7'];
      return [
        `mov %r2, ${k}`,
        'and %r2, 15',
        'stxw [%r10-4], %r2',
        `stxdw [%r10-16], ${v}`,
        'mov %r2, %r10',
        'add %r2, -4',
        'mov %r3, %r10',
        'add %r3, -16',
        `mov %r4, ${r() % 8 === 0 ? 8 : r() % 3}`,
        `lddw %r1, ${MAP + 1}`,
        'call 2',
        'add %r9, %r0',
      ];
    }
    case 4: {
      const body = ['ldxdw %r3, [%r0+0]', `add ${reg()}, %r3`];
      return [...lookup(1, reg(), 15), `jeq %r0, 0, +${slots(body)}`, ...body];
    }
    case 5:
      // hash delete
      return [
        `mov %r2, ${reg()}`,
        'and %r2, 15',
        'stxw [%r10-4], %r2',
        'mov %r2, %r10',
        'add %r2, -4',
        `lddw %r1, ${MAP + 1}`,
        'call 3',
        'add %r9, %r0',
      ];
    case 6:
      // skb_load_bytes(ctx, off, fp-32, len): a helper reading the packet (off + len may pass its end)
      return [
        'mov %r1, %r6',
        `mov %r2, ${r() % 72}`,
        'mov %r3, %r10',
        'add %r3, -32',
        `mov %r4, ${1 + (r() % 16)}`,
        'call 26',
        'add %r9, %r0',
        'ldxdw %r3, [%r10-32]',
        'xor %r7, %r3',
      ];
    case 7:
      // bpf_loop(n, callback, 0, 0): the callback placeholder is resolved by the caller
      return [
        `mov %r1, ${r() % 6 === 0 ? 100000 : r() % 30}`,
        // now and then a forged pointer into the callback's body (a fault on every engine)
        `lddw %r2, CALLBACK${r() % 12 === 0 ? `+${1 + (r() % 3)}` : ''}`,
        'mov %r3, 0',
        'mov %r4, 0',
        'call 181',
        'add %r9, %r0',
      ];
    case 8:
      // now and then callx of a helper socket filters may not call (xdp_adjust_head, csum_diff): a fault
      if (r() % 10 === 0) return [`mov %r5, ${pick(r, [44, 28])}`, 'mov %r1, %r6', 'mov %r2, 0', 'call %r5'];
      // a tail call: slots 0 and 1 hold programs, 2 and 3 are empty (the call falls through)
      return ['mov %r1, %r6', `lddw %r2, ${MAP + 2}`, `mov %r3, ${r() % 4}`, 'call 12', 'add %r9, 1'];
    case 10:
      // LD_IND: the offset from a register (any value: most land outside the packet, ending the run)
      return [`mov %r1, ${reg()}`, `and %r1, ${pick(r, [31, 63, 255])}`, `ldindb %r1, ${r() % 8}`, `add ${reg()}, %r0`];
    case 11:
      // for_each_map_elem(h, callback, 0, 0): the same callback (r1 is then the map, r2 the key)
      return [`lddw %r1, ${MAP + 1}`, 'lddw %r2, CALLBACK', 'mov %r3, 0', 'mov %r4, 0', 'call 164', 'add %r9, %r0'];
    case 12:
      // ringbuf_output(rb, fp-16, len, 0): records the consumer reads back (len 0 or 3 are refused or odd)
      return [
        'stxdw [%r10-16], %r7',
        `lddw %r1, ${MAP + 3}`,
        'mov %r2, %r10',
        'add %r2, -16',
        `mov %r3, ${pick(r, [8, 8, 3, 0, 16])}`,
        'mov %r4, 0',
        'call 130',
        'add %r9, %r0',
      ];
    default: {
      const n = r() % 6 === 0 ? 200000 : 1 + (r() % 50);
      return [`mov %r5, ${n}`, 'add %r7, %r5', 'xor %r8, %r7', 'sub %r5, 1', 'jne %r5, 0, -4'];
    }
  }
}

/**
 * tc packet writes: skb_store_bytes of 1–8 stack bytes at a random offset (sometimes past the end: an
 * error return), with or without BPF_F_RECOMPUTE_CSUM / BPF_F_INVALIDATE_HASH, or a checksum fix-up
 * (l3/l4_csum_replace) of a 2- or 4-byte change, with or without BPF_F_PSEUDO_HDR / BPF_F_MARK_MANGLED_0
 * (and now and then a size the helper refuses).
 */
function packetWrite(r: () => number, reg: string): string[] {
  if (r() % 2)
    return [
      `stxdw [%r10-24], ${reg}`,
      'mov %r1, %r6',
      `mov %r2, ${r() % 72}`,
      'mov %r3, %r10',
      'add %r3, -24',
      `mov %r4, ${1 + (r() % 8)}`,
      `mov %r5, ${pick(r, [0, 0, 1, 2, 3, 4])}`,
      'call 9',
      'add %r9, %r0',
    ];
  const l4 = r() % 2 === 1;
  const size = pick(r, [2, 4, 2, 4, 0, 3]);
  const flags = size | (l4 ? pick(r, [0, 0x10, 0x20, 0x30]) : 0);
  return [
    'mov %r1, %r6',
    `mov %r2, ${r() % 72}`,
    `mov %r3, ${reg}`,
    `mov %r4, ${r() | 0}`,
    `mov %r5, ${flags}`,
    `call ${l4 ? 11 : 10}`,
    'add %r9, %r0',
  ];
}

/**
 * The local subprograms. SUBA(r1, r2): spills r1, looks up arr[r1 & 7] and folds its first word in,
 * using r6 and r7 (callee-saved: the caller's must survive). SUBB(n): returns n after recursing n deep.
 */
function subprograms(): { name: string; lines: string[] }[] {
  const found = ['ldxdw %r3, [%r0+0]', 'add %r7, %r3'];
  return [
    {
      name: 'SUBA',
      lines: [
        'stxdw [%r10-8], %r1',
        'mov %r7, %r2',
        'mov %r6, %r1',
        'and %r6, 7',
        'stxw [%r10-12], %r6',
        'mov %r2, %r10',
        'add %r2, -12',
        `lddw %r1, ${MAP}`,
        'call 1',
        `jeq %r0, 0, +${slots(found)}`,
        ...found,
        'ldxdw %r0, [%r10-8]',
        'lsh %r6, 5',
        'add %r0, %r6',
        'xor %r0, %r7',
        'exit',
      ],
    },
    {
      name: 'SUBB',
      lines: ['mov %r0, %r1', 'jeq %r1, 0, +3', 'sub %r1, 1', 'call local SUBB', 'add %r0, 1', 'exit'],
    },
  ];
}

/** The callback of bpf_loop: bumps arr[i & 7] at offset 8; returns 1 (stop) at index `stop`. */
function callback(stop: number): string[] {
  const body = ['ldxdw %r3, [%r0+8]', 'add %r3, 1', 'stxdw [%r0+8], %r3'];
  return [
    'mov %r6, %r1',
    'mov %r2, %r1',
    'and %r2, 7',
    'stxw [%r10-4], %r2',
    'mov %r2, %r10',
    'add %r2, -4',
    `lddw %r1, ${MAP}`,
    'call 1',
    `jeq %r0, 0, +${slots(body)}`,
    ...body,
    'mov %r0, 0',
    `jne %r6, ${stop}, +1`,
    'mov %r0, 1',
    'exit',
  ];
}

/**
 * One program's text: prologue, random blocks, epilogue (r0 = r7 + r9), then the callback. A classic
 * program (no pointer but r10 dereferenced, no callback) takes runPacketAt's in-place path.
 */
function programText(r: () => number, blocks: number, classic: boolean, type: FuzzProgType): string {
  const lines = ['mov %r6, %r1', `mov %r7, ${r() | 0}`, `mov %r8, ${(r() % 4096) - 100}`, 'mov %r9, 0'];
  for (let i = 0; i < blocks; i++) lines.push(...block(r, classic, type));
  lines.push('mov %r0, %r7', 'add %r0, %r9', 'exit');
  if (classic) return lines.join('\n');
  const at = slots(lines);
  lines.push(...callback(r() % 40));
  // the subprograms go last; `call local NAME` becomes the offset from the call's own slot
  const starts = new Map<string, number>();
  for (const sub of subprograms()) {
    starts.set(sub.name, slots(lines));
    lines.push(...sub.lines);
  }
  let pc = 0;
  const resolved = lines.map((line) => {
    const m = /^call local (SUB[AB])$/.exec(line);
    const out = m ? `call local ${starts.get(m[1]!)! - pc - 1}` : line;
    pc += slots([line]);
    return out;
  });
  return resolved
    .join('\n')
    .replace(/CALLBACK(\+\d)?/g, (_, forged?: string) => String(FUNC + at + Number(forged ?? 0)));
}

const PROG_TYPES: Record<FuzzProgType, [section: string, type: number]> = {
  socket: ['socket', ProgType.SOCKET_FILTER],
  xdp: ['xdp', ProgType.XDP],
  tc: ['tc', ProgType.SCHED_CLS],
};

function programSpec(name: string, text: string, maps: MapSpec[], type: FuzzProgType): ProgramSpec {
  const refs: MapReference[] = [];
  const insns = assemble(text, { syntax: 'conformance', source: name }).map((i): Instruction => {
    if (i.code !== OP_LDDW || i.imm2 !== 0) return i;
    if (i.imm >= MAP && i.imm < MAP + 16) {
      refs.push({ pc: i.pc, map: maps[i.imm - MAP]!.name, kind: 'fd', offset: 0 });
      return { ...i, src: BPF_PSEUDO_MAP_FD, imm: 0 };
    }
    if (i.imm >= FUNC && i.imm < FUNC + 0x10000) return { ...i, src: BPF_PSEUDO_FUNC, imm: i.imm - FUNC - i.pc - 1 };
    return i;
  });
  return {
    name,
    section: PROG_TYPES[type][0],
    type: PROG_TYPES[type][1],
    insns,
    mapRefs: refs,
    license: 'GPL',
    kernelVersion: 0,
  };
}

/** A random case: the object, the instruction budget to run it under and the frames to run in order. */
export interface FuzzCase {
  spec: ObjectSpec;
  /** the programs' type (all three share it: tail calls need one type) */
  type: FuzzProgType;
  budget: number;
  frames: Uint8Array[];
}

/** The case for one seed (the same seed always gives the same case). */
export function fuzzCase(seed: number): FuzzCase {
  const r = rng(seed);
  const progs = mapSpec('progs', MapType.PROG_ARRAY, 4, 4, 4);
  progs.contents = [
    { key: Uint8Array.of(0, 0, 0, 0), value: { program: PROGRAMS[1]! } },
    { key: Uint8Array.of(1, 0, 0, 0), value: { program: PROGRAMS[2]! } },
  ];
  const maps = [
    mapSpec('arr', MapType.ARRAY, 4, 16, 8),
    mapSpec('h', MapType.HASH, 4, 8, 8),
    progs,
    mapSpec('rb', MapType.RINGBUF, 0, 0, 4096),
    mapSpec('pa', MapType.PERCPU_ARRAY, 4, 16, 8),
    mapSpec('lru', MapType.LRU_HASH, 4, 16, 4),
  ];
  const type = pick(r, ['socket', 'socket', 'xdp', 'tc'] as const);
  // (classic programs, which take runPacketAt's in-place path, are socket filters)
  const classic = type === 'socket' && r() % 3 === 0;
  const programs = PROGRAMS.map((name, i) =>
    programSpec(name, programText(r, 1 + (r() % (i === 0 ? 14 : 6)), classic && i === 0, type), maps, type),
  );
  const frames = Array.from({ length: 1 + (r() % 3) }, () =>
    Uint8Array.from({ length: 14 + (r() % 60) }, () => r() & 0xff),
  );
  // small budgets fault part-way (in loops, callbacks, tail-called programs); the larger one keeps cases fast
  const budget = r() % 3 === 0 ? 20 + (r() % 3000) : 50_000;
  return {
    spec: { endian: 'little', license: 'GPL', kernelVersion: 0, maps, programs },
    type,
    budget,
    frames,
  };
}
