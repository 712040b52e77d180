/**
 * Typed errors for kernel refusals. A failing bpf(2) or socket call becomes one of these (see
 * `kernelError` in bpf-syscall.ts), never a bare errno: permission problems are EnvironmentErrors, a
 * rejected program carries the verifier's log, a missing kernel feature names the feature.
 */
import { readFileSync } from 'node:fs';
import { BpfkitError, EnvironmentError } from '../util/errors.js';

/** The verifier refused a program. `log` is the verifier's own text (the last lines explain why). */
export class VerifierError extends BpfkitError {
  readonly program: string;
  readonly log: string;
  readonly errno: string;
  constructor(program: string, errno: string, log: string) {
    const tail = lastLines(log, 12);
    super(`kernel verifier rejected program '${program}' (${errno})${tail ? `:\n${tail}` : ' (no verifier log)'}`, 1);
    this.program = program;
    this.log = log;
    this.errno = errno;
  }
}

/** The running kernel lacks a feature (an unknown command, map type, program type or attach type). */
export class NotSupportedError extends EnvironmentError {
  readonly feature: string;
  readonly errno: string;
  constructor(feature: string, errno: string) {
    super(`the kernel does not support ${feature} (${errno})`);
    this.feature = feature;
    this.errno = errno;
  }
}

/**
 * Why root got EPERM/EACCES: not a missing privilege. Lockdown is read without mounting anything (an
 * error is no place for side effects); the other causes cannot be told apart from here.
 */
function refusedToRoot(): string {
  let mode: string | undefined;
  try {
    mode = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/security/lockdown', 'utf8'))?.[1];
  } catch {
    mode = undefined;
  }
  const lockdown = mode && mode !== 'none' ? `kernel lockdown (${mode}), ` : '';
  return (
    `refused although running as root: not a missing privilege, but ${lockdown}an LSM policy, the ` +
    'capabilities of this user namespace, or a kernel rule on this operation (bpffs refuses names with a dot)'
  );
}

/** A bpf(2) or socket operation refused with EPERM/EACCES: missing privilege, or (as root) what else it can be. */
export class PermissionError extends EnvironmentError {
  readonly errno: string;
  constructor(what: string, errno: string) {
    const root = typeof process.geteuid === 'function' && process.geteuid() === 0;
    super(`${what}: ${errno}: ${root ? refusedToRoot() : 'needs root or CAP_BPF/CAP_NET_ADMIN'}`);
    this.errno = errno;
  }
}

/** Any other kernel refusal: names the operation and the errno. */
export class KernelError extends BpfkitError {
  readonly errno: string;
  readonly code: number;
  constructor(what: string, errno: string, code: number, detail?: string) {
    super(`${what} failed: ${errno}${detail ? ` (${detail})` : ''}`, 1);
    this.errno = errno;
    this.code = code;
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\0+$/, '').trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}
