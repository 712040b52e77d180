/**
 * Constant folding of one classic BPF ALU operation, shared by the code generator (arithmetic on constants in
 * `proto[expr]` and relations) and the optimizer (values known along a path). 32-bit unsigned, as the
 * kernel computes it.
 */

/**
 * `a OP b` for the classic ALU operation `op` (the BPF_OP bits: add 0x00 … rsh 0x70, xor 0xa0, mod 0x90),
 * or undefined when it must not be folded: division or modulo by zero (at run time that ends the program
 * with 0, which a folded constant could not express) and operations it does not know.
 */
export function foldAlu(op: number, a: number, b: number): number | undefined {
  switch (op) {
    case 0x00:
      return (a + b) >>> 0;
    case 0x10:
      return (a - b) >>> 0;
    case 0x20:
      return Math.imul(a, b) >>> 0;
    case 0x30:
      return b === 0 ? undefined : Math.floor(a / b) >>> 0;
    case 0x90:
      return b === 0 ? undefined : (a % b) >>> 0;
    case 0x40:
      return (a | b) >>> 0;
    case 0x50:
      return (a & b) >>> 0;
    case 0xa0:
      return (a ^ b) >>> 0;
    case 0x60:
      return b > 31 ? 0 : (a << b) >>> 0;
    case 0x70:
      return b > 31 ? 0 : a >>> b;
  }
  return undefined;
}
