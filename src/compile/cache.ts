/**
 * The compile cache: objects keyed by a hash of everything that decides their bytes (clang's version, the
 * target, the flags, the shipped headers, the source), kept with the list of other files the compile read
 * (`clang -MD`) and their hashes, so an edit to an included header also misses. Writes go to a temporary
 * name and are renamed into place, so two processes compiling the same source never see half a file.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The cache directory: BPFKIT_CACHE_DIR, else $XDG_CACHE_HOME/bpfkit, else ~/.cache/bpfkit. */
export function cacheDir(): string {
  if (process.env.BPFKIT_CACHE_DIR) return process.env.BPFKIT_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'bpfkit');
}

/** Hex SHA-256 of `data`. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Hex SHA-256 of the regular file at `file`, or undefined when it is anything else: a compile may include a
 * device or a FIFO (`#include "/dev/zero"`, which clang reads as empty), and reading one to hash it would
 * never end. Such a compile is not cached.
 */
export function fileDigest(file: string): string | undefined {
  if (!statSync(file).isFile()) return undefined;
  return sha256(readFileSync(file));
}

/** Write `data` to `file` atomically (temporary name in the same directory, then rename). */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** What the cache keeps beside an object: the files the compile read, with their content hashes. */
export interface CacheManifest {
  deps: { path: string; sha256: string }[];
}

/** The object cached under `key`, if it is there and every file it was built from is unchanged. */
export function lookupObject(dir: string, key: string): Uint8Array | undefined {
  let manifest: CacheManifest;
  let bytes: Uint8Array;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'obj', `${key}.json`), 'utf8')) as CacheManifest;
    bytes = readFileSync(path.join(dir, 'obj', `${key}.o`));
  } catch {
    return undefined;
  }
  for (const dep of manifest.deps) {
    try {
      if (fileDigest(dep.path) !== dep.sha256) return undefined;
    } catch {
      return undefined;
    }
  }
  return bytes;
}

/** Record an object and its manifest under `key` (manifest last: an object without one is never used). */
export function storeObject(dir: string, key: string, bytes: Uint8Array, manifest: CacheManifest): void {
  writeAtomic(path.join(dir, 'obj', `${key}.o`), bytes);
  writeAtomic(path.join(dir, 'obj', `${key}.json`), JSON.stringify(manifest));
}

/**
 * The files a Makefile rule from `clang -MD` names as prerequisites (the first is the source itself).
 * Spaces inside names are escaped with a backslash, and long rules continue with `\` at line ends.
 */
export function parseDepFile(text: string): string[] {
  const body = text.replace(/\\\r?\n/g, ' ');
  const colon = body.indexOf(': ');
  if (colon < 0) return [];
  const out: string[] = [];
  for (const m of body.slice(colon + 2).matchAll(/(?:\\ |[^\s])+/g)) out.push(m[0].replace(/\\ /g, ' '));
  return out;
}
