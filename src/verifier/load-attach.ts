/**
 * bpf_prog_load_fixup_attach_type: BPF_PROG_LOAD gives two program types an expected attach type when the
 * loader names none (0), for programs older than the field. A cgroup_sock program loads as a socket
 * creation hook and an sk_reuseport program as the select hook, and is verified as one (its context's
 * fields, its helpers, its return values).
 */
import { ProgType } from '../uapi/types.js';

/** enum bpf_attach_type: BPF_CGROUP_INET_SOCK_CREATE and BPF_SK_REUSEPORT_SELECT. */
const SOCK_CREATE = 2;
const REUSEPORT_SELECT = 39;

/** The expected attach type the kernel verifies a program of `type` loaded with `attach` (undefined: 0) as. */
export function loadAttachType(type: number, attach: number | undefined): number | undefined {
  if (attach) return attach;
  if (type === ProgType.CGROUP_SOCK) return SOCK_CREATE;
  if (type === ProgType.SK_REUSEPORT) return REUSEPORT_SELECT;
  return attach;
}
