/**
 * Linux's ancillary loads: an absolute load (`ld [k]`, any size) whose k is SKF_AD_OFF + n reads not the
 * packet but a property of the socket buffer (linux/filter.h). And the negative bases that make an
 * absolute or indirect load relative to the network or link-layer header instead of skb->data.
 */

/** SKF_AD_OFF: ancillary loads have k = SKF_AD_OFF + one of the SKF_AD_* below. */
export const SKF_AD_OFF = -0x1000;
/** SKF_NET_OFF: k = SKF_NET_OFF + n reads byte n of the network header. */
export const SKF_NET_OFF = -0x100000;
/** SKF_LL_OFF: k = SKF_LL_OFF + n reads byte n of the link-layer header. */
export const SKF_LL_OFF = -0x200000;

/** The ancillary fields the kernel knows, by their offset from SKF_AD_OFF. */
export const SKF_AD = {
  PROTOCOL: 0,
  PKTTYPE: 4,
  IFINDEX: 8,
  NLATTR: 12,
  NLATTR_NEST: 16,
  MARK: 20,
  QUEUE: 24,
  HATYPE: 28,
  RXHASH: 32,
  CPU: 36,
  ALU_XOR_X: 40,
  VLAN_TAG: 44,
  VLAN_TAG_PRESENT: 48,
  PAY_OFFSET: 52,
  RANDOM: 56,
  VLAN_TPID: 60,
} as const;

/** An ancillary field's name (a key of SKF_AD). */
export type AncillaryName = keyof typeof SKF_AD;

/** SKF_AD_MAX: the first offset past the known ones. */
export const SKF_AD_MAX = 64;

const BY_OFFSET = new Map<number, AncillaryName>(Object.entries(SKF_AD).map(([n, o]) => [o, n as AncillaryName]));

/** The ancillary field an absolute load's k names, or undefined when k is not SKF_AD_OFF + a known field. */
export function ancillaryOf(k: number): AncillaryName | undefined {
  const off = (k | 0) - SKF_AD_OFF;
  return (k | 0) >= SKF_AD_OFF && (k | 0) < 0 ? BY_OFFSET.get(off) : undefined;
}

/** The k of an ancillary load. */
export function ancillaryK(name: AncillaryName): number {
  return (SKF_AD_OFF + SKF_AD[name]) >>> 0;
}
