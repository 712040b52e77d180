/**
 * The kernel's bpf_asm language (tools/bpf/bpf_asm, Documentation/networking/filter.rst), assembled to
 * `struct sock_filter`s. One instruction per line, `label:` before it, `;` or `/* … *\/` comments:
 *   ldh [12]                 ld/ldh/ldb: [k], [x + k], #k (ld), M[k] (ld), #len, an extension (#proto…)
 *   ldx 4*([14]&0xf)         ldx: #k, M[k], #len, 4*([k]&0xf); ldxb, ldi, ldxi
 *   jeq #0x800, lt, lf       jeq/jgt/jge/jset: #k or x, one target (false falls through) or two
 *   jne #0x800, drop         jne/jneq/jlt/jle: one target, taken when the relation holds
 *   add #1 / add x ...       add sub mul div mod and or xor lsh rsh; neg; tax; txa
 *   ret #-1 / ret a / ret x  st/stx M[k]; jmp/ja label
 * Numbers are decimal (may be negative), 0x hex, 0b binary or 0-prefixed octal; `%x`, `%a` are accepted
 * for x, a. Errors are InputErrors at line:column. The program is not checked: checkClassic does that.
 */
import { InputError } from '../util/errors.js';
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
  BPF_IND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MEM,
  BPF_MISC,
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
  BPF_W,
  BPF_X,
  BPF_XOR,
  type SockFilter,
} from './insn.js';
import { SKF_AD, SKF_AD_OFF, type AncillaryName } from './ancillary.js';

/** bpf_asm's extension keywords (written `#name` or `name`) and the ancillary field each loads. */
export const BPF_ASM_EXTENSIONS: Readonly<Record<string, AncillaryName>> = {
  proto: 'PROTOCOL',
  type: 'PKTTYPE',
  poff: 'PAY_OFFSET',
  ifidx: 'IFINDEX',
  nla: 'NLATTR',
  nlan: 'NLATTR_NEST',
  mark: 'MARK',
  queue: 'QUEUE',
  hatype: 'HATYPE',
  rxhash: 'RXHASH',
  cpu: 'CPU',
  vlan_tci: 'VLAN_TAG',
  vlan_avail: 'VLAN_TAG_PRESENT',
  vlan_pr: 'VLAN_TAG_PRESENT',
  vlan_tpid: 'VLAN_TPID',
  rand: 'RANDOM',
};

interface Token {
  text: string;
  /** `text` in lower case (keywords are case-insensitive). */
  lower: string;
  col: number;
}

/** A jump target still to resolve: which field, which label, where it was written. */
interface Fixup {
  field: 'jt' | 'jf' | 'k';
  label: string;
  line: number;
  col: number;
}

const ALU: Record<string, number> = {
  add: BPF_ADD,
  sub: BPF_SUB,
  mul: BPF_MUL,
  div: BPF_DIV,
  mod: BPF_MOD,
  and: BPF_AND,
  or: BPF_OR,
  xor: BPF_XOR,
  lsh: BPF_LSH,
  rsh: BPF_RSH,
};
/** Conditional jumps with one or two targets: the opcode; a single target is the true one. */
const JUMP2: Record<string, number> = { jeq: BPF_JEQ, jgt: BPF_JGT, jge: BPF_JGE, jset: BPF_JSET };
/** One-target jumps that are the negation of an opcode: the target goes in jf. */
const JUMP_NEG: Record<string, number> = { jne: BPF_JEQ, jneq: BPF_JEQ, jlt: BPF_JGE, jle: BPF_JGT };
const SIZE: Record<string, number> = { ld: BPF_W, ldh: BPF_H, ldb: BPF_B };

const PUNCT = new Set(['#', '[', ']', '+', ',', ':', '*', '(', ')', '&']);
const isWordStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isWord = (c: number) => isWordStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;

/** Split one line (comments already removed) into tokens: numbers, words (`%x` included), punctuation. */
function tokenize(line: string, lineNo: number, source: string | undefined): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    const from = i;
    if (isDigit(c) || (c === 45 && isDigit(line.charCodeAt(i + 1)))) {
      i++;
      while (i < line.length && isWord(line.charCodeAt(i))) i++; // digits, and the x/b/hex letters of 0x…/0b…
    } else if (isWordStart(c) || (c === 37 && isWordStart(line.charCodeAt(i + 1)))) {
      i++;
      while (i < line.length && isWord(line.charCodeAt(i))) i++;
    } else if (PUNCT.has(line[i]!)) {
      i++;
    } else {
      throw new InputError(`unexpected '${line[i]}'`, at(source, lineNo, i + 1));
    }
    const text = line.slice(from, i);
    out.push({ text, lower: /[A-Z]/.test(text) ? text.toLowerCase() : text, col: from + 1 });
  }
  return out;
}

/** '0' or digits not starting with 0 (a leading 0 means octal). */
function isDecimal(s: string): boolean {
  if (s.charCodeAt(0) === 48) return s.length === 1;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return s.length > 0;
}

