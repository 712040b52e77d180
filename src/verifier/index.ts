/**
 * `bpfkit/verifier`: placeholder entry point, filled by its issue.
 *
 * @module
 */
export {};
