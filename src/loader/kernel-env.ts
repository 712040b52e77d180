/**
 * What the running kernel tells a loader about itself: its BTF (/sys/kernel/btf/vmlinux, parsed once), its
 * build configuration (/proc/config.gz, else /boot/config-RELEASE), its symbols (/proc/kallsyms) and its
 * release. Each is read on first use and only when an object needs it; a test passes its own KernelEnv.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Btf } from '../btf/btf.js';
import { parseKconfig } from './kconfig.js';
import { kernelBtf } from './core.js';

/** The running kernel's facts a loader asks for (all lazily; undefined where the kernel does not say). */
export interface KernelEnv {
  /** The kernel's BTF, or undefined when it publishes none. */
  btf(): Btf | undefined;
  /** CONFIG_* values and the file they came from, or undefined when no config file is readable. */
  kconfig(): { values: Map<string, string>; source: string } | undefined;
  /** The address of a kernel symbol (/proc/kallsyms), or undefined when it has none (or addresses are hidden). */
  kallsyms(name: string): bigint | undefined;
  /**
   * Whether /proc/kallsyms lists a symbol, its address hidden (kptr_restrict) or not; undefined when the
   * table cannot be read. Optional: an environment without it knows nothing of the kernel's symbols.
   */
  hasSymbol?(name: string): boolean | undefined;
  /** `uname -r`. */
  release: string;
  /** Prefix of syscall entry points on this architecture (`__x64_sys_`), for LINUX_HAS_SYSCALL_WRAPPER. */
  syscallPrefix: string;
}

const SYSCALL_PREFIX: Record<string, string> = {
  x64: '__x64_sys_',
  arm64: '__arm64_sys_',
  s390x: '__s390x_sys_',
  riscv64: '__riscv_sys_',
  ia32: '__ia32_sys_',
};

/** The running kernel, read through /sys and /proc. */
export function runningKernel(): KernelEnv {
  let config: { values: Map<string, string>; source: string } | undefined | null = null;
  let symbols: Map<string, bigint> | undefined;
  /** /proc/kallsyms by name (the first address of each; 0 where hidden), read once; empty if unreadable. */
  const readSymbols = (): Map<string, bigint> => {
    if (symbols) return symbols;
    symbols = new Map();
    let text = '';
    try {
      text = readFileSync('/proc/kallsyms', 'utf8');
    } catch {
      // no symbols: every lookup misses
    }
    for (const line of text.split('\n')) {
      const [addr, , sym] = line.split(/\s+/);
      if (!addr || !sym || symbols.has(sym)) continue;
      symbols.set(sym, BigInt(`0x${addr}`));
    }
    return symbols;
  };
  let btf: Btf | undefined | null = null;
  return {
    btf() {
      if (btf === null) {
        try {
          btf = kernelBtf();
        } catch {
          btf = undefined;
        }
      }
      return btf;
    },
    kconfig() {
      if (config !== null) return config;
      config = undefined;
      for (const path of ['/proc/config.gz', `/boot/config-${os.release()}`]) {
        try {
          const bytes = readFileSync(path);
          const text = path.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
          config = { values: parseKconfig(text), source: path };
          break;
        } catch {
          // try the next place
        }
      }
      return config;
    },
    kallsyms(name) {
      const v = readSymbols().get(name);
      return v === 0n ? undefined : v; // zeros: kptr_restrict hides addresses
    },
    hasSymbol(name) {
      const table = readSymbols();
      return table.size === 0 ? undefined : table.has(name);
    },
    release: os.release(),
    syscallPrefix: SYSCALL_PREFIX[process.arch] ?? `__${process.arch}_sys_`,
  };
}
