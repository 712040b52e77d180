/**
 * Raw tracepoints (BPF_RAW_TRACEPOINT_OPEN): the program sees the tracepoint's arguments as they are
 * (an array of u64), with no perf event between. The fd returned is the attachment: close detaches.
 * tp_btf programs (typed raw tracepoints) attach the same way with no name: the kernel took the target
 * from attach_btf_id at load time.
 */
import { EnvironmentError, InputError } from '../../util/errors.js';
import { NativeBuffer, errnoName } from '../libc.js';
import { bpfRaw, closeFd, kernelError, withAttr } from '../bpf-syscall.js';
import { track, untrack } from '../lifecycle.js';

/** bpf_cmd BPF_RAW_TRACEPOINT_OPEN. */
const RAW_TRACEPOINT_OPEN = 17;
/** union bpf_attr's raw_tracepoint member: { __u64 name; __u32 prog_fd; } */
const RAW_TP = { size: 16, name: 0, progFd: 8 } as const;

/** An attached raw tracepoint (or tp_btf) program. */
export class RawTracepointAttachment {
  private fd: number;
  constructor(
    fd: number,
    readonly description: string,
  ) {
    this.fd = fd;
    track(this);
  }

  /** Detach. */
  close(): void {
    if (this.fd < 0) return;
    closeFd(this.fd);
    this.fd = -1;
    untrack(this);
  }
}

/** Attach a RAW_TRACEPOINT program to `name` (e.g. 'sched_switch'), or a tp_btf program (name undefined). */
export function attachRawTracepoint(progFd: number, name: string | undefined): RawTracepointAttachment {
  const what = name ? `raw tracepoint ${name}` : 'tp_btf program';
  const str = name ? NativeBuffer.from(new TextEncoder().encode(`${name}\0`)) : undefined;
  try {
    const r = withAttr(RAW_TP.size, (a) => {
      if (str) a.view.setBigUint64(RAW_TP.name, str.address, true);
      a.view.setUint32(RAW_TP.progFd, progFd, true);
      return bpfRaw(RAW_TRACEPOINT_OPEN, a);
    });
    if (r < 0) {
      const e = errnoName(-r);
      if (e === 'ENOENT') throw new InputError(`no ${what} in this kernel`);
      if (e === 'EINVAL') throw new InputError(`${what}: the program is not a raw tracepoint program (EINVAL)`);
      if (e === 'ENOTSUPP' || e === 'EOPNOTSUPP')
        throw new EnvironmentError(`${what}: not supported by this kernel (${e})`);
      throw kernelError(-r, `attaching ${what}`);
    }
    return new RawTracepointAttachment(r, what);
  } finally {
    str?.free();
  }
}
