/**
 * Keeps the URL filter's WebAssembly on V8's baseline compiler (Liftoff). By default V8 recompiles a
 * hot wasm function with its optimizing compiler (TurboFan) in the background. That once cost ~0.3 s of
 * CPU and 40 MB (the whole program was one block dispatch loop). With today's code generator TurboFan
 * compiles the module in ~10 ms (loading the filter under `--no-liftoff` costs 8-10 ms more), and its
 * code saves ~30 ns of the ~250 ns a frame costs (the rest is the JavaScript around the run): ~10 ms on
 * a 150 MB capture of 313,752 frames, no more than the compile. Whole runs measured the same with
 * Liftoff only, V8's default tiering and TurboFan only (docs/urls.md, evening of 2026-12-06), so
 * Liftoff stays, the cheapest on small captures. So the module is made (and its first functions
 * compiled) while `--liftoff-only` is set: V8 decides a module's tiering when it creates it, and the
 * flag is set back at once, so other WebAssembly in the process tiers up as usual.
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
