/**
 * bpfkit tc against iproute2's `tc -batch`: add 1,000 cls_bpf filters (classic bytecode, one priority each)
 * to clsact ingress of a veth in a scratch namespace, then delete them one by one — the same requests from
 * both. bpfkit runs in-process through its API (one rtnetlink socket for the process) and as `bpfkit tc
 * -batch FILE` (a process, start-up included, reading the same batch file as tc).
 * Then 100 filters from an ELF object (each add loads the program), where program loading dominates.
 * The bench re-runs itself inside the namespace (nsenter --net) so the device is found there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const CHILD = 'BPFKIT_TC_BENCH_CHILD';
const BYTECODE = '4,40 0 0 12,21 0 1 2048,6 0 0 4294967295,6 0 0 0,';
const obj = fileURLToPath(new URL('../../test/fixtures/tc/tc-demo.o', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/bpfkit.js', import.meta.url));

async function child(): Promise<void> {
  const tc = await import('../src/tc/index.js');
  const ms = (fn: () => void | Promise<void>) => async () => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const tmp = `/tmp/bpfkit-tc-bench-${process.pid}`;
  const results: Record<string, number> = {};
  const run = async (label: string, n: number, program: string[]) => {
    const addOurs = await ms(async () => {
      for (let p = 1; p <= n; p++)
        await tc.filter.install(
          tc.parseFilterArgs(['add', 'dev', 'v0', 'ingress', 'prio', String(p), 'bpf', ...program]),
        );
    })();
    const count = tc.filter.list({ dev: 'v0', parent: tc.clsactParent('ingress') }).filter((e) => e.hasOptions).length;
    if (count !== n) throw new Error(`bpfkit installed ${count} filters, not ${n}`);
    const delOurs = await ms(() => {
      for (let p = 1; p <= n; p++) tc.filter.del(tc.parseFilterArgs(`del dev v0 ingress prio ${p}`.split(' ')));
    })();
    const lines = (verb: string) =>
      Array.from(
        { length: n },
        (_, i) =>
          `filter ${verb} dev v0 ingress prio ${i + 1}${verb === 'add' ? ` bpf ${program.map((w) => (w.includes(' ') ? `"${w}"` : w)).join(' ')}` : ''}\n`,
      ).join('');
    writeFileSync(`${tmp}-add`, lines('add'));
    writeFileSync(`${tmp}-del`, lines('del'));
    const addTc = await ms(() => void execFileSync('tc', ['-batch', `${tmp}-add`], { stdio: 'ignore' }))();
    const delTc = await ms(() => void execFileSync('tc', ['-batch', `${tmp}-del`], { stdio: 'ignore' }))();
    // The same files through `bpfkit tc -batch`: a whole process each, Node's start-up included, as tc's.
    const cli = (file: string) => () =>
      void execFileSync(process.execPath, [bin, 'tc', '-batch', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    const addCli = await ms(cli(`${tmp}-add`))();
    const shown = tc.filter.list({ dev: 'v0', parent: tc.clsactParent('ingress') }).filter((e) => e.hasOptions).length;
    if (shown !== n) throw new Error(`bpfkit tc -batch installed ${shown} filters, not ${n}`);
    const delCli = await ms(cli(`${tmp}-del`))();
    rmSync(`${tmp}-add`, { force: true });
    rmSync(`${tmp}-del`, { force: true });
    Object.assign(results, {
      [`${label} add bpfkit`]: addOurs,
      [`${label} add tc`]: addTc,
      [`${label} del bpfkit`]: delOurs,
      [`${label} del tc`]: delTc,
      [`${label} add bpfkit -batch`]: addCli,
      [`${label} del bpfkit -batch`]: delCli,
    });
  };
  // Loading the object pins its stats map by name in tc/globals (both tools do): remove it after if it is ours.
  const pin = '/sys/fs/bpf/tc/globals/bpfkit_tc_stats';
  const pinnedBefore = existsSync(pin);
  tc.qdisc.add(tc.parseQdiscArgs(['add', 'dev', 'v0', 'clsact']));
  await run('1000 bytecode', 1000, ['bytecode', BYTECODE]);
  try {
    await run('100 obj', 100, ['obj', obj, 'sec', 'classifier', 'da']);
  } finally {
    if (!pinnedBefore) rmSync(pin, { force: true });
  }
  process.stdout.write(JSON.stringify(results));
}

/** Parent side: make the namespace, run the child in it, print the ratios. */
export async function bench(): Promise<void> {
  const ns = `bpfkit-tc-bench-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
    const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, process.execPath, fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD]: '1' },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr.trim());
    const t = JSON.parse(r.stdout) as Record<string, number>;
    for (const label of ['1000 bytecode', '100 obj']) {
      for (const verb of ['add', 'del']) {
        const ours = t[`${label} ${verb} bpfkit`]!;
        const batch = t[`${label} ${verb} bpfkit -batch`]!;
        const theirs = t[`${label} ${verb} tc`]!;
        process.stdout.write(
          `${label} filters ${verb}: bpfkit API ${ours.toFixed(0)} ms, bpfkit tc -batch ${batch.toFixed(0)} ms, ` +
            `tc -batch ${theirs.toFixed(0)} ms (API/tc ${(ours / theirs).toFixed(2)}, -batch/tc ${(batch / theirs).toFixed(2)})\n`,
        );
      }
    }
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

if (process.env[CHILD] === '1') await child();
