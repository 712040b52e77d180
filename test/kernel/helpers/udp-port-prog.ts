/** Filled in with the bpf(2) layer: a SOCKET_FILTER program equivalent to the classic UDP-port filter. */
export function loadUdpPortProgram(_port: number): { fd: number; close(): void } {
  throw new Error('not yet');
}
