/**
 * The kernel as the verifier's oracle for one program of an object: load it with BPF_PROG_LOAD (as root,
 * through the kernel engine, its maps created) and report accepted or refused, the instruction the kernel
 * refused at (the last instruction its log printed, or the one its message names) and its message. Shared
 * by the selftest sweep (scripts/verifier-sweep.ts) and the tests that ask the kernel
 * (test/verifier/kernel-oracle.ts re-exports it).
 */
import { loadKernelCollection, VerifierError } from '../src/kernel/index.js';
import type { ObjectSpec } from '../src/elf/spec.js';

/** The kernel's verdict on one program. */
export interface KernelVerdict {
  accepted: boolean;
  pc?: number;
  message?: string;
  log: string;
  /** Kernel time of the load, ms (wall clock around BPF_PROG_LOAD). */
  ms: number;
}

/** Where and why, from a refusal's log. */
export function parseKernelLog(log: string): { pc?: number; message: string } {
  // Some messages lack their newline (`insn 3 cannot call exception cb directly`), and the stats line is
  // glued to them: split it off, or it would be taken for the message.
  const lines = log
    .replace(/([^\n])(processed \d+ insns \(limit)/g, '$1\n$2')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const body = lines.filter(
    (l) => !/^processed \d+ insns|^verification time|^stack depth|^Validating|^Func#|^cur state:|^old state:/.test(l),
  );
  const message = body[body.length - 1] ?? '';
  const named = /(?:unreachable insn|from insn|infinite loop detected at insn) (\d+)/.exec(message);
  if (named) return { pc: Number(named[1]), message };
  if (/^(unknown opcode|last insn is not|jump into the middle|combined stack size|the call stack of)/.test(message))
    return { message };
  for (let i = body.length - 1; i >= 0; i--) {
    // (an instruction the kernel cannot print shows as "N: BUG_cb")
    const m = /^(\d+): (?:\([0-9a-f]{2}\)|BUG_)/.exec(body[i]!);
    if (m) return { pc: Number(m[1]), message };
  }
  return { message };
}

/**
 * Load one program of an object with everything it needs (maps, BTF), through the kernel engine. A refusal
 * by the verifier is a verdict; any other failure (EPERM under lockdown, a map the kernel will not create)
 * is thrown: the kernel was not asked.
 */
export function kernelVerdictObject(spec: ObjectSpec, program: string): KernelVerdict {
  const t0 = performance.now();
  try {
    const c = loadKernelCollection(spec, {
      programs: [program],
      pinPath: `/sys/fs/bpf/bpfkit-verifier-${process.pid}`,
      privatePinPath: true,
    });
    const ms = performance.now() - t0;
    c.close();
    return { accepted: true, log: '', ms };
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    return { accepted: false, log: err.log, ms: performance.now() - t0, ...parseKernelLog(err.log) };
  }
}
