/**
 * tc's batch files (`tc -batch FILE`): one command per line, without the leading `tc`, split into words as
 * iproute2's makeargs does — blanks separate words, "double" or 'single' quotes keep blanks inside one, a
 * backslash escapes the next character, `#` outside quotes starts a comment, and a line ending in a
 * backslash continues on the next. Pure: no file or kernel access.
 */
import { InputError } from '../util/errors.js';

/** One command of a batch: its words and the (first) line it came from. */
export interface BatchCommand {
  line: number;
  words: string[];
}

/** The commands of a batch file's text, blank and comment-only lines left out. */
export function parseBatch(text: string, file = 'batch'): BatchCommand[] {
  const out: BatchCommand[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i]!;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!;
    const words = splitWords(line, `${file}:${first}`);
    if (words.length) out.push({ line: first, words });
  }
  return out;
}

function splitWords(line: string, where: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]!;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i]!;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new InputError(`unterminated ${quote} quote`, where);
  if (word !== undefined) words.push(word);
  return words;
}
