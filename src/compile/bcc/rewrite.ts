/**
 * BCC's C dialect rewritten into C that clang compiles against bpfkit's bcc.h, without adding or removing a
 * newline (clang's line numbers stay the user's; the columns an edit moves are mapped back by `mapColumn`).
 *
 * - Tables: the BPF_* declaration macros name them; `NAME.method(args)` becomes `__bcc_method(NAME, args)`
 *   (bcc.h gives each method BCC's meaning), `NAME.key`/`NAME.leaf` the key and value types' lvalues, and
 *   BPF_TABLE's type string ("hash") a token bcc.h dispatches on.
 * - Programs: as in BCC, every top-level function definition that is not static or inline is a program.
 *   `kprobe__F`, `kretprobe__F`, `tracepoint__C__E` and `raw_tracepoint__E` name their attach point; any other
 *   gets the section `bcc/NAME`, whose program type is given at load (BPF.fromBcc's `types`).
 * - Extra probe arguments after a `struct pt_regs *ctx` are read from its registers (probe-args.ts).
 * - Refused, in one line at the place: what BCC does by rewriting the AST (packet-header structs through
 *   `cursor_advance`, kernel pointers dereferenced as if they were the program's memory), unknown table
 *   methods, the table macros bpfkit does not provide.
 */
import { CompileError } from '../diagnostics.js';
import { LineIndex, tokenize, type Token } from './tokens.js';
import { BCC_KERNEL_HEADERS } from './header.js';
import { probeArgEdits, type TextEdit } from './probe-args.js';

/** The table methods bcc.h implements (BCC's names). */
export const BCC_METHODS = [
  'lookup',
  'lookup_or_init',
  'lookup_or_try_init',
  'update',
  'insert',
  'delete',
  'increment',
  'atomic_increment',
  'perf_submit',
  'perf_submit_skb',
  'ringbuf_output',
  'ringbuf_reserve',
  'ringbuf_submit',
  'ringbuf_discard',
  'call',
  'push',
  'pop',
  'peek',
  'redirect_map',
  'get_stackid',
] as const;

/** BPF_TABLE's type strings bcc.h knows (BCC's "maps/<type>" sections that create a map). */
export const BCC_TABLE_TYPES = [
  'hash',
  'array',
  'histogram',
  'prog',
  'perf_output',
  'percpu_hash',
  'percpu_array',
  'lru_hash',
  'lru_percpu_hash',
  'stacktrace',
  'devmap',
  'cpumap',
] as const;

/** Declaration macros bcc.h provides, with the index of the argument that names the table. */
const TABLE_MACROS: Record<string, number> = {
  BPF_TABLE: 3,
  BPF_F_TABLE: 3,
  BPF_HASH: 0,
  BPF_ARRAY: 0,
  BPF_HISTOGRAM: 0,
  BPF_PERCPU_HASH: 0,
  BPF_PERCPU_ARRAY: 0,
  BPF_LRU_HASH: 0,
  BPF_PERF_OUTPUT: 0,
  BPF_RINGBUF_OUTPUT: 0,
  BPF_PROG_ARRAY: 0,
  BPF_STACK_TRACE: 0,
  BPF_QUEUE: 0,
  BPF_STACK: 0,
  BPF_DEVMAP: 0,
  BPF_CPUMAP: 0,
};

/** BCC macros bpfkit's dialect leaves out: refused by name rather than failing in clang's words. */
const UNSUPPORTED_MACROS = new Set([
  'BPF_TABLE_PINNED',
  'BPF_TABLE_PUBLIC',
  'BPF_TABLE_SHARED',
  'BPF_TABLE_EXTERN',
  'BPF_HASH_OF_MAPS',
  'BPF_ARRAY_OF_MAPS',
  'BPF_SOCKMAP',
  'BPF_SOCKHASH',
  'BPF_CGROUP_ARRAY',
  'BPF_XSKMAP',
  'BPF_SK_STORAGE',
  'BPF_INODE_STORAGE',
  'BPF_TASK_STORAGE',
  'BPF_CGROUP_STORAGE',
  'BPF_PERCPU_CGROUP_STORAGE',
  'BPF_PERF_ARRAY',
  'BPF_LPM_TRIE',
  'BPF_ARRAY_PINNED',
  'BPF_HASH_PINNED',
  'KFUNC_PROBE',
  'KRETFUNC_PROBE',
  'MODULE_KFUNC_PROBE',
  'MODULE_KRETFUNC_PROBE',
  'LSM_PROBE',
  'BPF_ITER',
  'BPF_PROG',
  'BPF_KPROBE',
  'BPF_KRETPROBE',
]);

