/**
 * Programs at the edge of what the kernel verifier accepts: packet checks one byte short or against the
 * wrong register, map value accesses one past the end, null checks missing, stack accesses past 512 bytes,
 * spills and fills of every size, loops with and without bounds, helper sizes one too large, context
 * fields at every offset and size, and the reliability probe's cases. Written in LLVM assembler syntax,
 * with `map N` / `map_value N+off` / `func +N` pseudo operands that `build` turns into the right `lddw`.
 */
import { assemble } from '../../src/asm/index.js';
import type { Instruction } from '../../src/isa/index.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';

/** One generated program. */
export interface BoundaryProgram {
  name: string;
  type: number;
  insns: Instruction[];
  maps: VerifierMap[];
  /** Loaded with BTF func_info (one static function per subprogram): programs with callbacks need it. */
  funcInfo?: boolean;
  /** The expected attach type (the cgroup and socket types' contexts depend on it). */
  attachType?: number;
}

const m = (name: string, type: number, keySize: number, valueSize: number, maxEntries: number): VerifierMap => ({
  name,
  type,
  keySize,
  valueSize,
  maxEntries,
  readOnly: false,
});

/**
 * Assemble, then turn `rX = map N ll` / `rX = map_value N+OFF ll` / `rX = func +N ll` lines into pseudo lddws
 * and `may_goto +N` lines (which the assembler does not know) into BPF_JMP | BPF_JCOND.
 */
export function build(text: string): Instruction[] {
  const patches: { line: number; src: number; imm: number; imm2: number }[] = [];
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const mayGoto: number[] = [];
  const plain = lines.map((l, i) => {
    const g = /^may_goto ([+-]\d+)$/.exec(l);
    if (g) {
      mayGoto.push(i);
      return `goto ${g[1]}`;
    }
    let x = /^(r\d+) = map (\d+)$/.exec(l);
    if (x) {
      patches.push({ line: i, src: 1, imm: Number(x[2]), imm2: 0 });
      return `${x[1]} = 0 ll`;
    }
    x = /^(r\d+) = map_value (\d+)\+(\d+)$/.exec(l);
    if (x) {
      patches.push({ line: i, src: 2, imm: Number(x[2]), imm2: Number(x[3]) });
      return `${x[1]} = 0 ll`;
    }
    x = /^(r\d+) = func ([+-]\d+)$/.exec(l);
    if (x) {
      patches.push({ line: i, src: 4, imm: Number(x[2]), imm2: 0 });
      return `${x[1]} = 0 ll`;
    }
    return l;
  });
  // `(rX + -N)` is how templates write negative offsets; LLVM syntax wants `(rX - N)`.
  const text2 = plain.map((l) => l.replace(/\+ -(\d+)\)/g, '- $1)'));
  const insns = assemble(text2.join('\n'), { syntax: 'llvm' });
  // One instruction per non-empty line, in order.
  for (const p of patches) Object.assign(insns[p.line]!, { src: p.src, imm: p.imm, imm2: p.imm2 });
  for (const line of mayGoto) insns[line]!.code = 0xe5;
  return insns;
}

