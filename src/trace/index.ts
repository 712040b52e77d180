/**
 * `bpfkit/trace`: placeholder entry point, filled by its issue.
 *
 * @module
 */
export {};