/** Specifiers that make a function a subfunction (BCC: static and inline functions are not programs). */
const SUBFUNCTION_SPECIFIERS = new Set(['static', 'inline', '__inline', '__inline__', '__always_inline']);

/** A table the source declares. */
export interface BccTable {
  name: string;
  /** The declaring macro (BPF_HASH, BPF_TABLE, ...). */
  macro: string;
  line: number;
}

/** A program the source defines: its function name and the section the rewrite gave it. */
export interface BccProgram {
  name: string;
  section: string;
  /** True when the section names no program type: BPF.fromBcc must be told it (`types`). */
  untyped: boolean;
}

/** One text replacement on a line: original column and length, and the length of what replaced it. */
interface Edit {
  line: number;
  column: number;
  oldLength: number;
  newLength: number;
}

/** What rewriteBcc returns. */
export interface BccRewrite {
  /** The rewritten source: the same number of lines as the input. */
  text: string;
  tables: BccTable[];
  programs: BccProgram[];
  /** Tracepoints whose context struct (`struct tracepoint__C__E`) the source uses, as [category, event]. */
  tracepoints: [string, string][];
  /** The user's column for a column clang reported on `line` of the rewritten text. */
  mapColumn(line: number, column: number): number;
}

/** The section of an untyped program (its type is given at load). */
export const UNTYPED_SECTION_PREFIX = 'bcc/';

/**
 * Rewrite BCC C. `file` names the source in errors (`file:line:col: message`). `kernelRecords`, the struct
 * and union tags vmlinux.h defines: a program's own definition of one is renamed (privateCopyEdits).
 */
