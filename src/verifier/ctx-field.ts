/**
 * What a context access gives, shared by the per-family tables (ctx-access.ts for __sk_buff, xdp_md and
 * the tracing contexts, ctx-sock.ts for the cgroup and socket contexts).
 */
import type { RegKind } from './state.js';

/** A context access the program type allows: what the loaded register becomes. */
export interface CtxField {
  kind: RegKind;
  /** The pointer loaded may be NULL (`__sk_buff->sk`: sock_common_or_null). */
  nullable?: boolean;
  /**
   * The kernel allows the access but loads a pointer kind bpfkit does not model (a bpf_sock, say): the
   * access is reported as not modelled, with this kernel name of the pointer kind.
   */
  unmodelled?: string;
}

/** bpf_ctx_narrow_access_ok for a 4-byte field: 1, 2 or 4 bytes (the offset's alignment is checked first). */
export const narrowOk = (size: number, fieldSize = 4): boolean => size <= fieldSize && (size & (size - 1)) === 0;

/** A scalar load or store. */
export const SCALAR: CtxField = { kind: 'scalar' };
