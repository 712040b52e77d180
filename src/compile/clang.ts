/**
 * Finding clang and asking its version. bpfkit runs the clang on PATH (or BPFKIT_CLANG), once per
 * compile; LLVM 11 is the oldest release whose BPF backend emits the BTF map definitions and the
 * instructions bpfkit's loader expects (bounded loops, 32-bit subregisters, atomics).
 */
import { execFileSync } from 'node:child_process';
import { EnvironmentError } from '../util/errors.js';

/** The oldest clang major version bpfkit compiles with. */
export const MIN_CLANG_MAJOR = 11;

/** A clang found on this machine. */
export interface Clang {
  /** The command run (a name looked up on PATH, or BPFKIT_CLANG). */
  path: string;
  /** Its full version line, e.g. "Debian clang version 14.0.6". */
  version: string;
  major: number;
}

let found: Clang | undefined;

/** Parse `clang --version`'s first line into a version line and major number (undefined if it is not clang). */
export function parseClangVersion(text: string): { version: string; major: number } | undefined {
  const line = text.split('\n')[0]?.trim() ?? '';
  const m = /clang version (\d+)\.\d+/.exec(line);
  return m ? { version: line, major: Number(m[1]) } : undefined;
}

/** The clang to run: checked once per process; an EnvironmentError (exit 3) in one line when it is missing or too old. */
export function findClang(): Clang {
  if (found) return found;
  const path = process.env.BPFKIT_CLANG || 'clang';
  let text: string;
  try {
    text = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES')
      throw new EnvironmentError(
        `compiling C needs clang ${MIN_CLANG_MAJOR} or newer on PATH ('${path}' not found; install clang or set BPFKIT_CLANG)`,
      );
    throw new EnvironmentError(`running '${path} --version' failed: ${(err as Error).message.split('\n')[0]}`);
  }
  const v = parseClangVersion(text);
  if (!v) throw new EnvironmentError(`'${path}' is not clang (its --version says: ${text.split('\n')[0]})`);
  if (v.major < MIN_CLANG_MAJOR)
    throw new EnvironmentError(
      `${v.version} is too old to compile BPF programs: bpfkit needs clang ${MIN_CLANG_MAJOR}+`,
    );
  found = { path, ...v };
  return found;
}