const at = (source: string | undefined, line: number, col: number) => `${source ?? '<asm>'}:${line}:${col}`;

/** Assemble bpf_asm text. */
export function assembleBpfAsm(text: string, source?: string): SockFilter[] {
  const insns: SockFilter[] = [];
  const fixups: Fixup[][] = [];
  const labels = new Map<string, number>();
  const uncommented = text.includes('/*') ? text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')) : text;
  const lines = uncommented.split('\n');
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const semi = raw.indexOf(';');
    const toks = tokenize(semi < 0 ? raw : raw.slice(0, semi), lineNo, source);
    let i = 0;
    if (toks.length >= 2 && toks[1]!.text === ':' && /^[A-Za-z_]/.test(toks[0]!.text)) {
      const name = toks[0]!.text;
      if (labels.has(name)) throw new InputError(`label '${name}' is defined twice`, at(source, lineNo, toks[0]!.col));
      labels.set(name, insns.length);
      i = 2;
    }
    if (i >= toks.length) return;
    const p = new LineParser(toks.slice(i), lineNo, raw.length, source);
    const [insn, fix] = p.instruction();
    insns.push(insn);
    fixups.push(fix);
  });
  insns.forEach((insn, pc) => {
    for (const f of fixups[pc]!) {
      const target = labels.get(f.label);
      if (target === undefined) throw new InputError(`undefined label '${f.label}'`, at(source, f.line, f.col));
      const off = target - pc - 1;
      if (off < 0)
        throw new InputError(
          `label '${f.label}' is behind this instruction: classic BPF jumps only forward`,
          at(source, f.line, f.col),
        );
      if (f.field !== 'k' && off > 255)
        throw new InputError(
          `label '${f.label}' is ${off} instructions ahead, more than a conditional jump reaches (255)`,
          at(source, f.line, f.col),
        );
      insn[f.field] = off;
    }
  });
  if (insns.length === 0) throw new InputError('no instructions', source);
  return insns;
}

class LineParser {
  private i = 0;
  private readonly fix: Fixup[] = [];

  constructor(
    private readonly toks: Token[],
    private readonly line: number,
    private readonly lineLength: number,
    private readonly source: string | undefined,
  ) {}

  private fail(message: string, tok = this.toks[this.i]): never {
    throw new InputError(message, at(this.source, this.line, tok ? tok.col : this.lineLength + 1));
  }

  private peek(): string | undefined {
    return this.toks[this.i]?.lower;
  }

  private next(what: string): Token {
    const t = this.toks[this.i];
    if (!t) this.fail(`expected ${what} at the end of the line`);
    this.i++;
    return t;
  }

  private expect(text: string): void {
    const t = this.next(`'${text}'`);
    if (t.lower !== text) this.fail(`expected '${text}', got '${t.text}'`, t);
  }

  private accept(text: string): boolean {
    if (this.peek() !== text) return false;
    this.i++;
    return true;
  }

  private number(): number {
    const t = this.next('a number');
    const s = t.text;
    let v: number;
    // Plain decimals (most operands) without the regular expressions below.
    if (s.length < 10 && isDecimal(s)) v = Number(s);
    else if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
    else if (/^0[bB][01]+$/.test(s)) v = parseInt(s.slice(2), 2);
    else if (/^0[0-7]+$/.test(s)) v = parseInt(s.slice(1), 8);
    else if (/^-?[0-9]+$/.test(s) && !/^-?0[0-9]/.test(s)) v = Number(s);
    else this.fail(`'${s}' is not a number`, t);
    if (v > 0xffffffff || v < -0x80000000) this.fail(`${s} does not fit 32 bits`, t);
    return v >>> 0;
  }

  private isX(): boolean {
    return this.accept('x') || this.accept('%x');
  }

