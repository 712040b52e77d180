/**
 * The compiler without tcpdump: known programs (libpcap's, recorded from tcpdump -d), errors with their
 * columns, and bad input (huge, deeply nested, unterminated) refused in one line, in bounded time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, FilterSyntaxError, MAX_NESTING } from '../../src/pcap-filter/index.js';
import { formatImage, prepareClassic, runClassic } from '../../src/cbpf/index.js';

test('tcp port 80 compiles to libpcap 1.10 optimized program, instruction for instruction', () => {
  const want = [
    '(000) ldh      [12]',
    '(001) jeq      #0x86dd          jt 2\tjf 8',
    '(002) ldb      [20]',
    '(003) jeq      #0x6             jt 4\tjf 19',
    '(004) ldh      [54]',
    '(005) jeq      #0x50            jt 18\tjf 6',
    '(006) ldh      [56]',
    '(007) jeq      #0x50            jt 18\tjf 19',
    '(008) jeq      #0x800           jt 9\tjf 19',
    '(009) ldb      [23]',
    '(010) jeq      #0x6             jt 11\tjf 19',
    '(011) ldh      [20]',
    '(012) jset     #0x1fff          jt 19\tjf 13',
    '(013) ldxb     4*([14]&0xf)',
    '(014) ldh      [x + 14]',
    '(015) jeq      #0x50            jt 18\tjf 16',
    '(016) ldh      [x + 16]',
    '(017) jeq      #0x50            jt 18\tjf 19',
    '(018) ret      #262144',
    '(019) ret      #0',
  ];
  assert.equal(formatImage(compileFilter('tcp port 80')), want.join('\n') + '\n');
});

test('the seed example classifies SYNs', () => {
  const prog = prepareClassic(compileFilter('tcp[tcpflags] & tcp-syn != 0'));
  const frame = (flags: number): Uint8Array => {
    const f = new Uint8Array(54);
    f.set([0x08, 0x00], 12);
    f.set([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6], 14);
    f[14 + 20 + 13] = flags;
    return f;
  };
  assert.notEqual(runClassic(prog, frame(0x02)).retval, 0);
  assert.equal(runClassic(prog, frame(0x10)).retval, 0);
});

test('errors name the column', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['tcp port 70000', 10, /illegal port number 70000 > 65535/],
    ['host 10.0.0.1 and (tcp', 23, /syntax error/],
    ['ip[1:3] = 1', 1, /data size must be 1, 2, or 4/],
    ['tcp and udp', 0, /expression rejects all packets/],
    ['vlan 4096', 1, /VLAN tag 4096 greater than maximum 4095/],
    ['net 10.0.0.1/8', 5, /non-network bits set in "10.0.0.1\/8"/],
    ['ip[99999999999] = 1', 4, /number 99999999999 overflows 32 bits/],
    ['ether[0] / 0 = 1', 10, /division by zero/],
    ['host nosuch.invalid', 6, /unknown host 'nosuch.invalid'/],
  ];
  for (const [expr, col, re] of cases) {
    assert.throws(
      () => compileFilter(expr),
      (e: unknown) => e instanceof FilterSyntaxError && e.column === col && re.test(e.message) && e.exitCode === 2,
      expr,
    );
  }
});

test('bad input is refused in one line, quickly, without overflowing the stack', () => {
  const deep = '('.repeat(10_000) + 'ip' + ')'.repeat(10_000);
  assert.throws(() => compileFilter(deep), new RegExp(`nested more than ${MAX_NESTING} parentheses`));
  // A load's index may hold loads (`ip[ip[0]]`): its brackets count as nesting too, once a stack overflow.
  const loads = 'ip['.repeat(10_000) + '0' + ']'.repeat(10_000) + ' = 1';
  assert.throws(
    () => compileFilter(loads),
    (e: unknown) =>
      e instanceof FilterSyntaxError &&
      e.column === 3 * MAX_NESTING + 3 &&
      /nested more than \d+ parentheses or brackets deep/.test(e.message),
  );
  const within = 'ip['.repeat(MAX_NESTING) + '0' + ']'.repeat(MAX_NESTING) + ' = 1';
  assert.ok(compileFilter(within).length > MAX_NESTING);
  const unterminated = 'tcp[' + '('.repeat(500);
  assert.throws(() => compileFilter(unterminated), FilterSyntaxError);
  const nots = 'not '.repeat(20_000) + 'ip';
  assert.equal(compileFilter(nots).length, 4);
  const long = Array.from({ length: 6000 }, (_, i) => `tcp[${i % 60}] = ${i % 256}`).join(' and ');
  assert.ok(long.length > 100_000);
  const t0 = performance.now();
  assert.throws(() => compileFilter(long + ' and ('), FilterSyntaxError);
  assert.ok(performance.now() - t0 < 30_000); // bounded: seconds on a loaded 2-core machine
  assert.throws(() => compileFilter('ip and \u0001'), /illegal character/);
});

test('a 20-term expression compiles quickly (median of 50; bench/pcap-filter.ts reports the figure)', () => {
  const expr = Array.from({ length: 20 }, (_, i) => `host 10.0.0.${i}`).join(' or ');
  compileFilter(expr);
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    compileFilter(expr);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  assert.ok(times[25]! < 200, `median ${times[25]} ms`);
});
