/**
 * The helpers fixture (fixtures/helpers.o) as the running kernel can load it. A kernel may refuse a helper
 * upstream allows — the kernel of December 2026's test machine refuses bpf_xdp_adjust_meta to XDP
 * programs — and then no program of the object loads through bpftool, nor xdp_resize through bpfkit. On
 * such a kernel the fixture is rebuilt from its source with that helper's two calls answered by
 * -EOPNOTSUPP in place, so everything else the object does (xdp_resize's head and tail moves among it)
 * is still compared with the kernel; without clang or root the committed object is used as it is.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelHelperProbe } from '../../src/kernel/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { hasTool, repoPath } from '../support/env.js';

const COMMITTED = repoPath('test', 'programs', 'fixtures', 'helpers.o');
const ADJUST_META = 54;

let built: { path: string; variant: boolean } | undefined;

/**
 * The helpers object to load into this kernel: the committed one, or (root, a kernel refusing
 * bpf_xdp_adjust_meta to XDP, clang present) the variant without that helper. `variant` says which.
 */
export function helpersForThisKernel(): { path: string; variant: boolean } {
  if (built) return built;
  built = { path: COMMITTED, variant: false };
  if (process.geteuid?.() !== 0 || !hasTool('clang')) return built;
  if (kernelHelperProbe()(ProgType.XDP, ADJUST_META)) return built;
  const source = readFileSync(repoPath('test', 'programs', 'fixtures', 'helpers.c'), 'utf8');
  const calls = source.match(/bpf_xdp_adjust_meta\(/g)?.length ?? 0;
  if (calls === 0) return built;
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-helpers-variant-'));
  const src = join(dir, 'helpers.c');
  // (-95: EOPNOTSUPP; a comma expression keeps the arguments evaluated as the call would)
  writeFileSync(src, source.replace(/bpf_xdp_adjust_meta\(/g, 'BPFKIT_NO_ADJUST_META('));
  const inc = execFileSync('sh', ['-c', 'gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu'], {
    encoding: 'utf8',
  }).trim();
  const out = join(dir, 'helpers.o');
  execFileSync('clang', [
    '-O2',
    '-g',
    '-target',
    'bpf',
    '-D',
    'BPFKIT_NO_ADJUST_META(ctx, delta)=((void)(ctx), (void)(delta), -95)',
    '-I',
    `/usr/include/${inc}`,
    '-I',
    repoPath('test', 'programs', 'fixtures'),
    '-c',
    src,
    '-o',
    out,
  ]);
  built = { path: out, variant: true };
  return built;
}
