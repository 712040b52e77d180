/**
 * A C tokenizer just good enough to rewrite BCC's dialect: identifiers, numbers, string and character
 * literals and punctuators with their offsets. Comments and whitespace are skipped, and so are
 * preprocessor lines (with their backslash continuations): the rewriter must never touch text inside a
 * comment, a string or a directive.
 */

/** One token: its kind, its text and where it sits in the source (offsets into the string). */
export interface Token {
  kind: 'id' | 'num' | 'str' | 'char' | 'punct';
  text: string;
  start: number;
  end: number;
}

const ID_START = /[A-Za-z_$]/;
const ID_PART = /[A-Za-z0-9_$]/;
/** Multi-character punctuators the rewriter needs to see as one token (`->` before `-`, `...` before `.`). */
const PUNCT = [
  '...',
  '<<=',
  '>>=',
  '->',
  '++',
  '--',
  '<<',
  '>>',
  '<=',
  '>=',
  '==',
  '!=',
  '&&',
  '||',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '##',
];

/** The tokens of `src`, outside comments and preprocessor lines. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  // True while only whitespace (or comments) has been seen since the last newline: a '#' there starts a directive.
  let lineStart = true;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === '\n') {
      lineStart = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i += src[i] === '\\' && src[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const close = src.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (c === '#' && lineStart) {
      // The directive runs to the first newline not escaped by a backslash; comments inside it are skipped
      // with it (a block comment may even carry it onto the next line).
      while (i < n && src[i] !== '\n') {
        if (src[i] === '\\' && src[i + 1] === '\n') i += 2;
        else if (src[i] === '\\' && src[i + 1] === '\r' && src[i + 2] === '\n') i += 3;
        else if (src[i] === '/' && src[i + 1] === '*') {
          const close = src.indexOf('*/', i + 2);
          i = close < 0 ? n : close + 2;
        } else if (src[i] === '/' && src[i + 1] === '/') {
          while (i < n && src[i] !== '\n') i++;
        } else i++;
      }
      continue;
    }
    lineStart = false;
    const start = i;
    // An encoding prefix glued to a literal (L"x", u8"x") belongs to the literal.
    const prefix = /^(?:u8|[LuU])(?=["'])/.exec(src.slice(i, i + 3))?.[0];
    if (prefix) i += prefix.length;
    const q = src[i]!;
    if (q === '"' || q === "'") {
      i++;
      while (i < n && src[i] !== q && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
      i = Math.min(n, i + 1);
      out.push({ kind: q === '"' ? 'str' : 'char', text: src.slice(start, i), start, end: i });
      continue;
    }
    if (ID_START.test(c)) {
      while (i < n && ID_PART.test(src[i]!)) i++;
      out.push({ kind: 'id', text: src.slice(start, i), start, end: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      // A pp-number: digits, letters, dots, and signs after an exponent letter.
      i++;
      while (i < n && (/[A-Za-z0-9_.]/.test(src[i]!) || (/[+-]/.test(src[i]!) && /[eEpP]/.test(src[i - 1]!)))) i++;
      out.push({ kind: 'num', text: src.slice(start, i), start, end: i });
      continue;
    }
    const p = PUNCT.find((s) => src.startsWith(s, i)) ?? c;
    i += p.length;
    out.push({ kind: 'punct', text: p, start, end: i });
  }
  return out;
}

/** Line and column (both from 1) of each offset of a text. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.starts.push(i + 1);
  }

  /** Where offset `at` is, as clang counts (columns in bytes of the line; the sources here are ASCII in practice). */
  position(at: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - this.starts[lo]! + 1 };
  }
}
