/**
 * The debugger at a terminal: tab completion of commands and file names, and a history kept between
 * sessions in ~/.cache/bpfkit/dbg_history (bpf_dbg keeps ~/.bpf_dbg_history; bpfkit keeps its files
 * under ~/.cache/bpfkit), newest last, at most HISTORY_SIZE lines.
 */
import { appendFileSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Lines of history kept. */
export const HISTORY_SIZE = 500;

/** The commands, for completion (cbpf-dbg.ts lists what they do). */
export const COMMAND_NAMES = [
  'load',
  'select',
  'step',
  'continue',
  'run',
  'breakpoint',
  'registers',
  'packet',
  'maps',
  'disassemble',
  'dump',
  'help',
  'quit',
] as const;

/** Where the history lives. */
export function historyPath(): string {
  return join(homedir(), '.cache', 'bpfkit', 'dbg_history');
}

/** The saved history, newest first (readline's order); none when there is no file yet. */
export function readHistory(path = historyPath()): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).slice(-HISTORY_SIZE).reverse();
}

/** Add one line to the saved history; the reason (one line) when it cannot be written. */
export function appendHistory(line: string, path = historyPath()): string | undefined {
  try {
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `${line}\n`);
    return undefined;
  } catch (err) {
    return `cannot save history in ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** readline's completer: [candidates, the text they replace]. */
export function completeLine(line: string): [string[], string] {
  const words = line.trimStart().split(/\s+/);
  const last = words.at(-1) ?? '';
  const among = (options: readonly string[]) => {
    const hits = options.filter((o) => o.startsWith(last));
    return [hits.length ? hits.map((h) => `${h} `) : [], last] as [string[], string];
  };
  if (words.length === 1) return among(COMMAND_NAMES);
  if (words[0] === 'load' && words.length === 2) return among(['bpf', 'ebpf', 'pcap']);
  if (words[0] === 'load' && words.length === 3) return [fileNames(last), last];
  if (words[0] === 'breakpoint' && words.length === 2) return among(['reset']);
  return [[], last];
}

/** Paths that start with `partial`, directories with a trailing '/'. */
function fileNames(partial: string): string[] {
  const slash = partial.lastIndexOf('/');
  const dir = slash >= 0 ? partial.slice(0, slash + 1) : '';
  const base = partial.slice(slash + 1);
  let names: string[];
  try {
    names = readdirSync(dir === '' ? '.' : dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(base) && (base.startsWith('.') || !n.startsWith('.')))
    .sort()
    .map((n) => {
      const path = dir + n;
      try {
        return statSync(path).isDirectory() ? `${path}/` : path;
      } catch {
        return path;
      }
    });
}
