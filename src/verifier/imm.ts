/**
 * Registers holding an instruction's immediate, shared: an ALU operation or a compare against a constant
 * needs one per instruction walked, and a million walked instructions would otherwise allocate a million
 * identical constants. Registers are immutable values, so one object serves every use.
 */
import { known } from './scalar.js';
import { type Reg, scalarReg } from './state.js';

/** Immediates from -SMALL to SMALL-1 are kept (most are small); others are made each time. */
const SMALL = 4096;
const cache64: (Reg | undefined)[] = new Array<Reg | undefined>(2 * SMALL);
const cache32: (Reg | undefined)[] = new Array<Reg | undefined>(2 * SMALL);

/** The scalar register of `imm` as a 64-bit operand (sign-extended) or a 32-bit one (its low 32 bits). */
export function immReg(imm: number, is32: boolean): Reg {
  if (imm < -SMALL || imm >= SMALL) return scalarReg(known(is32 ? BigInt(imm >>> 0) : BigInt(imm)));
  const cache = is32 ? cache32 : cache64;
  const hit = cache[imm + SMALL];
  if (hit) return hit;
  const reg = scalarReg(known(is32 ? BigInt(imm >>> 0) : BigInt(imm)));
  cache[imm + SMALL] = reg;
  return reg;
}
