/**
 * The URL filters' objects, parsed ahead of time and kept beside them (src/apps/http/bpf/*.spec.json).
 * `bpfkit urls` loads its filter at every start, and parsing the ELF object — with the modules of the
 * ELF and BTF readers, which nothing else on a capture file's path needs — costs some tens of
 * milliseconds of CPU per run; reading the cache is one JSON.parse.
 *
 * A cache carries a digest of the object it was made from and is used only for exactly that object:
 * when the object beside it was rebuilt (or the cache is missing or unreadable), the object is parsed
 * as before, so a stale cache can cost time but never change what runs. tools/build-http-bpf.sh writes
 * the caches; test/http/filter-spec-cache.test.ts checks that each committed cache is current and gives
 * what the parser gives.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ObjectSpec } from '../../elf/spec.js';

/** What a cache file holds: the object's digest and its spec (without `path`, set when read). */
interface SpecCacheFile {
  digest: string;
  spec: ObjectSpec;
}

/** The cache file of the filter object at `objectPath`. */
export function specCachePath(objectPath: string): string {
  return objectPath.replace(/\.o$/, '') + '.spec.json';
}

/**
 * The spec of the object `bytes` (read from `objectPath`) from its cache, or undefined when there is
 * no cache for exactly these bytes (the caller parses the object then).
 */
export function readCachedSpec(objectPath: string, bytes: Uint8Array): ObjectSpec | undefined {
  const file = specCachePath(objectPath);
  if (!existsSync(file)) return undefined;
  let cache: SpecCacheFile;
  try {
    cache = revive(JSON.parse(readFileSync(file, 'utf8')) as unknown) as SpecCacheFile;
  } catch {
    return undefined; // unreadable: the object itself is the truth
  }
  if (cache === null || typeof cache !== 'object' || cache.digest !== digest(bytes)) return undefined;
  return { ...cache.spec, path: objectPath };
}

/** The text of the cache for `spec`, parsed from the object `bytes`. */
export function specCacheText(spec: ObjectSpec, bytes: Uint8Array): string {
  const { path: _path, ...rest } = spec;
  const file: SpecCacheFile = { digest: digest(bytes), spec: rest };
  return JSON.stringify(file, replace) + '\n';
}

/** Parse each object in `objectPaths` and write its cache beside it (tools/build-http-bpf.sh). */
export async function writeSpecCaches(objectPaths: readonly string[]): Promise<void> {
  const { parseObject } = await import('../../elf/index.js');
  for (const path of objectPaths) {
    const bytes = new Uint8Array(readFileSync(path));
    writeFileSync(specCachePath(path), specCacheText(parseObject(bytes, path), bytes));
  }
}

/**
 * The object's length and two 32-bit multiplicative hashes of its bytes. It tells a rebuilt object from
 * the one a cache was made from (a 1-in-2^64 accident aside); nothing here guards against a forged file,
 * which could as well be a forged object. (Not node:crypto: importing it costs more CPU than the
 * whole cache saves on a small capture.)
 */
function digest(bytes: Uint8Array): string {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return `${bytes.length}:${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}`;
}

/** JSON has no bytes: a Uint8Array (BTF, map contents) is written as { u8: base64 }. */
function replace(_key: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return { u8: Buffer.from(v).toString('base64') };
  // anything else that JSON would not give back as it was must fail the writer, not the reader
  if (typeof v === 'bigint' || (ArrayBuffer.isView(v) && !(v instanceof Uint8Array)) || v instanceof Map)
    throw new Error(`a filter spec holds a value JSON cannot keep (${typeof v})`);
  return v;
}

/**
 * The parsed cache with every { u8: base64 } in it made a Uint8Array again (what `replace` wrote). A walk
 * over the parsed tree, not a JSON.parse reviver: the reviver is called for each of the ~7,000 values of
 * the full filter's cache, ~1.1 ms more of every start-up than this walk, which visits only objects.
 * Objects are revived in place (the tree is the parse's own).
 */
function revive(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if (typeof o.u8 === 'string') {
    const b = Buffer.from(o.u8, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (x !== null && typeof x === 'object') v[i] = revive(x);
    }
    return v;
  }
  for (const k in o) {
    const x = o[k];
    if (x !== null && typeof x === 'object') o[k] = revive(x);
  }
  return v;
}
