/**
 * BCC's extra probe arguments: `int kprobe__tcp_v4_connect(struct pt_regs *ctx, struct sock *sk)` names the
 * probed function's arguments after the context, and BCC's rewriter reads each from the register the calling
 * convention passes it in. bpfkit does the same as a text edit: the extra parameters are blanked (spaces of
 * the same length, so no column moves) and the body starts with one declaration per argument, read with
 * bcc.h's `PT_REGS_PARMn`. A syscall's own entry (`syscall__NAME`, `kprobe____x64_sys_NAME`) is called with
 * the user's registers saved in a `struct pt_regs` its first argument points at (the syscall wrapper of
 * x86-64 since Linux 4.17 and of arm64): its arguments are read from there, in kernel memory, with
 * `bpf_probe_read_kernel`, as BCC does.
 */
import type { Token } from './tokens.js';

/** A text edit of the source: replace [start, end) by `text`. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** Where a program function's parameters are: token ranges [from, to), and its body's opening brace. */
export interface ProbeFunction {
  name: string;
  /** Token ranges of the parameters (at least two). */
  params: [number, number][];
  /** Index of the body's `{` token. */
  body: number;
}

/** The most arguments the calling conventions bcc.h knows pass in registers (x86-64, arm64). */
const MAX_REGISTER_ARGS = 6;

/** True for the probes of a syscall's wrapped entry, whose arguments sit in a saved `struct pt_regs`. */
function isSyscallEntry(name: string): boolean {
  return /^syscall__\w+$/.test(name) || /^kprobe____(x64|arm64)_sys_\w+$/.test(name);
}

/**
 * The edits that turn a program's extra probe arguments into reads from its `struct pt_regs *` context, or
 * a one-line refusal (`fail(token, message)`) when BCC's convention does not apply.
 */
export function probeArgEdits(
  toks: Token[],
  src: string,
  fn: ProbeFunction,
  fail: (tok: Token, message: string) => never,
): TextEdit[] {
  const [first, ...extra] = fn.params;
  const ctxToks = toks.slice(first![0], first![1]);
  const ctx = ctxToks[ctxToks.length - 1];
  const isPtRegs =
    ctxToks.some((t) => t.text === 'pt_regs') &&
    ctxToks.some((t) => t.text === '*') &&
    ctx !== undefined &&
    ctx.kind === 'id';
  const firstExtra = toks[extra[0]![0]]!;
  if (!isPtRegs)
    fail(
      firstExtra,
      `${fn.name}: extra arguments are probe arguments, read from registers: the first parameter must be 'struct pt_regs *ctx'`,
    );
  if (/^kretprobe__/.test(fn.name))
    fail(
      firstExtra,
      `${fn.name}: at a function's return its argument registers no longer hold the arguments; read PT_REGS_RC(ctx) here and save what the kprobe saw in a table`,
    );
  if (extra.length > MAX_REGISTER_ARGS)
    fail(
      toks[extra[MAX_REGISTER_ARGS]![0]]!,
      `${fn.name}: only the first ${MAX_REGISTER_ARGS} arguments are passed in registers`,
    );
  const syscall = isSyscallEntry(fn.name);
  const decls: string[] = [];
  extra.forEach(([from, to], i) => {
    const name = toks[to - 1]!;
    const typeToks = toks.slice(from, to - 1);
    if (name.kind !== 'id' || typeToks.length === 0 || typeToks.some((t) => t.kind !== 'id' && t.text !== '*'))
      fail(
        toks[from]!,
        `${fn.name}: a probe argument is declared as 'TYPE NAME' (a scalar or a pointer; no arrays or function pointers)`,
      );
    const type = typeToks.map((t) => t.text).join(' ');
    const n = i + 1;
    if (syscall) {
      // (read whole, then cast: right for any argument width and byte order)
      const raw = `__bcc_arg${n}`;
      decls.push(
        `unsigned long ${raw} = 0; bpf_probe_read_kernel(&${raw}, sizeof(${raw}), &__BCC_SYSCALL_PARM${n}((struct pt_regs *)PT_REGS_PARM1(${ctx.text}))); ${type} ${name.text} = (${type})${raw};`,
      );
    } else decls.push(`${type} ${name.text} = (${type})PT_REGS_PARM${n}(${ctx.text});`);
  });
  const edits: TextEdit[] = [];
  // The extra parameters, from the comma after the context to the last one's end, become spaces line by
  // line: the newlines stay, and so does every column clang may report.
  const blankFrom = toks[first![1]]!.start;
  const blankTo = toks[extra[extra.length - 1]![1] - 1]!.end;
  let at = blankFrom;
  for (const part of src.slice(blankFrom, blankTo).split('\n')) {
    if (part.length > 0) edits.push({ start: at, end: at + part.length, text: ' '.repeat(part.length) });
    at += part.length + 1;
  }
  const brace = toks[fn.body]!;
  edits.push({ start: brace.end, end: brace.end, text: ` ${decls.join(' ')}` });
  return edits;
}
