/** Shared by the packet tests: oracles (tshark, tcpdump) and small file helpers. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../../src/packet/capture-reader.js';
import type { Packet } from '../../src/packet/packet.js';
import { repoPath } from '../support/env.js';

export const fixture = (name: string) => repoPath('test', 'fixtures', 'packet', name);
export const FIXTURES = ['lo-http.pcap', 'lo-http-nsec.pcap', 'any-sll2.pcap', 'any-sll.pcap'];

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-packet-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** tshark's view of a capture: one tab-separated line of the given fields per frame. */
export function tsharkFields(file: string, fields: string[], extra: string[] = []): string[][] {
  const out = execFileSync(
    'tshark',
    ['-r', file, '-n', ...extra, '-T', 'fields', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 28,
    },
  );
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** "sec.nnnnnnnnn len caplen" per frame, as tshark prints them. */
export function tsharkFrames(file: string): string[] {
  return tsharkFields(file, ['frame.time_epoch', 'frame.len', 'frame.cap_len']).map((r) => r.join(' '));
}

export function frameLine(p: Packet): string {
  return `${p.tsSec}.${String(p.tsNsec).padStart(9, '0')} ${p.origLen} ${p.caplen}`;
}

export async function readAll(file: string, chunkSize?: number): Promise<Packet[]> {
  const r = await openCapture(file, chunkSize ? { chunkSize } : {});
  try {
    return await r.readAll();
  } finally {
    await r.close();
  }
}

/** Deterministic PRNG (mulberry32) so a failing fuzz case can be replayed: the corpus rewriter's. */
export { rng as prng } from '../http/corpus/rewrite.js';
