/**
 * uprobes (the uprobe PMU: a binary's path and a file offset), and kprobes, which need CONFIG_KPROBES:
 * where the kernel has no kprobe PMU, attaching says so in one line (exit 3) instead of failing later.
 */
import { existsSync } from 'node:fs';
import { EnvironmentError } from '../../util/errors.js';
import { NativeBuffer } from '../libc.js';
import { attachPerfEvent, pmuType, retprobeBit, type PerfAttachment } from './perf-event.js';

/** Where to put a uprobe: a binary (or shared library) and the file offset of the instruction. */
export interface UprobeTarget {
  path: string;
  offset: number;
  /** A return probe (uretprobe) instead of an entry probe. */
  retprobe?: boolean;
  /** Only this process (default: every process that maps the binary). */
  pid?: number;
  /** Names the probe in messages (e.g. `/bin/bash:readline`). */
  description?: string;
  /** File offset of a USDT semaphore the kernel increments while attached (0: none). */
  refCtrOffset?: number;
  /** What bpf_get_attach_cookie() returns in the program. */
  cookie?: bigint;
}

/** Attach a KPROBE-type program as a uprobe or uretprobe. */
export function attachUprobe(progFd: number, target: UprobeTarget): PerfAttachment {
  const kind = target.retprobe ? 'uretprobe' : 'uprobe';
  const what = `${kind} ${target.description ?? `${target.path}+0x${target.offset.toString(16)}`}`;
  const type = pmuType('uprobe', 'uprobes are not available (CONFIG_UPROBE_EVENTS)');
  const path = NativeBuffer.from(new TextEncoder().encode(`${target.path}\0`));
  try {
    return attachPerfEvent(
      progFd,
      {
        type,
        // The uprobe PMU's format: retprobe is a low config bit, ref_ctr_offset config:32-63.
        config: (target.retprobe ? retprobeBit('uprobe') : 0n) | (BigInt(target.refCtrOffset ?? 0) << 32n),
        config1: path.address,
        config2: BigInt(target.offset),
      },
      target.pid ?? -1,
      what,
      target.cookie ?? 0n,
    );
  } finally {
    path.free();
  }
}

/** True when this kernel can attach kprobes (it has the kprobe PMU). */
export function kprobesAvailable(): boolean {
  return existsSync('/sys/bus/event_source/devices/kprobe/type');
}

/** The one-line refusal for kprobes on a kernel without them (exit 3). */
export function kprobesUnavailable(fn: string): EnvironmentError {
  return new EnvironmentError(`kprobe on ${fn}: kprobes not available (CONFIG_KPROBES)`);
}

/** Attach a KPROBE program to kernel function `fn` (entry, or return with `retprobe`). */
export function attachKprobe(progFd: number, fn: string, retprobe = false): PerfAttachment {
  if (!kprobesAvailable()) throw kprobesUnavailable(fn);
  const type = pmuType('kprobe', 'kprobes not available (CONFIG_KPROBES)');
  const name = NativeBuffer.from(new TextEncoder().encode(`${fn}\0`));
  try {
    return attachPerfEvent(
      progFd,
      { type, config: retprobe ? retprobeBit('kprobe') : 0n, config1: name.address, config2: 0n },
      -1,
      `${retprobe ? 'kretprobe' : 'kprobe'} ${fn}`,
    );
  } finally {
    name.free();
  }
}
