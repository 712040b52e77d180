/**
 * The headers a PacketView walked through, outermost first, as small numbers (so recording them costs
 * two stores per header and no allocation): `view.layerKinds[i]` at `view.layerOffsets[i]`. Tunnels make
 * the outer headers worth keeping: a request found inside GRE inside VLAN 42 can be shown as such.
 */

/** One kind of header in `PacketView.layerKinds`. */
export const LAYER = {
  ETHERNET: 1,
  VLAN: 2,
  PBB: 3,
  MPLS: 4,
  PPPOE: 5,
  PPP: 6,
  C_HDLC: 7,
  SLL: 8,
  SLL2: 9,
  NULL: 10,
  NFLOG: 11,
  RADIOTAP: 12,
  IEEE802_11: 13,
  LLC_SNAP: 14,
  IPV4: 15,
  IPV6: 16,
  GRE: 17,
  ERSPAN: 18,
  WCCP: 19,
  UDP: 20,
  VXLAN: 21,
  GENEVE: 22,
  GTP_U: 23,
  TEREDO: 24,
  AYIYA: 25,
  ARUBA: 26,
  SLIP: 27,
  FRELAY: 28,
  MFR: 29,
  IPOIB: 30,
  IPNET: 31,
  JUNIPER: 32,
  DSA_TAG: 33, // a switch's tag: Marvell DSA/EDSA, Broadcom
  NSH: 34,
  MACSEC: 35,
  ARISTA: 36,
  L2TP: 37,
} as const;

/** Text names of LAYER values, by number ("" for 0). */
export const LAYER_NAMES: readonly string[] = (() => {
  const names: string[] = [''];
  for (const [name, n] of Object.entries(LAYER)) names[n] = name.replace('_', '-');
  return names;
})();

/** Room for this many headers per packet; deeper ones are walked but not recorded. */
export const MAX_LAYERS = 40;

/**
 * Most packets nested inside one another (tunnels, MPLS, PPPoE, 802.1ah, ...). A packet nested deeper is
 * marked `tooDeep` (and malformed): a loop of GRE headers or a crafted packet stops here, never recurses
 * on.
 */
export const MAX_ENCAP_DEPTH = 16;
