/**
 * `bpfkit/tc`: placeholder entry point, filled by its issue.
 *
 * @module
 */
export {};
