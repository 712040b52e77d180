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
    // Messages quote names taken from the input (section, symbol, map names), which a malformed file can
    // fill with newlines and escape sequences: escaped here, the error stays one line on any terminal.
    super(oneLine(where ? `${where}: ${message}` : message), 2);
    this.where = where;
  }
}

/** `text` with control characters written as escapes (`\n`, `\x1b`), so it prints as one line. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this escapes
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
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
    // (through globalThis: this module is also loaded in browsers, which have no process)
    const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
    if (env?.BPFKIT_DEBUG && err.stack) return err.stack;
    return clipLongLines(err.message);
  }
  return clipLongLines(String(err));
}

/** Longest line describeError prints whole. */
const MAX_LINE = 400;

/**
 * Messages quote the input they choke on (`unknown mnemonic '...'`), and hostile input can make that a
 * single megabyte-long token: a line longer than MAX_LINE keeps its start (where the file, line and
 * column are) and its end (where a hint may follow the quote), and says how much was left out between.
 */
export function clipLongLines(text: string): string {
  if (text.length <= MAX_LINE) return text;
  return text
    .split('\n')
    .map((line) =>
      line.length <= MAX_LINE
        ? line
        : `${line.slice(0, 300)} ... (${line.length - 360} characters left out) ... ${line.slice(-60)}`,
    )
    .join('\n');
}

export function exitCodeOf(err: unknown): number {
  return err instanceof BpfkitError ? err.exitCode : 70; // 70: EX_SOFTWARE, an internal bug
}