export function rewriteBcc(src: string, file = '<source>', kernelRecords?: ReadonlySet<string>): BccRewrite {
  const toks = tokenize(src);
  // Before the passes below: the probe arguments' declarations are built from the tokens' (renamed) text.
  const renames = kernelRecords ? privateCopyEdits(toks, kernelRecords) : [];
  const lines = new LineIndex(src);
  const fail = (tok: Token | number, message: string): never => {
    const { line, column } = lines.position(typeof tok === 'number' ? tok : tok.start);
    throw new CompileError(message, `${file}:${line}:${column}`, [], '');
  };

  /** Index of the token closing the bracket opened at `open`. */
  const closing = (open: number): number => {
    const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
    const stack: string[] = [];
    for (let j = open; j < toks.length; j++) {
      const t = toks[j]!.text;
      if (toks[j]!.kind !== 'punct') continue;
      if (pairs[t]) stack.push(pairs[t]);
      else if (t === ')' || t === ']' || t === '}') {
        if (stack.pop() !== t) fail(toks[j]!, `unbalanced '${t}'`);
        if (stack.length === 0) return j;
      }
    }
    return fail(toks[open]!, `'${toks[open]!.text}' is never closed`);
  };
  /** The argument token ranges [from, to) of the call whose '(' is at `open` and ')' at `close`. */
  const splitArgs = (open: number, close: number): [number, number][] => {
    const out: [number, number][] = [];
    let from = open + 1;
    for (let j = open + 1; j < close; j++) {
      const t = toks[j]!;
      if (t.kind === 'punct' && (t.text === '(' || t.text === '[' || t.text === '{')) j = closing(j);
      else if (t.kind === 'punct' && t.text === ',') {
        out.push([from, j]);
        from = j + 1;
      }
    }
    if (from < close || out.length > 0) out.push([from, close]);
    return out;
  };

  // Pass 1: the tables, from the declaration macros at file scope.
  const tables: BccTable[] = [];
  const tableNames = new Set<string>();
  const edits: { start: number; end: number; text: string }[] = [...renames];
  let depth = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind === 'punct' && t.text === '{') depth++;
    else if (t.kind === 'punct' && t.text === '}') depth--;
    if (t.kind !== 'id') continue;
    if (UNSUPPORTED_MACROS.has(t.text) && toks[i - 1]?.text !== '.' && toks[i - 1]?.text !== '->')
      fail(t, `${t.text} is not supported by bpfkit's BCC dialect (docs/tracing.md, "BCC's dialect")`);
    const at = TABLE_MACROS[t.text];
    if (at === undefined || toks[i + 1]?.text !== '(') continue;
    if (depth !== 0) fail(t, `${t.text} declares a table: only at file scope`);
    const close = closing(i + 1);
    const args = splitArgs(i + 1, close);
    const nameArg = args[at];
    if (!nameArg || nameArg[1] - nameArg[0] !== 1 || toks[nameArg[0]]!.kind !== 'id')
      fail(t, `${t.text}: argument ${at + 1} must be the table's name`);
    const name = toks[nameArg![0]]!.text;
    if (tableNames.has(name)) fail(toks[nameArg![0]]!, `table '${name}' declared twice`);
    tableNames.add(name);
    tables.push({ name, macro: t.text, line: lines.position(t.start).line });
    if (t.text === 'BPF_TABLE' || t.text === 'BPF_F_TABLE') {
      const [a, b] = args[0] ?? [i + 2, i + 2];
      const type = toks[a]!;
      if (b - a !== 1 || type.kind !== 'str')
        fail(type ?? t, `${t.text}: the first argument is the table type, a string ("hash")`);
      const word = type.text.slice(1, -1);
      if (!(BCC_TABLE_TYPES as readonly string[]).includes(word))
        fail(type, `${t.text}: unknown table type "${word}" (known: ${BCC_TABLE_TYPES.join(', ')})`);
      edits.push({ start: type.start, end: type.end, text: `__bcc_${word}` });
    }
    i = close;
  }

  // Pass 2: table methods and members, programs, refusals.
  const programs: BccProgram[] = [];
  // Calls made inside functions: one to a program is refused once all programs are known.
  const calls: Token[] = [];
  // Function-body closing braces at file scope: the next declaration starts after them.
  const closesFunction = new Set<number>();
  const tracepoints = new Map<string, [string, string]>();
  depth = 0;
  let declStart = 0; // first token of the current file-scope declaration
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind === 'punct') {
      if (t.text === '{' || t.text === '(' || t.text === '[') depth++;
      else if (t.text === '}' || t.text === ')' || t.text === ']') {
        depth--;
        if (depth === 0 && closesFunction.has(i)) declStart = i + 1;
      } else if (t.text === ';' && depth === 0) declStart = i + 1;
      continue;
    }
    if (t.kind !== 'id') continue;
    const prev = toks[i - 1];
    const member = prev?.kind === 'punct' && (prev.text === '.' || prev.text === '->');
    if (
      t.text === 'cursor_advance' ||
      t.text === 'bpf_dext_pkt' ||
      t.text === 'bpf_dins_pkt' ||
      t.text === 'BPF_PACKET_HEADER'
    )
      fail(
        t,
        `${t.text}: BCC's packet-header rewrite (cursor_advance and struct fields read as packet loads) is not supported; read the packet with load_byte/load_half/load_word(skb, offset) or bpf_skb_load_bytes(skb, offset, &buf, len)`,
      );
    if (tracepointStructName(toks, i)) {
      const m = /^tracepoint__(\w+?)__(\w+)$/.exec(t.text)!;
      tracepoints.set(`${m[1]}:${m[2]}`, [m[1]!, m[2]!]);
    }
    if (depth > 0 && !member && toks[i + 1]?.text === '(') calls.push(t);
    if (tableNames.has(t.text) && !member && toks[i + 1]?.text === '.') {
      const m = toks[i + 2];
      if (m?.kind !== 'id') fail(toks[i + 1]!, `'${t.text}.' must be followed by a method name`);
      if (toks[i + 3]?.text === '(') {
        if (!(BCC_METHODS as readonly string[]).includes(m!.text))
          fail(m!, `'${m!.text}' is not a table method bpfkit supports (${BCC_METHODS.join(', ')})`);
        const empty = toks[i + 4]?.text === ')';
        edits.push({ start: t.start, end: toks[i + 3]!.end, text: `__bcc_${m!.text}(${t.text}${empty ? '' : ', '}` });
        i += 2; // the '(' is counted by the loop
        continue;
      }
      if (m!.text === 'key' || m!.text === 'leaf') {
        edits.push({ start: t.start, end: m!.end, text: `(*${t.text}.${m!.text === 'key' ? 'key' : 'value'})` });
        i += 2;
        continue;
      }
      fail(
        m!,
        `'${t.text}.${m!.text}': a table has the members key and leaf and the methods ${BCC_METHODS.join(', ')}`,
      );
    }
    // A function definition at file scope: NAME ( ... ) [attributes] {
    if (depth === 0 && toks[i + 1]?.text === '(' && !member) {
      const close = closing(i + 1);
      let j = close + 1;
      while (toks[j]?.text === '__attribute__' && toks[j + 1]?.text === '(') j = closing(j + 1) + 1;
      if (toks[j]?.text !== '{') continue;
      closesFunction.add(closing(j));
      const specifiers = toks.slice(declStart, i).map((x) => x.text);
      if (t.text === 'TRACEPOINT_PROBE' || t.text === 'RAW_TRACEPOINT_PROBE') {
        const args = splitArgs(i + 1, close).map(([a, b]) => toks.slice(a, b));
        const want = t.text === 'TRACEPOINT_PROBE' ? 2 : 1;
        if (args.length !== want || args.some((a) => a.length !== 1 || a[0]!.kind !== 'id'))
          fail(t, `${t.text} takes ${want === 2 ? '(category, event)' : '(event)'}, plain names`);
        const [c, e] = args.map((a) => a[0]!.text);
        if (want === 2) {
          tracepoints.set(`${c}:${e}`, [c!, e!]);
          programs.push({ name: `tracepoint__${c}__${e}`, section: `tracepoint/${c}/${e}`, untyped: false });
        } else programs.push({ name: `raw_tracepoint__${c}`, section: `raw_tp/${c}`, untyped: false });
        continue;
      }
      // static/inline: a subfunction; SEC(...): a libbpf-style program that names its own section.
      if (specifiers.some((s) => SUBFUNCTION_SPECIFIERS.has(s) || s === 'SEC')) continue;
      const params = splitArgs(i + 1, close);
      // BCC's extra probe arguments: read from the pt_regs context's registers (probe-args.ts).
      if (params.length > 1) edits.push(...probeArgEdits(toks, src, { name: t.text, params, body: j }, fail));
      const section = programSection(t.text);
      programs.push({ name: t.text, section: section ?? `${UNTYPED_SECTION_PREFIX}${t.text}`, untyped: !section });
      const insertAt = toks[declStart]!.start;
      edits.push({
        start: insertAt,
        end: insertAt,
        text: `__attribute__((section("${section ?? UNTYPED_SECTION_PREFIX + t.text}"), used)) `,
      });
    }
  }

  // A program is its own section, loaded on its own: BCC refuses calling one ("cannot call non-static
  // helper function"), and a call across sections would not be the code the user meant.
  const programNames = new Set(programs.map((p) => p.name));
  const call = calls.find((c) => programNames.has(c.text));
  if (call) fail(call, `cannot call ${call.text}: a non-static function is a program; make the helper static`);
  // Kernel headers: BCC compiles against the running kernel's own; bpfkit has its types in vmlinux.h, so an
  // include of one the stub list does not name (<linux/mmzone.h>, <uapi/linux/bpf_perf_event.h>) reads
  // bcc/kernel.h, the same stub. Its macros (PAGE_SHIFT...) are not in BTF: clang then names the first one
  // the program uses, at its line.
  for (const m of src.matchAll(/^[ \t]*#[ \t]*include[ \t]*<((?:linux|uapi|net|asm|asm-generic)\/[^>\n]+)>/gm)) {
    if (BCC_KERNEL_HEADERS.includes(m[1]!)) continue;
    const start = m.index + m[0].length - m[1]!.length - 2; // the `<`
    edits.push({ start, end: start + m[1]!.length + 2, text: '<bcc/kernel.h>' });
  }
  return applyEdits(src, lines, edits, tables, programs, [...tracepoints.values()]);
}

