/**
 * tc batch files: iproute2's word splitting (quotes, escapes, comments, continued lines) and the line
 * numbers errors name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBatch } from '../../src/tc/index.js';

test('one command per line, quoted bytecode kept whole, comments and blank lines left out', () => {
  const text = [
    '# set up',
    'qdisc add dev v0 clsact',
    '',
    `filter add dev v0 ingress bpf bytecode "1,6 0 0 4294967295," flowid 1:1   # all`,
    "filter add dev v0 ingress bpf bytecode '1,6 0 0 0,'",
    'filter del dev v0 \\',
    '  ingress',
    'qdisc add dev a\\ b clsact',
  ].join('\n');
  assert.deepEqual(parseBatch(text), [
    { line: 2, words: ['qdisc', 'add', 'dev', 'v0', 'clsact'] },
    {
      line: 4,
      words: ['filter', 'add', 'dev', 'v0', 'ingress', 'bpf', 'bytecode', '1,6 0 0 4294967295,', 'flowid', '1:1'],
    },
    { line: 5, words: ['filter', 'add', 'dev', 'v0', 'ingress', 'bpf', 'bytecode', '1,6 0 0 0,'] },
    { line: 6, words: ['filter', 'del', 'dev', 'v0', 'ingress'] },
    { line: 8, words: ['qdisc', 'add', 'dev', 'a b', 'clsact'] },
  ]);
});

test('an unterminated quote is an input error naming file and line', () => {
  assert.throws(() => parseBatch('qdisc show\nfilter add "oops', 'cmds'), /cmds:2: unterminated " quote/);
});
