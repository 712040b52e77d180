/**
 * perf events, and BPF programs attached to them: tracepoints (PERF_TYPE_TRACEPOINT with the id from
 * tracefs), uprobes (the uprobe PMU, its type read from sysfs), and software events such as cpu-clock.
 * A program is attached with BPF_LINK_CREATE (BPF_PERF_EVENT, kernel 5.15+) and, where that is refused,
 * with the older PERF_EVENT_IOC_SET_BPF; either way closing the returned attachment detaches it.
 */
import { readFileSync } from 'node:fs';
import { EnvironmentError, InputError } from '../../util/errors.js';
import { NativeBuffer, errnoName } from '../libc.js';
import { Cmd, bpfRaw, closeFd, kernelError, withAttr } from '../bpf-syscall.js';
import { BPF_ATTR, setU32 } from '../abi/index.js';
import { PermissionError } from '../errors.js';
import { track, untrack } from '../lifecycle.js';
import { ioctlInt, perfEventOpenRaw } from './sys.js';
import { tracepointId } from './tracefs.js';

/** PERF_TYPE_* (include/uapi/linux/perf_event.h). */
export const PerfType = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2 } as const;
/** PERF_COUNT_SW_* for PerfType.SOFTWARE (BPF_OUTPUT: the event a perf event array's bpf_perf_event_output writes to). */
export const PerfSoftware = { CPU_CLOCK: 0, TASK_CLOCK: 1, BPF_OUTPUT: 10 } as const;

/** struct perf_event_attr, the fields bpfkit sets (PERF_ATTR_SIZE_VER5 and later keep these offsets). */
const ATTR = {
  size: 128,
  type: 0,
  sizeField: 4,
  config: 8,
  samplePeriodOrFreq: 16,
  sampleType: 24,
  flags: 40,
  wakeupEvents: 48,
  config1: 56,
  config2: 64,
} as const;
/** Bits of the flags word: disabled, freq. */
const FLAG_FREQ = 1n << 10n;

const PERF_FLAG_FD_CLOEXEC = 8;
const IOC_ENABLE = 0x2400;
const IOC_SET_BPF = 0x40042408;
/** enum bpf_attach_type BPF_PERF_EVENT. */
const BPF_PERF_EVENT = 41;

/** What to open: a perf event's type, config and the extras uprobes and sampling use. */
export interface PerfEventSpec {
  type: number;
  config: bigint;
  /** uprobe: pointer to the binary's path; kprobe: pointer to the function name. */
  config1?: bigint;
  /** uprobe: file offset of the probed instruction. */
  config2?: bigint;
  /** Sampling: events per second (freq) or every N events (period). */
  frequency?: number;
  period?: number;
  /** PERF_SAMPLE_* bits of what each sample record carries (PERF_SAMPLE_RAW for BPF output). */
  sampleType?: bigint;
}

/** Open a perf event on `cpu` (-1: any) for `pid` (-1: every process); throws a typed one-line error. */
export function perfEventOpen(spec: PerfEventSpec, pid: number, cpu: number, what: string): number {
  const a = new NativeBuffer(ATTR.size);
  try {
    const v = a.view;
    v.setUint32(ATTR.type, spec.type, true);
    v.setUint32(ATTR.sizeField, ATTR.size, true);
    v.setBigUint64(ATTR.config, spec.config, true);
    let flags = 0n;
    if (spec.frequency) {
      v.setBigUint64(ATTR.samplePeriodOrFreq, BigInt(spec.frequency), true);
      flags |= FLAG_FREQ;
    } else if (spec.period) v.setBigUint64(ATTR.samplePeriodOrFreq, BigInt(spec.period), true);
    else if (spec.type === PerfType.TRACEPOINT || spec.type > PerfType.TRACEPOINT)
      v.setBigUint64(ATTR.samplePeriodOrFreq, 1n, true);
    if (spec.sampleType !== undefined) v.setBigUint64(ATTR.sampleType, spec.sampleType, true);
    v.setBigUint64(ATTR.flags, flags, true);
    v.setUint32(ATTR.wakeupEvents, 1, true);
    if (spec.config1 !== undefined) v.setBigUint64(ATTR.config1, spec.config1, true);
    if (spec.config2 !== undefined) v.setBigUint64(ATTR.config2, spec.config2, true);
    const fd = perfEventOpenRaw(a.ptr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
      const name = errnoName(-fd);
      if (name === 'EACCES' || name === 'EPERM') throw new PermissionError(`opening ${what}`, name);
      if (name === 'ENOENT' || name === 'ENODEV' || name === 'EOPNOTSUPP')
        throw new EnvironmentError(`${what}: the kernel has no such event (${name})`);
      if (name === 'ESRCH') throw new InputError(`${what}: no process ${pid}`);
      throw new EnvironmentError(`perf_event_open for ${what} failed (${name})`);
    }
    return fd;
  } finally {
    a.free();
  }
}

