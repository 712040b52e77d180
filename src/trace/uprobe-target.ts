/**
 * Naming a uprobe target the way BCC and libbpf users do: a binary path or a library name ("c" or
 * "libc" finds the libc this process — or process `pid` — has mapped), and a function symbol, resolved
 * to a file offset in TypeScript (elf-symbols.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { findFunction } from './elf-symbols.js';

/**
 * The file a uprobe goes into: an absolute or relative path as given, or a library mapped by `pid`
 * (default: us). A process that has not mapped it yet (just spawned) gets the library this process maps:
 * a uprobe sits on the file, so it fires once that process maps the same file.
 */
export function resolveBinary(name: string, pid?: number): string {
  if (name.includes('/')) return path.resolve(name);
  if (pid !== undefined) {
    try {
      return mappedLibrary(name, pid);
    } catch {
      return mappedLibrary(name, undefined);
    }
  }
  return mappedLibrary(name, undefined);
}

function mappedLibrary(name: string, pid: number | undefined): string {
  const lib = name.startsWith('lib') ? name : `lib${name}`;
  let maps = '';
  try {
    maps = readFileSync(`/proc/${pid ?? 'self'}/maps`, 'utf8');
  } catch {
    throw new InputError(`cannot read /proc/${pid ?? 'self'}/maps to find ${lib}`);
  }
  for (const line of maps.split('\n')) {
    const file = line.split(/\s+/)[5];
    if (!file?.startsWith('/')) continue;
    const base = path.basename(file);
    if (base === lib || base.startsWith(`${lib}.so`) || base.startsWith(`${lib}-`)) return file;
  }
  throw new InputError(`no library '${name}' mapped by ${pid ? `process ${pid}` : 'this process'} (give its path)`);
}

/** The file and file offset of `symbol` in `binary` (a path or library name). */
export function resolveUprobe(binary: string, symbol: string, pid?: number): { path: string; offset: number } {
  const file = resolveBinary(binary, pid);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
  }
  return { path: file, offset: findFunction(bytes, symbol, file).offset };
}
