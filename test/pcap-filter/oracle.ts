/**
 * The oracle side of the verdict test: what tcpdump (libpcap 1.10) does with an expression.
 * `tcpdump -ddd` gives libpcap's program (run here on the classic interpreter, which has the kernel's
 * and libpcap's bpf_filter semantics: a load past the end returns 0); `tcpdump -r` gives its verdicts
 * on a file, used to cross-check that both oracles agree.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { SockFilter } from '../../src/cbpf/index.js';

/** libpcap's program for an expression (`tcpdump -ddd`), or its error line. */
export function tcpdumpProgram(linktype: string, expr: string, optimize: boolean): SockFilter[] | { error: string } {
  const args = ['-ddd', '-y', linktype, ...(optimize ? [] : ['-O']), '--', expr];
  const r = spawnSync('tcpdump', args, { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').pop() ?? 'failed' };
  const lines = r.stdout.trim().split('\n').slice(1);
  return lines.map((l) => {
    const [code, jt, jf, k] = l.trim().split(/\s+/).map(Number);
    return { code: code!, jt: jt!, jf: jf!, k: k! >>> 0 };
  });
}

/** Indices (by the 1000+i timestamps of frames.ts) of the packets `tcpdump -r FILE EXPR` keeps. */
export function tcpdumpKeeps(file: string, expr: string, optimize: boolean): number[] | { error: string } {
  const args = ['-r', file, '-tt', '-n', ...(optimize ? [] : ['-O']), '--', expr];
  const r = spawnSync('tcpdump', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').pop() ?? 'failed' };
  const out: number[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+)\.\d+ /.exec(line);
    if (m) out.push(Number(m[1]) - 1000);
  }
  return out;
}

/**
 * `tcpdump -d -y LINKTYPE -- EXPR`, run without blocking (callers keep several going at once): libpcap's
 * listing, or its error line without tcpdump's prefixes.
 */
export function tcpdumpListing(linktype: string, expr: string): Promise<{ listing: string } | { error: string }> {
  return new Promise((resolve) => {
    const p = spawn('tcpdump', ['-d', '-y', linktype, '--', expr]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      if (code === 0) return resolve({ listing: out });
      const line = err.trim().split('\n').pop() ?? '';
      resolve({ error: line.replace(/^tcpdump: /, '').replace(/^can't parse filter expression: /, '') });
    });
  });
}
