/**
 * Allocated objects, lists and rbtrees (graph-cases.ts): bpfkit's verdict and last log line against the
 * expectation, and as root the running kernel's against bpfkit's on the same prepared object (verdict,
 * instruction, last line), so each expectation is checked too.
 */
import { test } from 'node:test';
import { GRAPH_CASES, judgeGraphCases } from './graph-cases.js';

test('graph kfuncs: allocated objects, lists and rbtrees get the kernel verdict, insn and words', (t) =>
  judgeGraphCases(t, GRAPH_CASES, 'graph'));