/** A BPF program attached to a perf event: closing it detaches the program and closes the event. */
export class PerfAttachment {
  private closed = false;
  constructor(
    /** The perf event fds (one per CPU for software events). */
    readonly perfFds: number[],
    /** The BPF link fds, or -1 per event where the ioctl path attached it. */
    readonly linkFds: number[],
    readonly description: string,
  ) {
    track(this);
  }

  /** Detach and close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.linkFds) closeFd(fd);
    for (const fd of this.perfFds) closeFd(fd);
    untrack(this);
  }
}

/** link_create.perf_event.bpf_cookie: the u64 right after the common head. */
const LINK_CREATE_BPF_COOKIE = 16;

/**
 * Attach program `progFd` to the open perf event `perfFd`: a link fd, or -1 when attached by ioctl.
 * `cookie` is what bpf_get_attach_cookie() returns in the program (needs a BPF link).
 */
export function attachToPerfEvent(progFd: number, perfFd: number, what: string, cookie = 0n): number {
  const { size, fields: f } = BPF_ATTR.link_create;
  const link = withAttr(size, (a) => {
    setU32(a.view, f.prog_fd, progFd);
    setU32(a.view, f.target_ifindex, perfFd); // target_fd shares the slot
    setU32(a.view, f.attach_type, BPF_PERF_EVENT);
    a.view.setBigUint64(LINK_CREATE_BPF_COOKIE, cookie, true);
    return bpfRaw(Cmd.LINK_CREATE, a);
  });
  if (link >= 0) {
    ioctlInt(perfFd, IOC_ENABLE, 0);
    return link;
  }
  const err = errnoName(-link);
  if (err === 'EPERM' || err === 'EACCES') throw kernelError(-link, `attaching ${what}`);
  if (err !== 'EINVAL' && err !== 'EOPNOTSUPP' && err !== 'ENOTSUPP') throw kernelError(-link, `attaching ${what}`);
  if (cookie !== 0n)
    throw new EnvironmentError(`${what}: this kernel has no perf event links, so no attach cookie (${err})`);
  // Kernels before perf links: the ioctl holds the program until the perf event closes.
  const r = ioctlInt(perfFd, IOC_SET_BPF, progFd);
  if (r < 0) {
    const name = errnoName(-r);
    if (name === 'EINVAL')
      throw new InputError(`${what}: the program's type does not fit this event (EINVAL from PERF_EVENT_IOC_SET_BPF)`);
    throw kernelError(-r, `attaching ${what}`);
  }
  ioctlInt(perfFd, IOC_ENABLE, 0);
  return -1;
}

function attachEvents(progFd: number, fds: number[], what: string, cookie = 0n): PerfAttachment {
  const links: number[] = [];
  try {
    for (const fd of fds) links.push(attachToPerfEvent(progFd, fd, what, cookie));
  } catch (err) {
    for (const l of links) closeFd(l);
    for (const fd of fds) closeFd(fd);
    throw err;
  }
  return new PerfAttachment(fds, links, what);
}

/** Attach a BPF_PROG_TYPE_TRACEPOINT program to tracepoint `category:name` (syscalls:sys_enter_* included). */
export function attachTracepoint(progFd: number, category: string, name: string): PerfAttachment {
  const what = `tracepoint ${category}:${name}`;
  const id = tracepointId(category, name);
  const fd = perfEventOpen({ type: PerfType.TRACEPOINT, config: BigInt(id) }, -1, 0, what);
  return attachEvents(progFd, [fd], what);
}

/** The dynamic PMU type of `pmu` (uprobe, kprobe) from sysfs, or an EnvironmentError naming what is missing. */
export function pmuType(pmu: string, missing: string): number {
  try {
    return Number(readFileSync(`/sys/bus/event_source/devices/${pmu}/type`, 'utf8').trim());
  } catch {
    throw new EnvironmentError(missing);
  }
}

/** The bit of `config` that makes a `pmu` probe a return probe (its format file says `config:N`). */
export function retprobeBit(pmu: string): bigint {
  try {
    const text = readFileSync(`/sys/bus/event_source/devices/${pmu}/format/retprobe`, 'utf8');
    const m = /config:(\d+)/.exec(text);
    return m ? 1n << BigInt(m[1]!) : 1n;
  } catch {
    return 1n;
  }
}

/** Attach to one perf event per CPU (software events such as cpu-clock sample per CPU). */
export function attachPerfEventPerCpu(
  progFd: number,
  spec: PerfEventSpec,
  cpus: number[],
  what: string,
): PerfAttachment {
  const fds: number[] = [];
  try {
    for (const cpu of cpus) fds.push(perfEventOpen(spec, -1, cpu, `${what} on CPU ${cpu}`));
  } catch (err) {
    for (const fd of fds) closeFd(fd);
    throw err;
  }
  return attachEvents(progFd, fds, what);
}

/** Attach to one already described perf event for `pid` (-1: all), with an optional attach cookie. */
export function attachPerfEvent(
  progFd: number,
  spec: PerfEventSpec,
  pid: number,
  what: string,
  cookie = 0n,
): PerfAttachment {
  const fd = perfEventOpen(spec, pid, pid === -1 ? 0 : -1, what);
  return attachEvents(progFd, [fd], what, cookie);
}
