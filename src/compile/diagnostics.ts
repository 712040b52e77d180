/**
 * clang's diagnostics, read back into places in the user's source. clang prints
 * `FILE:LINE:COL: error: MESSAGE` (then the source line and a caret); a string compiled by bpfkit carries a
 * `#line 1 "NAME"` directive, so its lines already read as the user's own, and the shipped headers'
 * scratch directory is shown as `<bpfkit>/`.
 */
import { InputError } from '../util/errors.js';

/** One diagnostic clang printed. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning' | 'note' | 'fatal error';
  message: string;
}

const DIAG = /^(.*?):(\d+):(\d+): (fatal error|error|warning|note): (.*)$/;

/** Every `file:line:col: severity: message` line of clang's stderr, with `hide` (a scratch dir) replaced by `<bpfkit>`. */
export function parseDiagnostics(stderr: string, hide?: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const raw of stderr.split('\n')) {
    const m = DIAG.exec(raw);
    if (!m) continue;
    let file = m[1]!;
    if (hide && file.startsWith(hide)) file = `<bpfkit>${file.slice(hide.length)}`;
    out.push({
      file,
      line: Number(m[2]),
      column: Number(m[3]),
      severity: m[4] as Diagnostic['severity'],
      message: m[5]!,
    });
  }
  return out;
}

/** C that does not compile: the first error as the one-line message, every diagnostic kept for callers. */
export class CompileError extends InputError {
  constructor(
    message: string,
    where: string | undefined,
    readonly diagnostics: Diagnostic[],
    /** clang's whole stderr (source excerpts and carets included). */
    readonly output: string,
  ) {
    super(message, where);
  }
}

/** The CompileError for a failed clang run: where the first error is, what it says, and how many more there are. */
export function compileError(stderr: string, fallbackFile: string, hide?: string): CompileError {
  return errorFromDiagnostics(parseDiagnostics(stderr, hide), fallbackFile, stderr);
}

/**
 * The CompileError for diagnostics already parsed (and perhaps moved, as BCC's rewrite moves columns
 * back): the first error at its place, how many more there were; clang's last line when it named none.
 */
export function errorFromDiagnostics(diags: Diagnostic[], fallbackFile: string, stderr: string): CompileError {
  const errors = diags.filter((d) => d.severity === 'error' || d.severity === 'fatal error');
  const first = errors[0];
  if (!first) {
    const line = stderr.trim().split('\n').pop() ?? 'clang failed';
    return new CompileError(`clang failed: ${line}`, fallbackFile, diags, stderr);
  }
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
  return new CompileError(`${first.message}${more}`, `${first.file}:${first.line}:${first.column}`, diags, stderr);
}
