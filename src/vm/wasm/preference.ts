/**
 * Which engine a collection runs on when its loader does not say: 'wasm' for objects whose programs keep
 * their work inside the WebAssembly module, 'jit' for the rest. Measured (docs/wasm.md): a program made
 * of ALU work, stack, context and packet accesses (LD_ABS/LD_IND included), array-map lookups and atomic
 * adds runs faster as WebAssembly, and so do its local calls (bpf-to-bpf) and tail calls and
 * skb_load_bytes into its stack, which the module makes itself; one that calls other helpers often or
 * uses hash maps crosses into JavaScript at each of them, and the compiled JavaScript engine, which
 * crosses nothing, is faster there.
 */
import type { ObjectSpec } from '../../elf/spec.js';
import { BPF_CALL, BPF_JMP, BPF_PSEUDO_CALL } from '../../isa/index.js';
import { MapType } from '../../uapi/types.js';
import { wasmApi } from './runtime.js';
import type { EngineKind } from '../interpreter.js';

/**
 * Helpers a 'wasm' program may call and still be faster than on 'jit': map_lookup_elem (inline on
 * arrays), tail_call and skb_load_bytes (inline: tail-call.ts, skb-load-bytes.ts), and skb_store_bytes /
 * l3_csum_replace / l4_csum_replace, whose cost is in the helper.
 */
const CHEAP_HELPERS = new Set([1, 9, 10, 11, 12, 26]);
/** Maps those helpers keep inside the module: arrays, and prog arrays (tail calls). */
const MODULE_MAPS: ReadonlySet<number> = new Set([MapType.ARRAY, MapType.PROG_ARRAY]);

/** The engine for `spec` when none was asked for. */
export function preferredEngine(spec: ObjectSpec): EngineKind {
  if (wasmApi === undefined) return 'jit';
  if (!spec.maps.every((m) => MODULE_MAPS.has(m.type))) return 'jit';
  for (const p of spec.programs)
    for (const i of p.insns) {
      if ((i.code & 0x07) !== BPF_JMP || (i.code & 0xf0) !== BPF_CALL) continue;
      // local calls stay inside the module (2x faster than 'jit' on a call-heavy loop); callx (BPF_X) and
      // kfuncs (src 2) cross into JavaScript
      if (i.code === (BPF_JMP | BPF_CALL) && i.src === BPF_PSEUDO_CALL) continue;
      if (i.code !== (BPF_JMP | BPF_CALL) || i.src !== 0 || !CHEAP_HELPERS.has(i.imm)) return 'jit';
    }
  return 'wasm';
}
