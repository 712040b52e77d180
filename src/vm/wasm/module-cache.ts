/**
 * A compiled-module cache across processes, seen from the engine: the 'wasm' engine asks a host-given
 * {@link ModuleCache} for a program's code-generation output before it runs compile.ts, and stores what
 * compile.ts wrote after a miss. In a fresh process bpfkit's code generator runs unoptimised (3-4 ms for
 * 1,000 instructions on an idle machine, 15 on a busy one, where a warm one takes 0.5), so the second
 * `bpfkit run` of a program finds the module bytes instead of writing them again. src/vm stays free of Node APIs: the store itself (files,
 * src/loader/module-cache-files.ts; or anything a browser host offers) is the host's.
 *
 * Exactness. compileToWasm's output (the module's bytes, the block of each pc, the stack bytes the module
 * may write) is a function of: the program's instruction columns (code, dst, src, off, imm and imm2, the
 * last two holding the lddw constants the host resolved: map handles, map-value addresses), its slot
 * count, its program id (the module stores it in MEM_CURRENT), the stack floor engine.ts hands it (what
 * the tail-call targets write), whether the WebAssembly engine takes return_call_indirect (tail-call.ts's
 * probe, which picks the tail call's form), and the code generator's own code. Nothing else reaches it:
 * region addresses, map tables, packets, helpers and the budget are read from linear memory at run time.
 * All but the last are serialized into one byte string (`codegenInput`), the key the store is asked
 * with, and an entry holds that input beside the output: a hit must carry the identical input, word for
 * word, so a collision of the store's hash is a miss, never someone else's module. The code generator's code is the store's to separate
 * (the file store names entries by a hash of the compiled files of compile.ts's import closure), and
 * ENTRY_FORMAT below changes with this file's layout. Anything that does not decode exactly (short,
 * foreign, for another input) is a miss, and the program is compiled again; the output's bytes are the
 * store's to keep whole (ModuleCache).
 */
import type { LoadedProgram } from '../interpreter-program.js';
import { compileToWasm, MAX_SLOTS, type WasmProgram } from './compile.js';
import { returnCalls, TAIL_CALL } from './tail-call.js';

/**
 * Where compiled modules are kept between processes. Both calls may fail in any way (a throw, an
 * undefined): the engine then compiles as if there were no cache. The key is the complete
 * code-generation input (`codegenInput`: about 15 bytes per instruction), which a store names its entry
 * by, through any hash it likes. `get` returns an entry `set` was given, byte for byte, or undefined: a
 * store that cannot vouch for an entry's bytes (a torn or damaged file) must not return it — the file
 * store checks a SHA-256 of each. The engine checks the rest: that the entry is one of its own, whole,
 * and holds the very same input, so a store may return another key's entry (a hash collision) and it
 * is a miss. A store shared by different versions of bpfkit must keep their entries apart (see the
 * file comment).
 */
export interface ModuleCache {
  /** The entry stored for `input`, if there is one. */
  get(input: Uint8Array): Uint8Array | undefined;
  /** Store `entry` for `input` (the engine keeps neither: the store may take them). */
  set(input: Uint8Array, entry: Uint8Array): void;
}

/** Changes whenever the input or entry layout below changes. */
const ENTRY_FORMAT = 1;
/** First word of an entry ('BPFW' in a little-endian file; a big-endian reader sees another number: a miss). */
const ENTRY_MAGIC = 0x57465042;
/** Words before the input: magic, format, input bytes, stack bytes, blockOf words, module bytes. */
const HEAD = 6;
/** Words of the input before the columns: format, slots, id, stack floor, return calls. */
const INPUT_HEAD = 5;

