/**
 * `bpfkit link set dev X xdp|xdpgeneric|xdpdrv|xdpoffload obj F [sec S] | pinned P | off`: the netlink
 * XDP attach, as ip-link(8) does it. The program is loaded, handed to the device, and bpfkit's fds closed:
 * the device holds the program until `off`.
 */
import { NetlinkSocket } from '../kernel/netlink/socket.js';
import { deviceIndex } from './device.js';
import { loadTcProgram, type ProgramSource } from './load-program.js';
import {
  encodeXdpAttach,
  encodeLinkGet,
  decodeXdpState,
  RTM_SETLINK,
  RTM_GETLINK,
  XDP_MODE_FLAGS,
} from './xdp-message.js';

/** Attach `src` to device `dev` with XDP_FLAGS `flags`; returns the verifier log when `verbose`. */
export async function attachXdpNetlink(
  dev: string,
  src: ProgramSource,
  flags: number,
  opts: { verbose?: boolean } = {},
): Promise<string> {
  const ifindex = deviceIndex(dev);
  const p = await loadTcProgram(src, 'xdp', opts);
  try {
    if (p.ref.kind !== 'ebpf') throw new Error('unreachable: XDP takes eBPF only');
    const fd = p.ref.fd;
    withSocket((s) => s.request(RTM_SETLINK, 0, encodeXdpAttach(ifindex, fd, flags), `link set dev ${dev} xdp`));
    return p.log;
  } finally {
    p.release();
  }
}

/** Remove the XDP program of `dev` in the mode `flags` names (0: whichever mode is attached). */
export function detachXdpNetlink(dev: string, flags: number): void {
  const ifindex = deviceIndex(dev);
  // Flags 0 would address driver mode on a device that has one, leaving a generic program in place.
  if (flags === 0) flags = XDP_MODE_FLAGS[xdpState(dev).attached] ?? 0;
  withSocket((s) => s.request(RTM_SETLINK, 0, encodeXdpAttach(ifindex, -1, flags), `link set dev ${dev} xdp off`));
}

/** The XDP mode and program id attached to `dev`. */
export function xdpState(dev: string): { attached: string; progId: number } {
  const ifindex = deviceIndex(dev);
  // RTM_GETLINK for one index answers with one message (no dump), acknowledged since we ask for an ACK.
  const [m] = withSocket((s) => s.request(RTM_GETLINK, 0, encodeLinkGet(ifindex), `link show dev ${dev}`));
  return m ? decodeXdpState(m.payload) : { attached: 'none', progId: 0 };
}

function withSocket<T>(fn: (s: NetlinkSocket) => T): T {
  const s = new NetlinkSocket();
  try {
    return fn(s);
  } finally {
    s.close();
  }
}
