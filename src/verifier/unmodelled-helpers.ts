/**
 * What bpfkit does not model about the helpers it has no prototype for: the refusal names the helper and
 * the concept it needs, so a reader knows whether the program may well load (it usually does) and what
 * bpfkit would have to learn to judge it.
 */

const BTF_PTR = 'returns or takes a kernel object by BTF id (PTR_TO_BTF_ID is not modelled)';
const CONST_STR = 'reads a format or string from a read-only map at load time (ARG_PTR_TO_CONST_STR is not modelled)';
const SOCKOPT = 'which hooks may call it and which options it takes depend on the attach type (not modelled)';
const MSG_DATA = "it moves the message's data: sk_msg packet changes are not modelled";
const SYSCTL = 'its buffer arguments are not modelled';

/** Helper number → [name, the concept bpfkit lacks]. */
const REASONS: ReadonlyMap<number, readonly [string, string]> = new Map([
  [36, ['probe_write_user', 'its availability depends on the kernel lockdown and CAP_SYS_ADMIN']],
  [49, ['setsockopt', SOCKOPT]],
  [57, ['getsockopt', SOCKOPT]],
  [63, ['msg_pull_data', MSG_DATA]],
  [64, ['bind', 'only the connect hooks may call it, with a sockaddr buffer (not modelled)']],
  [90, ['msg_push_data', MSG_DATA]],
  [91, ['msg_pop_data', MSG_DATA]],
  [101, ['sysctl_get_name', SYSCTL]],
  [102, ['sysctl_get_current_value', SYSCTL]],
  [103, ['sysctl_get_new_value', SYSCTL]],
  [104, ['sysctl_set_new_value', SYSCTL]],
  [58, ['override_return', 'needs CONFIG_BPF_KPROBE_OVERRIDE and an error-injectable attach target']],
  [158, ['get_current_task_btf', BTF_PTR]],
  [165, ['snprintf', CONST_STR]],
  [177, ['trace_vprintk', CONST_STR]],
  [180, ['find_vma', BTF_PTR]],
  [148, ['copy_from_user', 'it may sleep: only sleepable programs may call it (BPF_F_SLEEPABLE is not modelled)']],
]);

/** The one-line refusal for a call of helper `id`, which bpfkit has no prototype for. */
export function unmodelledHelper(id: number): string {
  const r = REASONS.get(id);
  if (r) return `helper bpf_${r[0]}#${id}: bpfkit does not model this helper: ${r[1]}`;
  return `helper #${id}: bpfkit does not model this helper's prototype`;
}

/** The name of helper `id` when this file lists it (the kernel's refusals name the helper). */
export const unmodelledHelperName = (id: number): string | undefined => REASONS.get(id)?.[0];
