/**
 * The netlink XDP attach (what `ip link set dev X xdp obj …` sends): RTM_SETLINK with struct ifinfomsg and
 * an IFLA_XDP nest holding the program fd (-1 detaches) and the mode flags; a link dump reports the
 * attached program's id and mode in the same nest. This sits beside bpfkit's XDP link (bpfkit attach xdp):
 * an attachment made this way is the device's, outlives bpfkit and is what iproute2 shows and removes.
 */
import { AttrWriter, parseAttrs, attrU32 } from '../kernel/netlink/codec.js';

/** rtnetlink link messages. */
export const RTM_NEWLINK = 16;
/** Get one link, or dump them all. */
export const RTM_GETLINK = 18;
/** Change a link's attributes. */
export const RTM_SETLINK = 19;
const IFLA_XDP = 43;
const IFLA_XDP_FD = 1;
const IFLA_XDP_ATTACHED = 2;
const IFLA_XDP_FLAGS = 3;
const IFLA_XDP_PROG_ID = 4;
/** Size of struct ifinfomsg. */
export const IFINFOMSG_SIZE = 16;

/** XDP_FLAGS_*: attach only when nothing is attached, and the three modes. */
export const XDP_FLAGS = { UPDATE_IF_NOEXIST: 1, SKB_MODE: 2, DRV_MODE: 4, HW_MODE: 8 } as const;

/** The mode words ip-link(8) takes: xdp (driver when it can, else generic), xdpgeneric, xdpdrv, xdpoffload. */
export const XDP_MODE_FLAGS: Record<string, number> = {
  xdp: 0,
  xdpgeneric: XDP_FLAGS.SKB_MODE,
  xdpdrv: XDP_FLAGS.DRV_MODE,
  xdpoffload: XDP_FLAGS.HW_MODE,
};

/** What IFLA_XDP_ATTACHED says (enum XDP_ATTACHED_*). */
export const XDP_ATTACHED = ['none', 'xdpdrv', 'xdpgeneric', 'xdpoffload', 'multi'] as const;

function ifinfomsg(ifindex: number): Uint8Array {
  const b = new Uint8Array(IFINFOMSG_SIZE);
  new DataView(b.buffer).setInt32(4, ifindex, true);
  return b;
}

/** RTM_SETLINK payload attaching program `fd` (or detaching, with fd -1) in the mode `flags` says. */
export function encodeXdpAttach(ifindex: number, fd: number, flags: number): Uint8Array {
  const w = new AttrWriter().raw(ifinfomsg(ifindex)).begin(IFLA_XDP);
  const fdBytes = new Uint8Array(4);
  new DataView(fdBytes.buffer).setInt32(0, fd, true);
  w.attr(IFLA_XDP_FD, fdBytes);
  if (flags) w.u32(IFLA_XDP_FLAGS, flags);
  return w.end().bytes();
}

/** RTM_GETLINK payload for one device. */
export function encodeLinkGet(ifindex: number): Uint8Array {
  return ifinfomsg(ifindex);
}

/** The XDP state of a link message: the mode attached and the program id (0 when none). */
export function decodeXdpState(payload: Uint8Array): { attached: string; progId: number } {
  const attrs = parseAttrs(payload.subarray(IFINFOMSG_SIZE));
  const xdp = attrs.get(IFLA_XDP);
  if (!xdp) return { attached: 'none', progId: 0 };
  const x = parseAttrs(xdp);
  const mode = x.get(IFLA_XDP_ATTACHED)?.[0] ?? 0;
  return { attached: XDP_ATTACHED[mode] ?? `mode ${mode}`, progId: attrU32(x.get(IFLA_XDP_PROG_ID)) ?? 0 };
}