/** The bytes of an integer column. */
const bytesOf = (a: Int32Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Everything compileToWasm reads besides its own code (see the file comment), as bytes: five int32s
 * (format, slots, program id, stack floor, whether return_call_indirect is used), then the off, imm and
 * imm2 columns (int32s) and the code, dst and src columns (bytes), zero-padded to whole int32s. Only
 * tail-call sites (a call of helper 12) ask the WebAssembly engine whether it takes return calls, so a
 * program with no 12 in its imm column gets 2 there and the probe (a module compile) is not run for it.
 */
export function codegenInput(p: LoadedProgram, stackFloor: number): Uint8Array {
  const n = p.slots;
  const input = new Uint8Array(4 * INPUT_HEAD + 15 * n + ((4 - ((15 * n) % 4)) % 4));
  const head = new Int32Array(input.buffer, 0, INPUT_HEAD);
  head[0] = ENTRY_FORMAT;
  head[1] = n;
  head[2] = p.id;
  head[3] = stackFloor;
  head[4] = p.imm.includes(TAIL_CALL) ? (returnCalls() ? 1 : 0) : 2;
  let o = 4 * INPUT_HEAD;
  for (const column of [p.off, p.imm, p.imm2, p.code, p.dst, p.src]) {
    input.set(bytesOf(column), o);
    o += column.byteLength;
  }
  return input;
}

/** An entry: the input it was compiled from, then the output. */
export function writeEntry(input: Uint8Array, out: WasmProgram): Uint8Array {
  const words = HEAD + input.length / 4 + out.blockOf.length;
  const entry = new Uint8Array(4 * words + out.bytes.length);
  const w = new Int32Array(entry.buffer, 0, words);
  w[0] = ENTRY_MAGIC;
  w[1] = ENTRY_FORMAT;
  w[2] = input.length;
  w[3] = out.stackBytes;
  w[4] = out.blockOf.length;
  w[5] = out.bytes.length;
  entry.set(input, 4 * HEAD);
  w.set(out.blockOf, HEAD + input.length / 4);
  entry.set(out.bytes, 4 * words);
  return entry;
}

/** The output an entry holds for exactly `input`, or undefined (another input, a foreign or damaged entry). */
export function readEntry(entry: Uint8Array, input: Uint8Array): WasmProgram | undefined {
  if (entry.length < 4 * HEAD) return undefined;
  // (a store may hand back a view at any byte offset: an Int32Array needs 4-byte alignment)
  const e = entry.byteOffset % 4 === 0 ? entry : entry.slice();
  const head = new Int32Array(e.buffer, e.byteOffset, HEAD);
  const [magic, format, inputBytes, stackBytes, blockWords, moduleBytes] = head as unknown as number[];
  if (magic !== ENTRY_MAGIC || format !== ENTRY_FORMAT || inputBytes !== input.length) return undefined;
  const inputWords = input.length / 4;
  const want = new Int32Array(input.buffer, input.byteOffset, inputWords);
  const slots = want[1] as number;
  if (blockWords !== slots + 1 || !(stackBytes! >= 0) || !(moduleBytes! >= 8)) return undefined;
  const words = HEAD + inputWords + blockWords;
  if (e.length !== 4 * words + moduleBytes!) return undefined;
  const w = new Int32Array(e.buffer, e.byteOffset, words);
  for (let i = 0; i < inputWords; i++) if (w[HEAD + i] !== want[i]) return undefined;
  const blockOf = w.slice(HEAD + inputWords, words);
  // block numbers are what the engine indexes the module's dispatch with: each -1 or below the slot count
  for (let i = 0; i < blockWords; i++) {
    const b = blockOf[i] as number;
    if (b < -1 || b > slots) return undefined;
  }
  const bytes = e.slice(4 * words);
  return { bytes, blockOf, stackBytes: stackBytes! };
}

/**
 * compileToWasm through `cache`: the stored output when an entry for this exact input exists, else a
 * compile whose output is stored. Refusals (strings) are not stored: they come from size checks.
 */
export function compileCached(
  p: LoadedProgram,
  stackFloor: number,
  cache: ModuleCache | undefined,
): WasmProgram | string {
  if (cache === undefined || p.slots > MAX_SLOTS) return compileToWasm(p, stackFloor);
  const input = codegenInput(p, stackFloor);
  try {
    const entry = cache.get(input);
    const hit = entry instanceof Uint8Array ? readEntry(entry, input) : undefined;
    if (hit !== undefined) return hit;
  } catch {
    // (a store that fails is no store: compile)
  }
  const out = compileToWasm(p, stackFloor);
  if (typeof out !== 'string') {
    try {
      cache.set(input, writeEntry(input, out));
    } catch {
      // (nothing stored: the next process compiles again)
    }
  }
  return out;
}
