/**
 * Netlink from TypeScript: the pure message/attribute codec and a NETLINK_ROUTE socket that returns the
 * kernel's answer (ACK, dump or extended-ACK error).
 */
export * from './codec.js';
export { NetlinkSocket, NetlinkError, withRtnetlink, NETLINK_ROUTE } from './socket.js';
