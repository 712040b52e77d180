/** The packet decoders: one reusable PacketView plus constants and address formatting. */
export { PacketView } from './packet-view.js';
export { ETHERTYPE, IPPROTO, TCP_FLAG } from './constants.js';
export { formatIPv4, formatIPv6, formatMac, formatIP } from './format.js';
