/**
 * `bpfkit/pcap-filter`: placeholder entry point, filled by its issue.
 *
 * @module
 */
export {};
