/**
 * The kernel's possible-CPU count: per-CPU maps hold one value per possible CPU (not per online CPU),
 * and bpf(2) lookups copy them all, each rounded up to 8 bytes.
 */
import { readFileSync } from 'node:fs';
import { NativeBuffer, errno, errnoName, libc } from './libc.js';
import { EnvironmentError } from '../util/errors.js';

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

/** The kernel's possible-CPU count (the number of values a per-CPU map holds per key); 1 when unknown. */
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

/**
 * Pin the calling thread to one CPU (sched_setaffinity). BPF_PROG_TEST_RUN runs programs on the
 * caller's CPU, so this decides which slot of a per-CPU map a test run touches (tests comparing engines
 * pin to the CPU the VM pretends to run on). Returns false when the kernel refuses.
 */
export function pinThreadToCpu(cpu: number): boolean {
  const mask = new NativeBuffer(128); // cpu_set_t: 1024 bits
  try {
    mask.bytes[cpu >> 3] = 1 << (cpu & 7);
    return (libc().sched_setaffinity(0, 128, mask.ptr) as number) === 0;
  } finally {
    mask.free();
  }
}

/**
 * Run `fn` with the calling thread pinned to `cpu`, then give the thread back the CPUs it had: a test run
 * then touches that CPU's slot of every per-CPU map and sees it in bpf_get_smp_processor_id, as the VM's
 * run on `host.cpu` does. A CPU the thread may not run on is an error naming it, never a run elsewhere.
 */
export function onCpu<T>(cpu: number, fn: () => T): T {
  const saved = new NativeBuffer(128);
  try {
    if ((libc().sched_getaffinity(0, 128, saved.ptr) as number) !== 0)
      throw new EnvironmentError(`cannot read this thread's CPU affinity (${errnoName(errno())})`);
    if (!pinThreadToCpu(cpu))
      throw new EnvironmentError(`cannot run on CPU ${cpu} (${errnoName(errno())}): choose an online CPU`);
    try {
      return fn();
    } finally {
      libc().sched_setaffinity(0, 128, saved.ptr);
    }
  } finally {
    saved.free();
  }
}
