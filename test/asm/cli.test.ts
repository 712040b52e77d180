import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpfkit, fixtureDir } from './support.js';

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at .*:\d+:\d+/);

test('bpfkit asm: text -> hex or raw bytes, both syntaxes, big-endian', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-asm-cli-'));
  try {
    const src = join(dir, 'p.s');
    writeFileSync(src, 'mov %r0, 1   # conformance syntax\nr0 += 2      // LLVM syntax\nexit\n');
    let r = bpfkit(['asm', src]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'b7 00 00 00 01 00 00 00\n07 00 00 00 02 00 00 00\n95 00 00 00 00 00 00 00\n');
    const out = join(dir, 'p.bin');
    r = bpfkit(['asm', src, '-o', out, '--big-endian']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(out).toString('hex'), 'b700000000000001' + '0700000000000002' + '9500000000000000');
    // and back: disasm of the raw big-endian file
    r = bpfkit(['disasm', out, '--big-endian', '--syntax', 'conformance']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '       0:\tmov %r0, 1\n       1:\tadd %r0, 2\n       2:\texit\n');
    // stdin
    r = bpfkit(['asm', '-', '--syntax', 'llvm'], 'r0 = 0\nexit\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'b7 00 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bpfkit asm: bad input exits 2 with file:line and no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-asm-cli-'));
  try {
    const src = join(dir, 'bad.s');
    writeFileSync(src, 'mov %r0, 1\nmov %r12, 1\nexit\n');
    let r = bpfkit(['asm', src]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`${src.replace(/[/.]/g, '\\$&')}:2: invalid register '%r12'`));
    noStack(r.stderr);
    writeFileSync(src, 'ja missing\nexit\n');
    r = bpfkit(['asm', src]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.s:1: undefined label 'missing'/);
    r = bpfkit(['asm', join(dir, 'nope.s')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /nope\.s: cannot read: ENOENT/);
    r = bpfkit(['asm', src, '--syntax', 'intel']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--syntax must be/);
    noStack(r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bpfkit disasm: ELF objects, sections, relocations, strict mode', () => {
  const obj = `${fixtureDir}/alu-v1.o`;
  let r = bpfkit(['disasm', obj]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^\n.*alu-v1\.o:\tfile format elf64-bpf\n\nDisassembly of section \.text:\n\n0000000000000000 <mix32>:\n {7}0:\tr0 = r1\n/,
  );
  assert.match(r.stdout, /Disassembly of section xdp:/);
  r = bpfkit(['disasm', obj, '--section', 'socket', '--syntax', 'conformance']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /section xdp/);
  assert.match(r.stdout, /ldabsb 14/);
  assert.match(r.stdout, /ldindb %r\d, 0/);
  r = bpfkit(['disasm', obj, '-r', '--section', 'xdp']);
  assert.match(r.stdout, /r1 = 0 ll\n\t\t[0-9a-f]{16}: {2}R_BPF_64_64\tcounts\n/);
  r = bpfkit(['disasm', obj, '--section', 'nosuch']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no executable section 'nosuch' \(sections with code: \.text, socket, xdp, tc\)/);
  noStack(r.stderr);
});

test('bpfkit disasm: raw bytecode, invalid opcodes marked, --strict names the pc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-disasm-cli-'));
  try {
    const raw = join(dir, 'p.bin');
    writeFileSync(raw, Buffer.from('b700000001000000' + 'ff21ffff07000000' + '9500000000000000', 'hex'));
    let r = bpfkit(['disasm', raw]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      '       0:\tr0 = 1\n       1:\t.insn op=0xff dst=1 src=2 off=-1 imm=7 # invalid: unknown opcode 0xff\n       2:\texit\n',
    );
    r = bpfkit(['disasm', raw, '--strict']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /p\.bin: pc 1: unknown opcode 0xff/);
    noStack(r.stderr);
    // A jump into the middle of an lddw is a strict-mode error too.
    writeFileSync(
      raw,
      Buffer.from('1800000001000000' + '0000000000000000' + '0500feff00000000' + '9500000000000000', 'hex'),
    );
    r = bpfkit(['disasm', raw, '--strict']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /pc 2: jump target 1 is the second half of an lddw/);
    // Truncated input: not a multiple of 8.
    writeFileSync(raw, Buffer.from('b7000000010000', 'hex'));
    r = bpfkit(['disasm', raw]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a multiple of 8/);
    // A truncated lddw still lists, marked.
    writeFileSync(raw, Buffer.from('1800000001000000', 'hex'));
    r = bpfkit(['disasm', raw]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\.insn op=0x18 .* # invalid: lddw without a valid second slot/);
    // An lddw whose second slot is itself an lddw opcode (random bytes do that): both listed, the first
    // marked, the second complete — not a "truncated lddw at pc 0" error.
    writeFileSync(
      raw,
      Buffer.from('1801000000000000' + '1801000000000000' + '0000000007000000' + '9500000000000000', 'hex'),
    );
    r = bpfkit(['disasm', raw]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      '       0:\t.insn op=0x18 dst=1 src=0 off=0 imm=0 # invalid: lddw without a valid second slot\n' +
        '       1:\tr1 = 30064771072 ll\n       3:\texit\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disasm refuses flags the listing would drop: --plain with -r/-S/--bytes, -r/-S on raw bytecode, --big-endian on ELF', () => {
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-disasm-flags-${process.pid}-`));
  try {
    const raw = join(dir, 'p.bin');
    writeFileSync(raw, Buffer.from('b7000000000000009500000000000000', 'hex'));
    const obj = join(fixtureDir, '..', 'elf', 'basic.o');
    // before: each printed the listing as if the flag were not there
    for (const [args, message] of [
      [[obj, '--plain', '-r'], '--plain lists instructions only: --reloc does not apply'],
      [[obj, '--plain', '--bytes'], '--plain lists instructions only: --bytes does not apply'],
      [[raw, '-S'], `--source needs an ELF object; ${raw} is raw bytecode`],
      [[obj, '--raw', '-r'], `--reloc needs an ELF object; ${obj} is raw bytecode`],
      [
        [obj, '--big-endian'],
        `--big-endian is for raw bytecode; ${obj} is an ELF object, which carries its byte order`,
      ],
    ] as const) {
      const r = bpfkit(['disasm', ...args]);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr, `bpfkit disasm: ${message}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
