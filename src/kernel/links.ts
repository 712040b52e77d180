/**
 * BPF links: tcx (ingress/egress on an interface, kernel 6.6+) and XDP. A link detaches when its last
 * reference goes (our fd closed and no pin), or explicitly with BPF_LINK_DETACH.
 */
import { errnoName } from './libc.js';
import { Cmd, bpfRaw, closeFd, kernelError, withAttr } from './bpf-syscall.js';
import { NotSupportedError } from './errors.js';
import { AttachType } from '../uapi/types.js';
import { track, untrack } from './lifecycle.js';
import { pinObject } from './objects.js';
import { BPF_ATTR, setU32 } from './abi/index.js';

/** XDP_FLAGS_* for `attachXdp` (include/uapi/linux/if_link.h). */
export const XdpFlags = { UPDATE_IF_NOEXIST: 1, SKB_MODE: 2, DRV_MODE: 4, HW_MODE: 8, REPLACE: 16 } as const;

/** A BPF link (tcx or XDP attachment): detached when closed, unless pinned. */
export class KernelLink {
  private _fd: number;
  constructor(
    fd: number,
    readonly description: string,
  ) {
    this._fd = fd;
    track(this);
  }

  get fd(): number {
    return this._fd;
  }

  /** Pin so the attachment outlives this process (bpfkit detach / rm removes it). */
  pin(path: string): void {
    pinObject(this._fd, path);
  }

  /** Detach now (even if pinned elsewhere), then close. */
  detach(): void {
    if (this._fd < 0) return;
    const r = withAttr(BPF_ATTR.link_detach.size, (a) => {
      setU32(a.view, BPF_ATTR.link_detach.fields.link_fd, this._fd);
      return bpfRaw(Cmd.LINK_DETACH, a);
    });
    if (r < 0 && errnoName(-r) !== 'ENOLINK') throw kernelError(-r, `detaching ${this.description}`, 'BPF_LINK_DETACH');
    this.close();
  }

  /** Drop our reference: the link detaches unless it is pinned. */
  close(): void {
    if (this._fd < 0) return;
    closeFd(this._fd);
    this._fd = -1;
    untrack(this);
  }
}

function createLink(
  progFd: number,
  ifindex: number,
  attachType: number,
  flags: number,
  feature: string,
  description: string,
): KernelLink {
  const { size, fields: f } = BPF_ATTR.link_create;
  const r = withAttr(size, (a) => {
    const v = a.view;
    setU32(v, f.prog_fd, progFd);
    setU32(v, f.target_ifindex, ifindex);
    setU32(v, f.attach_type, attachType);
    setU32(v, f.flags, flags);
    return bpfRaw(Cmd.LINK_CREATE, a);
  });
  if (r < 0) {
    const name = errnoName(-r);
    if (name === 'EBUSY' || name === 'EEXIST')
      throw kernelError(-r, `attaching ${description} (something is already attached)`);
    if (name === 'EINVAL' || name === 'EOPNOTSUPP' || name === 'ENOTSUPP') throw new NotSupportedError(feature, name);
    throw kernelError(-r, `attaching ${description}`);
  }
  return new KernelLink(r, description);
}

/** Attach a SCHED_CLS program to an interface's tcx hook (ingress or egress). */
export function attachTcx(progFd: number, ifindex: number, direction: 'ingress' | 'egress'): KernelLink {
  const type = direction === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS;
  return createLink(
    progFd,
    ifindex,
    type,
    0,
    `tcx ${direction} links (kernel 6.6+)`,
    `tcx ${direction} on ifindex ${ifindex}`,
  );
}

/** Attach an XDP program through a link (flags: XdpFlags.SKB_MODE for generic XDP, else driver mode when possible). */
export function attachXdp(progFd: number, ifindex: number, flags = 0): KernelLink {
  return createLink(progFd, ifindex, AttachType.XDP, flags, 'XDP links (kernel 5.9+)', `xdp on ifindex ${ifindex}`);
}
