/**
 * act_bpf may be missing from the running kernel (CONFIG_NET_ACT_BPF unset, or the module absent): the kernel
 * then refuses any filter or action carrying kind "bpf" with "Failed to load TC action module" (ENOENT, or
 * EOPNOTSUPP on kernels without module loading). That refusal becomes one clear line and exit 3.
 */
import { EnvironmentError } from '../util/errors.js';

/** The message bpfkit prints when act_bpf is missing. */
export const ACT_BPF_MISSING = 'action bpf: not supported by this kernel (CONFIG_NET_ACT_BPF)';

/** True when a netlink refusal of a request with actions means "no act_bpf in this kernel". */
export function isMissingActBpf(errno: string, extack: string | undefined): boolean {
  if (extack !== undefined) return /failed to load tc action module|unknown action/i.test(extack);
  return errno === 'ENOENT' || errno === 'EOPNOTSUPP';
}

/** The EnvironmentError (exit 3) for a kernel without act_bpf. */
export function actBpfMissing(): EnvironmentError {
  return new EnvironmentError(ACT_BPF_MISSING);
}
