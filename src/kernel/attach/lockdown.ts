/**
 * The kernel's lockdown mode for the attach layer: under lockdown the kernel refuses some BPF uses with
 * EPERM even to root — fentry/fexit among them here — and bpfkit names lockdown as the reason instead of
 * "permission". One reader for the whole kernel layer (../lockdown.ts, which also mounts securityfs).
 */
import { readLockdown } from '../lockdown.js';

/** 'none', 'integrity', 'confidentiality', or undefined when the kernel has no lockdown LSM or it cannot be read. */
export function lockdownMode(): string | undefined {
  return readLockdown();
}
