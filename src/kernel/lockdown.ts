/**
 * Kernel lockdown (security/lockdown): in "integrity" or "confidentiality" mode the kernel refuses some BPF
 * programs to root with EPERM (fentry/fexit/fmod_ret trampolines, for one, under this machine's kernel).
 * An EPERM that root gets is then the kernel's policy, not missing privilege, and is reported as such.
 */
import { readFileSync } from 'node:fs';

/** The active lockdown mode ('integrity', 'confidentiality'), or undefined when none or unknown. */
export function lockdownMode(): string | undefined {
  try {
    const text = readFileSync('/sys/kernel/security/lockdown', 'utf8');
    const mode = /\[(\w+)\]/.exec(text)?.[1];
    return mode && mode !== 'none' ? mode : undefined;
  } catch {
    return undefined;
  }
}

/** Whether this process runs as root (an EPERM then means policy, not privilege). */
export const isRoot = (): boolean => process.geteuid?.() === 0;
