#!/usr/bin/env node
// Rebuild the example programs: examples/<name>/<name>.c -> <name>.o with clang -O2 -g -target bpf.
// Usage: node scripts/build-examples.js [--out DIR] [--check] [NAME...]
//   --out DIR  write DIR/<name>.o instead of next to the source (tests build fresh objects this way)
//   --check    exit 1 if clang is missing instead of skipping
// The uapi headers of Debian's linux-libc-dev sit in a multiarch directory clang does not search for
// -target bpf, so it is added explicitly.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
let out;
let check = false;
const names = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out') out = resolve(args[++i]);
  else if (args[i] === '--check') check = true;
  else names.push(args[i]);
}

const clang = ['clang', 'clang-14', 'clang-15', 'clang-16'].find(
  (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0,
);
if (!clang) {
  console.error('build-examples: clang not found' + (check ? '' : ' (skipping)'));
  process.exit(check ? 1 : 0);
}

function multiarchInclude() {
  for (const cmd of [
    ['gcc', '-print-multiarch'],
    [clang, '-print-multiarch'],
  ]) {
    try {
      const t = execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (t && existsSync(`/usr/include/${t}/asm`)) return `/usr/include/${t}`;
    } catch {}
  }
  for (const d of ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'i386-linux-gnu']) {
    if (existsSync(`/usr/include/${d}/asm`)) return `/usr/include/${d}`;
  }
  return undefined;
}

const root = resolve('examples');
const include = multiarchInclude();
const wanted = names.length ? names : readdirSync(root).filter((n) => existsSync(join(root, n, `${n}.c`)));
if (out) mkdirSync(out, { recursive: true });
let failed = 0;
for (const name of wanted) {
  const src = join(root, name, `${name}.c`);
  const obj = out ? join(out, `${name}.o`) : join(root, name, `${name}.o`);
  const r = spawnSync(
    clang,
    ['-O2', '-g', '-target', 'bpf', ...(include ? ['-I', include] : []), '-c', src, '-o', obj],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) {
    console.error(`build-examples: ${name} failed`);
    failed++;
  } else console.log(`built ${obj}`);
}
process.exit(failed ? 1 : 0);
