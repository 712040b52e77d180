/**
 * Errors that bpfkit reports to users. Every failure a user can cause (bad input, bad usage, a program
 * that misbehaves in the VM, a kernel refusal) is one of these, so the CLI can print one clear line and
 * exit with the right status instead of a stack trace.
 *
 * Exit statuses: 1 = the job ran and found a failure (a test failed, a program faulted),
 * 2 = usage or input error (bad flags, malformed file), 3 = environment (missing privilege, kernel feature).
 */
export class BpfkitError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Wrong flags or arguments on the command line. */
export class UsageError extends BpfkitError {
  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * Malformed input: a file, a line of assembly, a capture, an object. `where` names the place:
 * `file:line`, `file@offset`, `section+offset`, `pc 12` — whatever locates it best.
 */
export class InputError extends BpfkitError {
  readonly where: string | undefined;
  constructor(message: string, where?: string) {
    super(where ? `${where}: ${message}` : message, 2);
    this.where = where;
  }
}

/** The machine lacks something: a privilege, a kernel feature, a system tool. */
export class EnvironmentError extends BpfkitError {
  constructor(message: string) {
    super(message, 3);
  }
}

/** Render any thrown value as one line; never a stack trace unless BPFKIT_DEBUG is set. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    if (process.env.BPFKIT_DEBUG && err.stack) return err.stack;
    return err.message;
  }
  return String(err);
}

export function exitCodeOf(err: unknown): number {
  return err instanceof BpfkitError ? err.exitCode : 70; // 70: EX_SOFTWARE, an internal bug
}
