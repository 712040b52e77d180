/**
 * The one error a program run can end in. Everything that goes wrong inside the VM (a bad access, an
 * invalid instruction, a runaway loop, a helper that refuses) becomes a VmError naming where it happened,
 * so callers never see a raw JS exception and users get one line they can act on.
 */
import { BpfkitError } from '../util/errors.js';

/** What went wrong in a VmError. */
export type VmErrorKind =
  | 'load' // the program was rejected before running (bad opcode, register, jump target...)
  | 'access' // a load, store or atomic outside every mapped region (or a read-only one)
  | 'budget' // the executed-instruction budget ran out
  | 'call-depth' // more than 8 nested program-local calls
  | 'helper' // an unknown helper, or a helper that failed
  | 'tail-call' // tail-call chain problems
  | 'fall-through' // execution ran off the end of the program
  | 'internal'; // a JS exception inside the VM or a helper (a bug), wrapped

export class VmError extends BpfkitError {
  readonly kind: VmErrorKind;
  /** Slot index of the faulting instruction, or -1 when none applies. */
  readonly pc: number;
  /** Faulting address for access errors, else undefined. */
  readonly address: number | undefined;
  /** Name of the program that faulted, when known. */
  readonly program: string | undefined;
  /** The message without the "program: pc N (insn): " prefix. */
  readonly detail: string;

  constructor(
    kind: VmErrorKind,
    message: string,
    info: { pc?: number; address?: number; program?: string; insnText?: string } = {},
  ) {
    const pc = info.pc ?? -1;
    const where =
      pc >= 0
        ? `${info.program ? `${info.program}: ` : ''}pc ${pc}${info.insnText ? ` (${info.insnText})` : ''}: `
        : '';
    super(`${where}${message}`, 1);
    this.kind = kind;
    this.pc = pc;
    this.address = info.address;
    this.program = info.program;
    this.detail = message;
  }
}

/** Format a 32-bit VM address for messages. */
export function hexAddr(addr: number): string {
  return `0x${(addr >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * `err` as a fault of program `p`: its name and the text of the instruction at err.pc added, as every
 * engine reports a fault (an error that already names a program, or has no pc, is returned as it is).
 */
export function inProgram(err: VmError, p: { name: string; describe(pc: number): string | undefined }): VmError {
  if (err.program !== undefined || err.pc < 0) return err;
  const insnText = p.describe(err.pc);
  return new VmError(err.kind, err.detail, {
    pc: err.pc,
    program: p.name,
    ...(err.address !== undefined ? { address: err.address } : {}),
    ...(insnText ? { insnText } : {}),
  });
}