/** The suffix a private kernel struct's copy gets: a CO-RE flavour, which libbpf ignores when it matches names. */
export const PRIVATE_COPY_SUFFIX = '___bcc';

/**
 * BCC tools copy the members they read of a struct private to a kernel source file (`struct nameidata`
 * from fs/namei.c, `struct mnt_namespace` from fs/mount.h), as no installed header has it. vmlinux.h has
 * every struct, so each such copy (a struct or union defined at file scope whose tag is in
 * `kernelRecords`) is renamed in the program, every `struct TAG` of it, to TAG___bcc: the program keeps
 * the layout it wrote, as under BCC, and vmlinux.h its own. The tokens are renamed in place too.
 */
function privateCopyEdits(toks: Token[], kernelRecords: ReadonlySet<string>): TextEdit[] {
  const copies = new Set<string>();
  let depth = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind === 'punct') {
      if (t.text === '{') depth++;
      else if (t.text === '}') depth--;
    } else if (
      depth === 0 &&
      t.kind === 'id' &&
      kernelRecords.has(t.text) &&
      isRecordKeyword(toks[i - 1]) &&
      toks[i + 1]?.text === '{'
    )
      copies.add(t.text);
  }
  const edits: TextEdit[] = [];
  if (copies.size === 0) return edits;
  for (let i = 1; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'id' || !copies.has(t.text) || !isRecordKeyword(toks[i - 1])) continue;
    toks[i] = { ...t, text: t.text + PRIVATE_COPY_SUFFIX };
    edits.push({ start: t.end, end: t.end, text: PRIVATE_COPY_SUFFIX });
  }
  return edits;
}

