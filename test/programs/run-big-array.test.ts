// `bpfkit run` on an object with a 20,000,000-entry array map (issue 20): listing the maps after the run
// must cost a scan of what was touched, not 20M lookups and hex strings (it took 57 s and 2.4 GB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { cliScript } from '../support/cli-script.js';

const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const source = `#include "${repoPath('examples', 'include', 'bpf-prog.h')}"
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 20000000);
	__type(key, __u32);
	__type(value, __u64);
} huge SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} small SEC(".maps");

SEC("xdp")
int touch(struct xdp_md *ctx)
{
	__u32 keys[3] = { 7, 12345678, 19999999 };
	for (int i = 0; i < 3; i++) {
		__u64 *v = bpf_map_lookup_elem(&huge, &keys[i]);
		if (v)
			*v = 0x1100 + i;
	}
	/* touched, but still zero: not listed */
	__u32 k = 1;
	__u64 zero = 0;
	bpf_map_update_elem(&huge, &k, &zero, 0);
	__u32 two = 2, val = 9;
	bpf_map_update_elem(&small, &two, &val, 0);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
`;

/** big.o from the source above, in `dir`. */
function compile(dir: string): string {
  const inc = execFileSync('sh', ['-c', 'gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu'], {
    encoding: 'utf8',
  }).trim();
  writeFileSync(join(dir, 'big.c'), source);
  const obj = join(dir, 'big.o');
  execFileSync('clang', [
    '-O2',
    '-g',
    '-target',
    'bpf',
    '-I',
    `/usr/include/${inc}`,
    '-c',
    join(dir, 'big.c'),
    '-o',
    obj,
  ]);
  return obj;
}

/** Run the CLI under /usr/bin/time: output, exit code, peak RSS (KiB) and wall seconds. */
function timedRun(...args: string[]): { code: number; out: string; err: string; maxRssKiB: number; seconds: number } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %M %e', process.execPath, '-e', cliScript(mainJs), '--', ...args], {
    encoding: 'utf8',
  });
  const m = /TIME (\d+) ([\d.]+)\s*$/.exec(r.stderr);
  assert.ok(m, r.stderr);
  return {
    code: r.status ?? -1,
    out: r.stdout,
    err: r.stderr,
    maxRssKiB: Number(m[1]),
    seconds: Number(m[2]),
  };
}

test('run on a 20M-entry array map: quick and small; arrays list only their non-zero entries (text and JSON)', (t) => {
  if (!needs(t, { tools: ['clang', '/usr/bin/time'] })) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bigarray-'));
  try {
    const obj = compile(dir);
    const frame = '00'.repeat(60);

    const text = timedRun('run', obj, '--mem', frame);
    assert.equal(text.code, 0, text.err);
    assert.match(
      text.out,
      /map huge \(array, 20000000 entries, 19999997 all-zero not shown\)\n {2}07000000: 0011000000000000\n {2}4e61bc00: 0111000000000000\n {2}ff2c3101: 0211000000000000\n/,
    );
    assert.match(text.out, /map small \(array, 4 entries, 3 all-zero not shown\)\n {2}02000000: 09000000\n/);
    // generous bounds on a shared, loaded machine (the old dump: 57 s, 2.4 GB)
    assert.ok(text.seconds < 20, `took ${text.seconds} s`);
    assert.ok(text.maxRssKiB < 400 * 1024, `peak RSS ${text.maxRssKiB} KiB`);

    const json = timedRun('run', obj, '--mem', frame, '--json');
    assert.equal(json.code, 0, json.err);
    const j = JSON.parse(json.out.slice(0, json.out.lastIndexOf('}') + 1));
    assert.deepEqual(j.maps.huge, [
      { key: '07000000', value: '0011000000000000' },
      { key: '4e61bc00', value: '0111000000000000' },
      { key: 'ff2c3101', value: '0211000000000000' },
    ]);
    assert.deepEqual(j.maps.small, [{ key: '02000000', value: '09000000' }]);
    assert.ok(json.seconds < 20 && json.maxRssKiB < 400 * 1024, `${json.seconds} s, ${json.maxRssKiB} KiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run --engine kernel on the 20M-entry array: the same output as the VM, read in batches (not 40M syscalls)', (t) => {
  if (!needs(t, { tools: ['clang', '/usr/bin/time'], root: true })) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bigarray-'));
  try {
    const obj = compile(dir);
    const frame = '00'.repeat(60);
    for (const format of [[], ['--json']]) {
      const vm = timedRun('run', obj, '--mem', frame, ...format);
      const k = timedRun('run', obj, '--mem', frame, ...format, '--engine', 'kernel');
      assert.equal(k.code, 0, k.err);
      assert.equal(k.out, vm.out);
      // the kernel allocates and zeroes the 160 MB array itself; one key at a time took over 3 minutes
      assert.ok(k.seconds < 60, `took ${k.seconds} s`);
      assert.ok(k.maxRssKiB < 400 * 1024, `peak RSS ${k.maxRssKiB} KiB`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
