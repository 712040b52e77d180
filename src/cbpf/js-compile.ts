/**
 * Classic BPF compiled to one JavaScript function per program, with the interpreter's semantics
 * (interpret.ts) at a fraction of its cost: classic BPF is 32-bit only, so A, X and M[] are plain numbers
 * (uint32, kept so with `>>> 0`), not the BigInts an eBPF engine needs.
 *
 * Classic jumps only go forward, so the program's control flow is expressed without a dispatch loop:
 * every instruction some jump lands on (other than by falling through) closes a labelled block opened at
 * the top, `T<n>: { ... }`, and a jump to it is `break T<n>`. Blocks opened at the top in order of their
 * end nest by construction. A packet load outside the packet returns 0, as does division or modulo by 0;
 * loads at non-negative constant offsets are checked against the packet's length inline, everything else
 * (negative offsets, ancillary fields) goes through the interpreter's own helpers.
 */
import { InputError } from '../util/errors.js';
import { SKF_AD, ancillaryOf } from './ancillary.js';
import { checkClassic } from './check.js';
import { type ClassicContext, type ResolvedContext, resolveContext } from './context.js';
import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
  BPF_DIV,
  BPF_H,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
  BPF_MOD,
  BPF_MSH,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_X,
  BPF_XOR,
  type SockFilter,
} from './insn.js';
import { ancillaryValue, loadBytes } from './interpret.js';

/**
 * A compiled program: the return value for one packet (the bytes from skb->data on). `len` is what
 * `ld len` reads (the original length of a cut capture record; default the byte length); `ctx` supplies
 * negative offsets and ancillary fields, as runClassic's context does (its `len` is used when `len` is
 * not given).
 */
export type ClassicJsFilter = (packet: Uint8Array, len?: number, ctx?: ClassicContext) => number;

/**
 * Beyond this many distinct jump targets the labelled blocks nest too deep for a comfortable parse, and
 * the program is compiled as a loop over a switch instead (same semantics, a little slower).
 */
const MAX_NESTED_TARGETS = 512;

/** The helpers the generated code calls for the rare loads; one object, passed once at compile time. */
interface Slow {
  /** Big-endian load at the kernel's (negative) offset, or -1 when outside the packet. */
  load(p: Uint8Array, c: ResolvedContext, k: number, size: number): number;
  anc(off: number, p: Uint8Array, c: ResolvedContext, a: number, x: number): number;
  resolve(p: Uint8Array, ctx: ClassicContext | undefined, len: number): ResolvedContext;
}

const SLOW: Slow = {
  load: loadBytes,
  anc: ancillaryValue,
  resolve: (p, ctx, len) => resolveContext(p, { ...ctx, len }),
};

/** How to compile. */
export interface ClassicJsOptions {
  /** Always use the loop-over-switch form (tests compare it with the nested-block form). */
  loop?: boolean;
  /**
   * What a shift by X >= 32 gives. `'kernel'` (the default, as the classic interpreter and the kernel's
   * cBPF→eBPF conversion do): the low 5 bits of X count. `'libpcap'`: 0, as libpcap's userspace
   * bpf_filter gives it — what `tcpdump -r` runs, so bpfkit's file filters keep the packets it keeps.
   */
  shifts?: 'kernel' | 'libpcap';
  /**
   * Accept libpcap's backward `ja` (what `protochain` emits), as `prepareClassic(..., { loops: true })`
   * does: such a program takes the loop form and a run that passes LOOP_JUMP_BUDGET jumps rejects the
   * packet (libpcap itself can spin forever on a crafted header chain).
   */
  loops?: boolean;
}

/** Jumps a looping program may take in one run before the packet is rejected. */
export const LOOP_JUMP_BUDGET = 1 << 20;

/** Check `insns` (InputError as prepareClassic gives) and compile them to a JavaScript function. */
export function compileClassicToJs(
  insns: readonly SockFilter[],
  source?: string,
  options: ClassicJsOptions = {},
): ClassicJsFilter {
  const bad = checkClassic(insns, { loops: options.loops === true });
  if (bad) throw new InputError(`${bad.message} (${bad.rule})`, source);
  const body = classicJsSource(insns, options);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('S', body) as (s: Slow) => ClassicJsFilter;
  return factory(SLOW);
}

const sizeOf = (code: number): number => ((code & 0x18) === BPF_B ? 1 : (code & 0x18) === BPF_H ? 2 : 4);