function isRecordKeyword(t: Token | undefined): boolean {
  return t !== undefined && t.kind === 'id' && (t.text === 'struct' || t.text === 'union');
}

/** True when token `i` is the tag of `struct tracepoint__C__E`. */
function tracepointStructName(toks: Token[], i: number): boolean {
  return toks[i - 1]?.text === 'struct' && /^tracepoint__\w+?__\w+$/.test(toks[i]!.text);
}

/** The section BCC's naming convention gives function `name`, or undefined when it names no attach point. */
export function programSection(name: string): string | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^kprobe__(\w+)$/.exec(name))) return `kprobe/${m[1]}`;
  if ((m = /^kretprobe__(\w+)$/.exec(name))) return `kretprobe/${m[1]}`;
  if ((m = /^tracepoint__(\w+?)__(\w+)$/.exec(name))) return `tracepoint/${m[1]}/${m[2]}`;
  if ((m = /^raw_tracepoint__(\w+)$/.exec(name))) return `raw_tp/${m[1]}`;
  return undefined;
}

function applyEdits(
  src: string,
  lines: LineIndex,
  edits: { start: number; end: number; text: string }[],
  tables: BccTable[],
  programs: BccProgram[],
  tracepoints: [string, string][],
): BccRewrite {
  edits.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  const byLine = new Map<number, Edit[]>();
  for (const e of edits) {
    // An edit inside a span an earlier one replaced (a renamed tag in a blanked probe argument) has no text left to change.
    if (e.start < at) continue;
    out += src.slice(at, e.start);
    const replaced = src.slice(e.start, e.end);
    // Newlines inside the replaced span (a method name on the next line) are kept, after the new text.
    const newlines = replaced.split('\n').length - 1;
    out += e.text + '\n'.repeat(newlines);
    at = e.end;
    const { line, column } = lines.position(e.start);
    if (newlines === 0) {
      const list = byLine.get(line) ?? [];
      list.push({ line, column, oldLength: e.end - e.start, newLength: e.text.length });
      byLine.set(line, list);
    }
  }
  out += src.slice(at);
  return {
    text: out,
    tables,
    programs,
    tracepoints,
    mapColumn(line: number, column: number): number {
      let delta = 0;
      for (const e of byLine.get(line) ?? []) {
        const newStart = e.column + delta;
        if (column < newStart) break;
        if (column < newStart + e.newLength) return e.column;
        delta += e.newLength - e.oldLength;
      }
      return column - delta;
    },
  };
}
