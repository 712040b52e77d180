/**
 * Operand parsing shared by both syntaxes: numbers with range checks, registers, and the error type the
 * line parsers throw (the assembler adds `file:line`).
 */

/** A problem on one line; assemble() turns it into InputError(`file:line: message`). */
export class AsmLineError extends Error {}

const INT_RE = /^([-+]?)(0x[0-9a-f]+|0b[01]+|0o[0-7]+|\d+)$/i;

/** Parse an integer literal (decimal, 0x hex, 0b, 0o, optional sign) to a BigInt, or undefined. */
export function parseBigInt(text: string): bigint | undefined {
  const m = INT_RE.exec(text.trim());
  if (!m) return undefined;
  const v = BigInt(m[2]!.toLowerCase());
  return m[1] === '-' ? -v : v;
}

export function isNumber(text: string): boolean {
  return INT_RE.test(text.trim());
}

function need(text: string, what: string): bigint {
  const v = parseBigInt(text);
  if (v === undefined) throw new AsmLineError(`expected ${what}, got '${text.trim()}'`);
  return v;
}

/**
 * A 32-bit immediate. Accepts the signed range and, like the conformance suite's assembler, the unsigned
 * one too (`0xffffffff` is -1): the field is 32 bits and the instruction decides how to extend it.
 */
export function imm32(text: string, what = 'an immediate'): number {
  const v = need(text, what);
  if (v < -0x80000000n || v > 0xffffffffn) {
    throw new AsmLineError(`${what} ${text.trim()} is out of range (32 bits: -2147483648 to 4294967295)`);
  }
  return Number(BigInt.asIntN(32, v));
}

/** A 16-bit signed offset (memory displacement or jump offset). */
export function off16(text: string, what = 'offset'): number {
  const v = need(text, what);
  if (v < -0x8000n || v > 0x7fffn)
    throw new AsmLineError(`${what} ${text.trim()} is out of range (16 bits: -32768 to 32767)`);
  return Number(v);
}

/** A 64-bit `lddw` constant: signed or unsigned 64-bit range. */
export function imm64(text: string): bigint {
  const v = need(text, 'a 64-bit constant');
  if (v < -(1n << 63n) || v > (1n << 64n) - 1n) {
    throw new AsmLineError(`constant ${text.trim()} is out of range (64 bits)`);
  }
  return BigInt.asUintN(64, v);
}

/** A small unsigned field (.insn fields). */
export function field(text: string, name: string, max: number): number {
  const v = need(text, name);
  if (v < 0n || v > BigInt(max)) throw new AsmLineError(`${name}=${text.trim()} is out of range (0-${max})`);
  return Number(v);
}

/**
 * A register name: `r0`-`r10` / `w0`-`w10` (LLVM) or `%r0`-`%r10` (conformance). Returns the number and
 * whether it was written as a 32-bit `w` register.
 */
export function register(text: string, prefix: 'llvm' | 'conformance' | 'any' = 'any'): { reg: number; w: boolean } {
  const t = text.trim();
  const m = /^(%?)([rw])(\d+)$/.exec(t);
  if (!m || (prefix === 'conformance' && m[2] === 'w')) throw new AsmLineError(`expected a register, got '${t}'`);
  const reg = Number(m[3]);
  if (reg > 10 || m[3]!.length > 2) throw new AsmLineError(`invalid register '${t}' (registers are r0-r10)`);
  return { reg, w: m[2] === 'w' };
}

export function isRegister(text: string): boolean {
  return /^%?[rw]\d+$/.test(text.trim());
}

/** A jump target: `+N`/`-N` (relative), a bare number (relative), or a label name. */
export type Target = { offset: number } | { label: string };

const LABEL_RE = /^[A-Za-z_.$][\w.$]*$/;

export function isLabel(text: string): boolean {
  return LABEL_RE.test(text);
}

export function target(text: string, bits: 16 | 32): Target {
  const t = text.trim();
  if (isNumber(t)) {
    if (bits === 16) return { offset: off16(t, 'jump offset') };
    const v = parseBigInt(t)!;
    if (v < -0x80000000n || v > 0x7fffffffn)
      throw new AsmLineError(`jump offset ${t} is out of range (32 bits signed)`);
    return { offset: Number(v) };
  }
  if (isLabel(t)) return { label: t };
  throw new AsmLineError(`expected a jump target (+N, -N or a label), got '${t}'`);
}

/** What a line parser returns: the instruction, and the field a label or offset still has to fill. */
export interface ParsedInsn {
  insn: import('../isa/instruction.js').Instruction;
  jump?: { target: Target; field: 'off' | 'imm' };
}