/** A small deterministic generator (xorshift32), so every run checks the same programs. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const SIZES = ['u8', 'u16', 'u32', 'u64'] as const;

/** Every boundary program, `count` of the random families (deterministic). */
export function boundaryPrograms(count = 400): BoundaryProgram[] {
  const out: BoundaryProgram[] = [];
  const add = (name: string, type: number, text: string, maps: VerifierMap[] = []) =>
    out.push({ name, type, insns: build(text), maps });
  const XDP = ProgType.XDP;
  const TC = ProgType.SCHED_CLS;
  const SOCK = ProgType.SOCKET_FILTER;
  const arr8 = [m('arr', MapType.ARRAY, 4, 8, 4)];
  const hash8 = [m('hash', MapType.HASH, 4, 8, 4)];
  const r = rng(0x5eed);

  // The reliability probe's cases.
  add(
    'probe-map-neighbour',
    XDP,
    `
    r2 = r10
    r2 += -4
    *(u32 *)(r2 + 0) = 0
    r1 = map 0
    call 1
    if r0 == 0 goto +2
    r1 = 7
    *(u64 *)(r0 + 8) = r1
    r0 = 2
    exit`,
    arr8,
  );
  add(
    'probe-ringbuf-header',
    XDP,
    `
    r1 = map 0
    r2 = 8
    r3 = 0
    call 131
    if r0 == 0 goto +6
    r1 = r0
    r1 += -8
    r2 = 0
    *(u64 *)(r1 + 0) = r2
    r1 = r0
    r2 = 0
    call 132
    r0 = 2
    exit`,
    [m('rb', MapType.RINGBUF, 0, 0, 4096)],
  );
  add(
    'probe-callx-helper',
    XDP,
    `
    r1 = 5
    callx r1
    r0 = 2
    exit`,
  );
  add(
    'probe-forged-callback',
    XDP,
    `
    r1 = 4
    r2 = 5
    r3 = 0
    r4 = 0
    call 181
    r0 = 2
    exit`,
  );
  add(
    'probe-store-above-fp',
    XDP,
    `
    r1 = 1
    *(u64 *)(r10 + 8) = r1
    r0 = 2
    exit`,
  );
  add(
    'callback-ok',
    XDP,
    `
    r1 = 4
    r2 = func +6
    r3 = 0
    r4 = 0
    call 181
    r0 = 2
    exit
    r0 = 0
    exit`,
  );

  // Stage 1.
  add(
    'unreachable',
    XDP,
    `
    r0 = 2
    exit
    r0 = 1
    exit`,
  );
  add(
    'jump-out-of-range',
    XDP,
    `
    r0 = 2
    if r0 > 1 goto +5
    exit`,
  );
  add(
    'fall-off-end',
    XDP,
    `
    r0 = 2
    if r0 > 1 goto +1
    exit
    r0 = 1`,
  );
  add(
    'into-lddw',
    XDP,
    `
    r0 = 0
    if r0 > 1 goto +1
    r1 = 1 ll
    r0 = 2
    exit`,
  );

  // Context fields: every 4th offset, every size, read and (for tc) write.
  for (const [type, label, limit] of [
    [SOCK, 'sock', 200],
    [TC, 'tc', 200],
    [XDP, 'xdp', 28],
  ] as const) {
    for (let off = 0; off < limit; off += 4) {
      for (const size of SIZES) {
        if (r() < 0.5) continue;
        add(
          `ctx-${label}-read-${off}-${size}`,
          type,
          `
          r0 = *(${size} *)(r1 + ${off})
          r0 = 0
          exit`,
        );
      }
      if (r() < 0.3)
        add(
          `ctx-${label}-write-${off}`,
          type,
          `
          r2 = 1
          *(u32 *)(r1 + ${off}) = r2
          r0 = 0
          exit`,
        );
    }
  }

  // Packet checks: bound N, access at OFF of SIZE, compare forms, sometimes the wrong register.
  const forms = [
    ['if r4 > r3 goto +1', 'gt'],
    ['if r4 >= r3 goto +1', 'ge'],
    ['if r3 < r4 goto +1', 'lt-swapped'],
    ['if r3 <= r4 goto +1', 'le-swapped'],
    ['if r4 > r2 goto +1', 'wrong-reg'],
  ] as const;
  for (let i = 0; i < count; i++) {
    const n = Math.floor(r() * 20);
    const off = Math.floor(r() * 20) - 2;
    const size = pick(r, SIZES);
    const [cmp, form] = pick(r, forms);
    const type = pick(r, [XDP, TC]);
    const [dataOff, endOff] = type === XDP ? [0, 4] : [76, 80];
    add(
      `pkt-${form}-n${n}-off${off}-${size}-${type}`,
      type,
      `
      r2 = *(u32 *)(r1 + ${dataOff})
      r3 = *(u32 *)(r1 + ${endOff})
      r4 = r2
      r4 += ${n}
      ${cmp}
      goto +1
      goto +1
      r0 = *(${size} *)(r2 + ${off})
      r0 = 2
      exit`,
    );
  }
  // Same, with the taken side being the safe one (jump over the exit).
  for (let i = 0; i < count / 4; i++) {
    const n = Math.floor(r() * 16);
    const off = Math.floor(r() * 16);
    const size = pick(r, SIZES);
    add(
      `pkt-lt-taken-n${n}-off${off}-${size}`,
      XDP,
      `
      r2 = *(u32 *)(r1 + 0)
      r3 = *(u32 *)(r1 + 4)
      r4 = r2
      r4 += ${n}
      if r4 < r3 goto +2
      r0 = 1
      exit
      r0 = *(${size} *)(r2 + ${off})
      r0 = 2
      exit`,
    );
  }

  // Map values: value size V, access at OFF of SIZE, read or write, null check present or not.
  for (let i = 0; i < count; i++) {
    const v = pick(r, [4, 8, 12, 16, 24]);
    const off = Math.floor(r() * (v + 8)) - 4;
    const size = pick(r, SIZES);
    const write = r() < 0.5;
    const check = r() < 0.85;
    const access = write ? `*(${size} *)(r0 + ${off}) = r1` : `r1 = *(${size} *)(r0 + ${off})`;
    add(
      `mapval-v${v}-off${off}-${size}-${write ? 'w' : 'r'}${check ? '' : '-nocheck'}`,
      XDP,
      `
      r2 = r10
      r2 += -4
      r1 = 0
      *(u32 *)(r2 + 0) = r1
      r1 = map 0
      call 1
      ${check ? 'if r0 == 0 goto +2' : 'r1 = 0'}
      r1 = 1
      ${access}
      r0 = 2
      exit`,
      [m('arr', MapType.ARRAY, 4, v, 4)],
    );
  }

  // Variable index into a map value, bounded by a mask or a compare (sometimes one too loose).
  for (let i = 0; i < count / 2; i++) {
    const v = pick(r, [8, 16, 32, 64]);
    const bound = Math.floor(r() * (v + 4));
    const size = pick(r, SIZES);
    const how = pick(r, ['mask', 'jgt', 'jge', 'jsgt', 'none', 'mod']);
    const limit =
      how === 'mask'
        ? `r6 &= ${bound}`
        : how === 'jgt'
          ? `if r6 > ${bound} goto +4`
          : how === 'jge'
            ? `if r6 >= ${bound} goto +4`
            : how === 'jsgt'
              ? `if r6 s> ${bound} goto +4`
              : how === 'mod'
                ? `r6 %= ${bound || 1}`
                : 'r6 += 0';
    add(
      `mapidx-${how}-v${v}-b${bound}-${size}`,
      XDP,
      `
      r2 = r10
      r2 += -4
      r1 = 0
      *(u32 *)(r2 + 0) = r1
      r1 = map 0
      call 1
      if r0 == 0 goto +7
      r6 = *(u32 *)(r0 + 0)
      ${limit}
      r0 += r6
      r1 = *(${size} *)(r0 + 0)
      goto +0
      r0 = 2
      exit
      r0 = 1
      exit`,
      [m('arr', MapType.ARRAY, 4, v, 4)],
    );
  }

  // Stack: store and load at offsets around the frame's ends; spills and fills of every size.
  for (let i = 0; i < count / 2; i++) {
    const off = -Math.floor(r() * 530) + 8;
    const size = pick(r, SIZES);
    const fill = pick(r, SIZES);
    const what = pick(r, ['r1', 'r10', 'imm']);
    const store =
      what === 'imm'
        ? `*(${size} *)(r10 ${off < 0 ? '-' : '+'} ${Math.abs(off)}) = 7`
        : `*(${size} *)(r10 ${off < 0 ? '-' : '+'} ${Math.abs(off)}) = ${what}`;
    add(
      `stack-${what}-${off}-${size}-fill-${fill}`,
      XDP,
      `
      ${store}
      r0 = *(${fill} *)(r10 ${off < 0 ? '-' : '+'} ${Math.abs(off)})
      r0 = 2
      exit`,
    );
  }
  for (const fill of SIZES) {
    add(
      `spill-ptr-deref-${fill}`,
      XDP,
      `
      *(u64 *)(r10 - 8) = r1
      r2 = *(${fill} *)(r10 - 8)
      r0 = *(u32 *)(r2 + 0)
      r0 = 2
      exit`,
    );
  }
  for (const gap of [0, 8, 16]) {
    add(
      `uninit-read-${gap}`,
      XDP,
      `
      r0 = *(u64 *)(r10 - ${8 + gap})
      r0 = 2
      exit`,
    );
  }

  // Stack through a pointer with a bounded variable offset (fp - off + (random & mask)): reads over
  // uninitialized, zeroed and spilled slots (a read of zeros only is a known 0, which the store after it
  // relies on), stores over them, and fills of the slots afterwards (a spill a store reached is gone).
  const SETUPS: Record<string, string> = {
    uninit: '',
    zeros: '*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 16) = 0',
    ptr: '*(u64 *)(r10 - 8) = r6',
    narrow: 'r3 = 5\n*(u32 *)(r10 - 16) = r3',
  };
  for (const [setup, text] of Object.entries(SETUPS)) {
    for (const how of ['read', 'write', 'write0']) {
      for (const size of SIZES) {
        for (const [mask, off] of [
          [7, 16],
          [15, 16],
          [3, 12],
          [7, 8],
        ] as const) {
          const at = `*(${size} *)(r2 - ${off})`;
          const access =
            how === 'read'
              ? `r5 = ${at}\nr3 = r10\nr3 += r5\n*(u8 *)(r3 - 16) = 1`
              : how === 'write'
                ? `r7 = 3\n${at} = r7`
                : `${at} = 0`;
          const after = setup === 'ptr' ? 'r4 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r4 + 0)' : 'r4 = *(u32 *)(r10 - 16)';
          add(
            `stack-var-${setup}-${how}-${size}-${mask}-${off}`,
            XDP,
            `
            r6 = r1
            ${text.split('\n').join('\n            ')}
            call 7
            r0 &= ${mask}
            r2 = r10
            r2 += r0
            ${access.split('\n').join('\n            ')}
            ${after}
            r0 = 2
            exit`,
          );
        }
      }
    }
  }

  // Helper memory on the stack through a pointer with a bounded variable offset: read by csum_diff,
  // written by xdp_load_bytes (whose bytes in reach become "anything", a spilled register there unknown),
  // over the same setups, then the fills after it.
  for (const [setup, text] of Object.entries(SETUPS)) {
    for (const how of ['read', 'write']) {
      for (const size of [4, 8]) {
        for (const [mask, off] of [
          [7, 16],
          [15, 16],
          [3, 12],
          [7, 8],
        ] as const) {
          const call =
            how === 'read'
              ? `r1 = r10\nr1 += r0\nr1 += -${off}\nr2 = ${size}\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28`
              : `r3 = r10\nr3 += r0\nr3 += -${off}\nr1 = r6\nr2 = 0\nr4 = ${size}\ncall 189`;
          const after = setup === 'ptr' ? 'r4 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r4 + 0)' : 'r4 = *(u32 *)(r10 - 16)';
          add(
            `stack-var-helper-${setup}-${how}-${size}-${mask}-${off}`,
            XDP,
            `
            r6 = r1
            ${text.split('\n').join('\n            ')}
            call 7
            r0 &= ${mask}
            ${call.split('\n').join('\n            ')}
            ${after}
            r0 = 2
            exit`,
          );
        }
      }
    }
  }

  // A ctx pointer moved by a constant or a variable: the kernel allows the move and refuses every use
  // (a load, a helper's ctx argument, LD_ABS's R6) with __check_ptr_off_reg's words.
  const VAR = 'call 7\nr0 &= 4';
  const CTX_MOVES: [string, number, string][] = [
    ['ctx-moved-var-load', ProgType.SCHED_CLS, `r6 = r1\n${VAR}\nr6 += r0\nr0 = *(u32 *)(r6 + 0)\nr0 = 0\nexit`],
    [
      'ctx-moved-var-back-load',
      ProgType.SCHED_CLS,
      `r6 = r1\n${VAR}\nr6 += r0\nr6 -= r0\nr0 = *(u32 *)(r6 + 0)\nr0 = 0\nexit`,
    ],
    [
      'ctx-moved-var-store',
      ProgType.SCHED_CLS,
      `r6 = r1\n${VAR}\nr6 += r0\nr2 = 1\n*(u32 *)(r6 + 8) = r2\nr0 = 0\nexit`,
    ],
    ['ctx-moved-var-helper', ProgType.SCHED_CLS, `r6 = r1\n${VAR}\nr1 = r6\nr1 += r0\ncall 17\nr0 = 0\nexit`],
    ['ctx-moved-const-helper', ProgType.SCHED_CLS, `r1 += 4\ncall 17\nr0 = 0\nexit`],
    ['ctx-moved-var-unused', ProgType.SCHED_CLS, `r6 = r1\n${VAR}\nr6 += r0\nr0 = 0\nexit`],
    ['ctx-moved-const-ldabs', ProgType.SOCKET_FILTER, `r6 = r1\nr6 += 4\nr0 = *(u8 *)skb[0]\nr0 = 0\nexit`],
    ['ctx-moved-var-ldabs', ProgType.SOCKET_FILTER, `r6 = r1\n${VAR}\nr6 += r0\nr0 = *(u8 *)skb[0]\nr0 = 0\nexit`],
    ['ctx-moved-neg-ldind', ProgType.SOCKET_FILTER, `r6 = r1\nr6 += -8\nr2 = 0\nr0 = *(u8 *)skb[r2 + 0]\nr0 = 0\nexit`],
  ];
  for (const [name, type, text] of CTX_MOVES) add(name, type, text);
  add('ctx-moved-var-tail-call', XDP, `r6 = r1\n${VAR}\nr1 = r6\nr1 += r0\nr2 = map 0\nr3 = 0\ncall 12\nr0 = 2\nexit`, [
    { name: 'jt', type: 3, keySize: 4, valueSize: 4, maxEntries: 1, readOnly: false },
  ]);

  // Packet pointers across a tail call that returned: Linux 6.18 keeps them (and their range); a helper
  // that moves the packet does not.
  const JT: VerifierMap[] = [{ name: 'jt', type: 3, keySize: 4, valueSize: 4, maxEntries: 2, readOnly: false }];
  for (const [type, data, end, pull] of [
    [ProgType.SCHED_CLS, 76, 80, 39],
    [XDP, 0, 4, 44],
  ] as const) {
    const head = `r6 = r1\nr7 = *(u32 *)(r1 + ${data})\nr8 = *(u32 *)(r1 + ${end})\nr2 = r7\nr2 += 1\nif r2 > r8 goto +5`;
    const ret = type === XDP ? 2 : 0;
    add(
      `tail-call-packet-read-${type}`,
      type,
      `${head}\nr1 = r6\nr2 = map 0\nr3 = 1\ncall 12\nr0 = *(u8 *)(r7 + 0)\nr0 = ${ret}\nexit`,
      JT,
    );
    add(
      `tail-call-packet-shift-${type}`,
      type,
      `${head}\nr1 = r6\nr2 = map 0\nr3 = 1\ncall 12\nr7 >>= 8\nr0 = ${ret}\nexit`,
      JT,
    );
    add(
      `tail-call-packet-pull-${type}`,
      type,
      `${head}\nr1 = r6\nr2 = 0\ncall ${pull}\nr0 = *(u8 *)(r7 + 0)\nr0 = ${ret}\nexit`,
      JT,
    );
  }

  // Pointer arithmetic whose result's variable part reaches past ±2^29 (check_reg_sane_offset on the
  // result): a packet, context, stack or map value pointer minus or plus a bounded scalar, once or more.
  const SANE_HEAD = 'r6 = r1\nr7 = *(u32 *)(r6 + 76)\nr8 = *(u32 *)(r6 + 80)\ncall 7\nr1 = r0\n';
  const SANE: [string, string][] = [
    ['pkt-sub-u32', 'w1 = w1\nr7 -= r1'],
    ['pkt-off-sub-u32', 'w1 = w1\nr7 += 8\nr7 -= r1'],
    ['pkt-sub-u16', 'r1 &= 0xffff\nr7 -= r1'],
    ['pkt-sub-thrice', 'r1 &= 0xfffffff\nr7 -= r1\nr7 -= r1\nr7 -= r1'],
    ['pkt-sub-twice', 'r1 &= 0xfffffff\nr7 -= r1\nr7 -= r1'],
    ['pkt-add-twice-high', 'r1 &= 0xfffffff\nr1 += 0x10000000\nr7 += r1\nr7 += r1'],
    ['pkt-add-thrice', 'r1 &= 0x1fffffff\nr7 += r1\nr7 += r1\nr7 += r1'],
    ['ctx-sub-u32', 'w1 = w1\nr6 -= r1'],
    ['stack-add-u32', 'w1 = w1\nr2 = r10\nr2 += r1'],
  ];
  for (const [name, text] of SANE) add(`ptr-sane-${name}`, ProgType.SCHED_CLS, `${SANE_HEAD}${text}\nr0 = 0\nexit`);

  // Loops: bounded, bounded by a packet byte, and unbounded.
  for (const [n, step] of [
    [4, 1],
    [100, 3],
    [0, 1],
    [50, 7],
  ] as const) {
    add(
      `loop-bounded-${n}-${step}`,
      XDP,
      `
      r0 = 0
      r0 += ${step}
      if r0 < ${n} goto -2
      r0 = 2
      exit`,
    );
  }
  add(
    'loop-infinite',
    XDP,
    `
    r0 = 0
    goto -1`,
  );
  add(
    'loop-unknown-bound',
    XDP,
    `
    r6 = *(u32 *)(r1 + 0)
    r7 = *(u32 *)(r1 + 4)
    r7 -= r6
    r0 = 0
    r0 += 1
    if r0 != r7 goto -2
    r0 = 2
    exit`,
  );

  // Helper sizes: skb_load_bytes into a stack buffer of B bytes, length L (constant or bounded).
  for (let i = 0; i < count / 4; i++) {
    const buf = pick(r, [4, 8, 16, 32]);
    const len = Math.floor(r() * (buf + 4));
    const variable = r() < 0.4;
    const lenCode = variable ? `r4 = *(u32 *)(r1 + 0)\n r4 &= ${len}` : `r4 = ${len}`;
    add(
      `load-bytes-b${buf}-l${len}${variable ? '-var' : ''}`,
      SOCK,
      `
      ${lenCode}
      r2 = 0
      r3 = r10
      r3 += -${buf}
      call 26
      r0 = 0
      exit`,
    );
  }

  // Pointer arithmetic the kernel forbids, and division.
  for (const op of ['r1 *= 2', 'r1 |= 1', 'w1 += 4', 'r1 += r1', 'r1 <<= 1', 'r1 -= r10']) {
    add(
      `ptr-alu-${op.replace(/ /g, '')}`,
      TC,
      `
      ${op}
      r0 = 0
      exit`,
    );
  }
  for (const op of ['r0 /= 0', 'r0 %= 0', 'w0 /= 0', 'r0 s/= -1']) {
    add(
      `div-${op.replace(/[ /%]/g, '_')}`,
      TC,
      `
      r0 = 5
      ${op}
      exit`,
    );
  }
  add(
    'r0-not-init',
    TC,
    `
    exit`,
  );
  add(
    'null-check-copy',
    XDP,
    `
    r2 = r10
    r2 += -4
    r1 = 0
    *(u32 *)(r2 + 0) = r1
    r1 = map 0
    call 1
    r6 = r0
    if r0 == 0 goto +1
    r0 = *(u64 *)(r6 + 0)
    r0 = 2
    exit`,
    hash8,
  );
  add(
    'null-check-wrong-reg',
    XDP,
    `
    r2 = r10
    r2 += -4
    r1 = 0
    *(u32 *)(r2 + 0) = r1
    r1 = map 0
    call 1
    r6 = r0
    r7 = r10
    if r7 == 0 goto +1
    r0 = *(u64 *)(r6 + 0)
    r0 = 2
    exit`,
    hash8,
  );
  add(
    'ringbuf-leak',
    XDP,
    `
    r1 = map 0
    r2 = 8
    r3 = 0
    call 131
    r0 = 2
    exit`,
    [m('rb', MapType.RINGBUF, 0, 0, 4096)],
  );
  add(
    'ringbuf-ok',
    XDP,
    `
    r1 = map 0
    r2 = 16
    r3 = 0
    call 131
    if r0 == 0 goto +5
    r1 = 1
    *(u64 *)(r0 + 8) = r1
    r1 = r0
    r2 = 0
    call 132
    r0 = 2
    exit`,
    [m('rb', MapType.RINGBUF, 0, 0, 4096)],
  );
  return out;
}
