/**
 * Kernel lockdown (security/lockdown): in "integrity" or "confidentiality" mode the kernel refuses some BPF
 * programs to root with EPERM (fentry/fexit/fmod_ret trampolines, for one, under this machine's kernel).
 * An EPERM that root gets is then the kernel's policy, not missing privilege, and is reported as such.
 *
 * The mode lives in securityfs, which a freshly booted machine may not have mounted: it is mounted at
 * /sys/kernel/security when the file is missing (root only), so the answer does not depend on whether
 * something else happened to mount it first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { libc } from './libc.js';

const FILE = '/sys/kernel/security/lockdown';

/**
 * The lockdown mode as the kernel names it ('none', 'integrity', 'confidentiality'), or undefined when the
 * kernel has no lockdown LSM or securityfs cannot be read (or mounted).
 */
export function readLockdown(): string | undefined {
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

/** The active lockdown mode ('integrity', 'confidentiality'), or undefined when none or unknown. */
export function lockdownMode(): string | undefined {
  const mode = readLockdown();
  return mode && mode !== 'none' ? mode : undefined;
}

/** Whether this process runs as root (an EPERM then means policy, not privilege). */
export const isRoot = (): boolean => process.geteuid?.() === 0;
