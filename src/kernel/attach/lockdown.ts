/**
 * The kernel's lockdown mode (none, integrity, confidentiality), read from securityfs (mounted at
 * /sys/kernel/security when nothing is). Under lockdown the kernel refuses some BPF uses with EPERM even
 * to root — fentry/fexit among them here — and bpfkit names lockdown as the reason instead of "permission".
 */
import { existsSync, readFileSync } from 'node:fs';
import { libc } from '../libc.js';

const FILE = '/sys/kernel/security/lockdown';

/** 'none', 'integrity', 'confidentiality', or undefined when the kernel has no lockdown LSM or it cannot be read. */
export function lockdownMode(): string | undefined {
  if (!existsSync(FILE) && existsSync('/sys/kernel/security')) {
    try {
      libc().mount('securityfs', '/sys/kernel/security', 'securityfs', 0, null);
    } catch {
      // Not root, or no koffi: leave it unknown.
    }
  }
  try {
    return /\[(\w+)\]/.exec(readFileSync(FILE, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
