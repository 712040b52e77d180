/**
 * Keeps the URL filter's WebAssembly on V8's baseline compiler (Liftoff). By default V8 recompiles a
 * hot wasm function with its optimizing compiler (TurboFan) in the background; the filter's module has
 * one large function (the whole program as a block dispatch loop), and TurboFan spends about 0.3 s of
 * CPU and 40 MB on it — more than the filter costs on a 150 MB capture in total, for code that runs
 * only some 15% faster. So the module is made (and its first functions compiled) while
 * `--liftoff-only` is set: V8 decides a module's tiering when it creates it, and the flag is set back
 * at once, so other WebAssembly in the process tiers up as usual.
 */
import { setFlagsFromString } from 'node:v8';
import type { Program } from '../../engine/types.js';

/**
 * Run `program` once on an empty frame with V8's optimizing wasm tier switched off, which makes the VM
 * compile its module (on the 'wasm' engine; other engines just run). The filters start with an
 * LD_ABS that an empty frame fails, so the run ends at once, touching no map.
 */
export function compileOnBaselineTier(program: Program): void {
  if (!program.runPacket) return;
  // (the user asked for Liftoff only already, or asked V8 for something we should not undo)
  const asked = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (/liftoff/.test(asked)) {
    program.runPacket(new Uint8Array(0));
    return;
  }
  let set = false;
  try {
    setFlagsFromString('--liftoff-only');
    set = true;
  } catch {
    /* a runtime that refuses late flags tiers up as before */
  }
  try {
    program.runPacket(new Uint8Array(0));
  } finally {
    if (set) setFlagsFromString('--no-liftoff-only');
  }
}