/** A big-endian read of `size` bytes at offset expression `o` (already checked to be inside `p`). */
function read(o: string, size: number): string {
  if (size === 1) return `p[${o}]`;
  if (size === 2) return `(p[${o}] << 8 | p[${o} + 1])`;
  return `(p[${o}] << 24 | p[${o} + 1] << 16 | p[${o} + 2] << 8 | p[${o} + 3]) >>> 0`;
}

/**
 * The body of the factory: `return function (p, len, ctx) {...}` for a checked program. Exposed for the
 * tests and for readers who want to see what a filter became.
 */
export function classicJsSource(insns: readonly SockFilter[], options: ClassicJsOptions = {}): string {
  const n = insns.length;
  const C = '(rc ??= S.resolve(p, ctx, (len ?? ctx?.len ?? p.length) >>> 0))';
  // Instructions reached by a jump other than falling through: each closes a labelled block.
  const targets = new Set<number>();
  for (let pc = 0; pc < n; pc++) {
    const { code, jt, jf, k } = insns[pc]!;
    if ((code & 0x07) !== BPF_JMP) continue;
    if ((code & 0xf0) === BPF_JA) {
      if (k !== 0) targets.add(pc + 1 + (k | 0));
    } else {
      if (jt !== 0) targets.add(pc + 1 + jt);
      if (jf !== 0) targets.add(pc + 1 + jf);
    }
  }
  // A backward `ja` (k negative as a signed number; only checked programs with loops allowed have one).
  const backward = insns.some(
    (i, pc) => (i.code & 0x07) === BPF_JMP && (i.code & 0xf0) === BPF_JA && pc + 1 + (i.k | 0) <= pc,
  );
  const looped = options.loop === true || backward || targets.size > MAX_NESTED_TARGETS;
  const jump = (to: number, from: number): string =>
    looped ? `{ pc = ${to}; continue; }` : to === from + 1 ? '' : `break T${to};`;
  const usesLen = insns.some(
    (i) => (i.code & 0xe0) === BPF_LEN && ((i.code & 7) === BPF_LD || (i.code & 7) === BPF_LDX),
  );
  const mems = new Set<number>();
  for (const i of insns) {
    const cls = i.code & 7;
    if (cls === BPF_ST || cls === BPF_STX || ((cls === BPF_LD || cls === BPF_LDX) && (i.code & 0xe0) === BPF_MEM))
      mems.add(i.k);
  }
  const lines: string[] = [];
  const emit = (pc: number): void => {
    const { code, jt, jf } = insns[pc]!;
    const k = insns[pc]!.k >>> 0;
    const cls = code & 0x07;
    const mode = code & 0xe0;
    switch (cls) {
      case BPF_RET:
        lines.push(code === (BPF_RET | BPF_A) ? 'return a;' : `return ${k};`);
        return;
      case BPF_LD:
      case BPF_LDX: {
        const reg = cls === BPF_LD ? 'a' : 'x';
        if (mode === BPF_IMM) lines.push(`${reg} = ${k};`);
        else if (mode === BPF_MEM) lines.push(`${reg} = m${k};`);
        else if (mode === BPF_LEN) lines.push(`${reg} = n;`);
        else if (mode === BPF_MSH) {
          if ((k | 0) >= 0) lines.push(`if (${k} >= p.length) return 0;`, `x = (p[${k}] & 15) << 2;`);
          else lines.push(`v = S.load(p, ${C}, ${k | 0}, 1);`, 'if (v < 0) return 0;', 'x = (v & 15) << 2;');
        } else if (mode === BPF_ABS) {
          const size = sizeOf(code);
          const anc = ancillaryOf(k);
          if (anc !== undefined) lines.push(`a = S.anc(${SKF_AD[anc]}, p, ${C}, a, x) >>> 0;`);
          else if ((k | 0) >= 0) lines.push(`if (${k + size} > p.length) return 0;`, `a = ${read(String(k), size)};`);
          else lines.push(`v = S.load(p, ${C}, ${k | 0}, ${size});`, 'if (v < 0) return 0;', 'a = v;');
        } else {
          // BPF_IND: x + k as the kernel's int32 offset; negative ones are SKF_NET_OFF/SKF_LL_OFF or out.
          const size = sizeOf(code);
          lines.push(
            `o = (x + ${k}) | 0;`,
            `if (o >= 0) { if (o + ${size} > p.length) return 0; a = ${read('o', size)}; }`,
            `else { v = S.load(p, ${C}, o, ${size}); if (v < 0) return 0; a = v; }`,
          );
        }
        return;
      }
      case BPF_ST:
        lines.push(`m${k} = a;`);
        return;
      case BPF_STX:
        lines.push(`m${k} = x;`);
        return;
      case BPF_ALU: {
        const v = (code & BPF_X) !== 0 ? 'x' : String(k);
        switch (code & 0xf0) {
          case BPF_ADD:
            lines.push(`a = (a + ${v}) >>> 0;`);
            break;
          case BPF_SUB:
            lines.push(`a = (a - ${v}) >>> 0;`);
            break;
          case BPF_MUL:
            lines.push(`a = Math.imul(a, ${v}) >>> 0;`);
            break;
          case BPF_DIV:
            if (v === '0') lines.push('return 0;');
            else lines.push(...(v === 'x' ? ['if (x === 0) return 0;'] : []), `a = (a / ${v}) >>> 0;`);
            break;
          case BPF_MOD:
            if (v === '0') lines.push('return 0;');
            else lines.push(...(v === 'x' ? ['if (x === 0) return 0;'] : []), `a = a % ${v};`);
            break;
          case BPF_OR:
            lines.push(`a = (a | ${v}) >>> 0;`);
            break;
          case BPF_AND:
            lines.push(`a = (a & ${v}) >>> 0;`);
            break;
          case BPF_XOR:
            lines.push(`a = (a ^ ${v}) >>> 0;`);
            break;
          case BPF_LSH:
            if (v === 'x' && options.shifts === 'libpcap') lines.push('a = x < 32 ? (a << x) >>> 0 : 0;');
            else lines.push(`a = (a << (${v} & 31)) >>> 0;`);
            break;
          case BPF_RSH:
            if (v === 'x' && options.shifts === 'libpcap') lines.push('a = x < 32 ? a >>> x : 0;');
            else lines.push(`a = a >>> (${v} & 31);`);
            break;
          case BPF_NEG:
            lines.push('a = -a >>> 0;');
            break;
        }
        return;
      }
      case BPF_JMP: {
        const op = code & 0xf0;
        if (op === BPF_JA) {
          const j = jump(pc + 1 + (k | 0), pc);
          if (j) lines.push(j);
          return;
        }
        const v = (code & BPF_X) !== 0 ? 'x' : String(k);
        const cond =
          op === BPF_JEQ
            ? `a === ${v}`
            : op === BPF_JGT
              ? `a > ${v}`
              : op === BPF_JGE
                ? `a >= ${v}`
                : `(a & ${v}) !== 0`;
        const t = jump(pc + 1 + jt, pc);
        const f = jump(pc + 1 + jf, pc);
        if (jt === jf) {
          if (t) lines.push(t);
        } else if (t && f) lines.push(`if (${cond}) ${t} else ${f}`);
        else if (t) lines.push(`if (${cond}) ${t}`);
        else lines.push(`if (!(${cond})) ${f}`);
        return;
      }
      default: // MISC
        if ((code & 0xf8) === BPF_TAX) lines.push('x = a;');
        else if ((code & 0xf8) === BPF_TXA) lines.push('a = x;');
    }
  };
  const head = [
    'return function cbpfFilter(p, len, ctx) {',
    'let a = 0, x = 0, o = 0, v = 0;',
    ...[...mems].sort((l, r) => l - r).map((k) => `let m${k} = 0;`),
    usesLen ? 'const n = (len ?? ctx?.len ?? p.length) >>> 0;' : '',
    // The resolved context, made on the first load that needs it (C in the loads above).
    'let rc;',
  ];
  if (looped) {
    // Every pass through a loop takes a jump (`continue`): counting passes bounds a looping program.
    const budget = backward ? `if (++steps > ${LOOP_JUMP_BUDGET}) return 0;` : '';
    lines.push(...head, 'let pc = 0, steps = 0;', `for (;;) { ${budget} switch (pc) {`);
    for (let pc = 0; pc < n; pc++) {
      lines.push(`case ${pc}:`);
      emit(pc);
    }
    lines.push('} }', '};');
    return lines.join('\n');
  }
  const ordered = [...targets].sort((l, r) => r - l);
  lines.push(...head, ...ordered.map((t) => `T${t}: {`));
  for (let pc = 0; pc < n; pc++) {
    if (targets.has(pc)) lines.push('}');
    emit(pc);
  }
  // Checked programs end in a return on every path, so nothing falls out of the last block.
  lines.push('};');
  return lines.join('\n');
}
