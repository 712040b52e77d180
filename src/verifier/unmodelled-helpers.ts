/**
 * What bpfkit does not model about the helpers it has no prototype for: the refusal names the helper and
 * the concept it needs, so a reader knows whether the program may well load (it usually does) and what
 * bpfkit would have to learn to judge it.
 */

const BTF_PTR = 'returns or takes a kernel object by BTF id (PTR_TO_BTF_ID is not modelled)';

/** Helper number → [name, the concept bpfkit lacks]. */
const REASONS: ReadonlyMap<number, readonly [string, string]> = new Map([
  [36, ['probe_write_user', 'its availability depends on the kernel lockdown and CAP_SYS_ADMIN']],
  [58, ['override_return', 'needs CONFIG_BPF_KPROBE_OVERRIDE and an error-injectable attach target']],
  [158, ['get_current_task_btf', BTF_PTR]],
]);

/** The one-line refusal for a call of helper `id`, which bpfkit has no prototype for. */
export function unmodelledHelper(id: number): string {
  const r = REASONS.get(id);
  if (r) return `helper bpf_${r[0]}#${id}: bpfkit does not model this helper: ${r[1]}`;
  return `helper #${id}: bpfkit does not model this helper's prototype`;
}

/** The name of helper `id` when this file lists it (the kernel's refusals name the helper). */
export const unmodelledHelperName = (id: number): string | undefined => REASONS.get(id)?.[0];