  private label(field: Fixup['field']): void {
    const t = this.next('a label');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(t.text)) this.fail(`'${t.text}' is not a label`, t);
    this.fix.push({ field, label: t.text, line: this.line, col: t.col });
  }

  /** An extension keyword (with or without '#'), or undefined. */
  private extension(): number | undefined {
    const save = this.i;
    this.accept('#');
    const word = this.peek();
    if (word === 'len' || word === 'pktlen') {
      this.i++;
      return -1;
    }
    const anc = word !== undefined ? BPF_ASM_EXTENSIONS[word] : undefined;
    if (anc !== undefined) {
      this.i++;
      return (SKF_AD_OFF + SKF_AD[anc]) >>> 0;
    }
    this.i = save;
    return undefined;
  }

  private end(insn: SockFilter): [SockFilter, Fixup[]] {
    if (this.i < this.toks.length) this.fail(`unexpected '${this.toks[this.i]!.text}' after the instruction`);
    return [insn, this.fix];
  }

  /** `[k]` or `[x + k]` after the '[': the mode and k. */
  private packetOperand(): [number, number] {
    if (this.isX()) {
      this.expect('+');
      const k = this.number();
      this.expect(']');
      return [BPF_IND, k];
    }
    const k = this.number();
    this.expect(']');
    return [BPF_ABS, k];
  }

  /** 4*([k]&0xf) — only 4 and 0xf are allowed, as in bpf_asm. */
  private msh(): SockFilter {
    const four = this.toks[this.i];
    if (this.number() !== 4) this.fail('only 4*([k]&0xf) is supported', four);
    this.expect('*');
    this.expect('(');
    this.expect('[');
    const k = this.number();
    this.expect(']');
    this.expect('&');
    const mask = this.toks[this.i];
    if (this.number() !== 0xf) this.fail('only 4*([k]&0xf) is supported', mask);
    this.expect(')');
    return s(BPF_LDX | BPF_MSH | BPF_B, k);
  }

  instruction(): [SockFilter, Fixup[]] {
    const opTok = this.next('an instruction');
    const op = opTok.lower;
    if (Object.hasOwn(SIZE, op)) {
      const size = SIZE[op]!;
      if (this.accept('[')) {
        const [mode, k] = this.packetOperand();
        return this.end(s(BPF_LD | size | mode, k));
      }
      const ext = this.extension();
      if (ext === -1) {
        if (op !== 'ld') this.fail(`${op} #len: only ld (a word) loads the length`, opTok);
        return this.end(s(BPF_LD | BPF_W | BPF_LEN, 0));
      }
      if (ext !== undefined) return this.end(s(BPF_LD | size | BPF_ABS, ext));
      if (op === 'ld' && this.accept('#')) return this.end(s(BPF_LD | BPF_IMM, this.number()));
      if (op === 'ld' && this.accept('m')) {
        this.expect('[');
        const k = this.number();
        this.expect(']');
        return this.end(s(BPF_LD | BPF_MEM, k));
      }
      this.fail(`${op} takes [k], [x + k]${op === 'ld' ? ', #k, M[k], #len' : ''} or an extension`);
    }
    switch (op) {
      case 'ldi':
        this.accept('#');
        return this.end(s(BPF_LD | BPF_IMM, this.number()));
      case 'ldxi':
        this.accept('#');
        return this.end(s(BPF_LDX | BPF_IMM, this.number()));
      case 'ldx':
      case 'ldxb': {
        if (this.accept('#')) {
          if (this.accept('len') || this.accept('pktlen')) return this.end(s(BPF_LDX | BPF_W | BPF_LEN, 0));
          return this.end(s(BPF_LDX | BPF_IMM, this.number()));
        }
        if (this.accept('len') || this.accept('pktlen')) return this.end(s(BPF_LDX | BPF_W | BPF_LEN, 0));
        if (this.accept('m')) {
          this.expect('[');
          const k = this.number();
          this.expect(']');
          return this.end(s(BPF_LDX | BPF_MEM, k));
        }
        return this.end(this.msh());
      }
      case 'st':
      case 'stx': {
        this.expect('m');
        this.expect('[');
        const k = this.number();
        this.expect(']');
        return this.end(s(op === 'st' ? BPF_ST : BPF_STX, k));
      }
      case 'jmp':
      case 'ja':
        this.label('k');
        return this.end(s(BPF_JMP | BPF_JA, 0));
      case 'neg':
        return this.end(s(BPF_ALU | BPF_NEG, 0));
      case 'tax':
        return this.end(s(BPF_MISC | BPF_TAX, 0));
      case 'txa':
        return this.end(s(BPF_MISC | BPF_TXA, 0));
      case 'ret': {
        if (this.accept('a') || this.accept('%a')) return this.end(s(BPF_RET | BPF_A, 0));
        if (this.isX()) return this.end(s(BPF_RET | BPF_X, 0));
        this.expect('#');
        return this.end(s(BPF_RET | BPF_K, this.number()));
      }
    }
    if (Object.hasOwn(ALU, op)) {
      if (this.isX()) return this.end(s(BPF_ALU | ALU[op]! | BPF_X, 0));
      this.expect('#');
      return this.end(s(BPF_ALU | ALU[op]! | BPF_K, this.number()));
    }
    if (Object.hasOwn(JUMP2, op) || Object.hasOwn(JUMP_NEG, op)) {
      let src = BPF_X;
      let k = 0;
      if (!this.isX()) {
        this.expect('#');
        k = this.number();
        src = BPF_K;
      }
      this.expect(',');
      if (Object.hasOwn(JUMP_NEG, op)) {
        this.label('jf');
        return this.end(s(BPF_JMP | JUMP_NEG[op]! | src, k));
      }
      this.label('jt');
      if (this.accept(',')) this.label('jf');
      return this.end(s(BPF_JMP | JUMP2[op]! | src, k));
    }
    this.fail(`unknown instruction '${opTok.text}'`, opTok);
  }
}

function s(code: number, k: number): SockFilter {
  return { code, jt: 0, jf: 0, k: k >>> 0 };
}
