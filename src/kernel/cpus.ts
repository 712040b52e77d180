/**
 * The kernel's possible-CPU count: per-CPU maps hold one value per possible CPU (not per online CPU),
 * and bpf(2) lookups copy them all, each rounded up to 8 bytes.
 */
import { readFileSync } from 'node:fs';

let cached = 0;

/** Parse a CPU list like "0-3,6,8-9" and count its members. */
export function countCpuList(text: string): number {
  let n = 0;
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map((x) => Number.parseInt(x, 10));
    if (a === undefined || Number.isNaN(a)) continue;
    n += b === undefined || Number.isNaN(b) ? 1 : b - a + 1;
  }
  return n;
}

export function possibleCpus(): number {
  if (!cached) {
    try {
      cached = countCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8')) || 1;
    } catch {
      cached = 1;
    }
  }
  return cached;
}
