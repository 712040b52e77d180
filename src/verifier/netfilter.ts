/**
 * BPF_PROG_TYPE_NETFILTER programs (nf_bpf_link.c's nf_is_valid_access): the context is struct
 * bpf_nf_ctx, two pointers read whole and never written — the hook's state (struct nf_hook_state) and the
 * packet (struct sk_buff), each a trusted PTR_TO_BTF_ID of the kernel's BTF, read field by field through
 * btf-ptr.ts. Without the kernel's BTF they are not modelled. The verdict is NF_DROP (0) or NF_ACCEPT (1)
 * (return-code.ts).
 */
import type { Btf } from '../btf/index.js';
import { trustedStructPtr } from './btf-ptr.js';
import { Rejection } from './reject.js';
import type { Reg } from './state.js';

/** BPF_PROG_TYPE_NETFILTER. */
export const NETFILTER = 32;
/** BPF_NETFILTER: the one expected attach type a netfilter program loads with. */
export const NETFILTER_ATTACH = 45;

/** A load from a netfilter context at `off`: `state` at 0, `skb` at 8, 8 bytes each, read only. */
export function nfCtxLoad(btf: Btf, pc: number, off: number, size: number, write: boolean): Reg {
  if (off < 0 || off >= 16 || off % size !== 0 || write || size !== 8 || (off !== 0 && off !== 8))
    throw new Rejection(pc, `invalid bpf_context access off=${off} size=${size}`);
  const name = off === 0 ? 'nf_hook_state' : 'sk_buff';
  const ptr = trustedStructPtr(btf, name);
  if (!ptr) throw new Rejection(pc, `bpfkit: the kernel's BTF given has no struct ${name}`);
  return ptr;
}
