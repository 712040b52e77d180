/** Shared helpers for the URL-sniffer tests: run `bpfkit urls` in-process or as the CLI, and score it. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildPipeline, type EngineChoice, type Mode } from '../../src/apps/http/build-pipeline.js';
import { readCaptureInto } from '../../src/apps/http/capture-source.js';
import type { UrlRecord } from '../../src/apps/http/record.js';
import type { UrlSummary } from '../../src/apps/http/pipeline.js';
import { cliScript } from '../support/cli-script.js';

export interface Run {
  records: UrlRecord[];
  lines: string[];
  summary: UrlSummary;
}

/** The pipeline `bpfkit urls FILE` builds, run in this process (json records and text lines both kept). */
export async function runUrls(
  file: string,
  mode: Mode = 'full',
  engine: EngineChoice = 'vm',
  json = true,
): Promise<Run> {
  const records: UrlRecord[] = [];
  const lines: string[] = [];
  const built = await buildPipeline({
    mode,
    engine,
    live: false,
    immediate: !json,
    limits: { maxLine: 65536, maxHeaderLine: 16384 },
    maxFlows: 262144,
    idleTimeoutSec: 120,
    onRecord: (r) => records.push(r),
    onText: (l) => lines.push(l),
  });
  try {
    await readCaptureInto(file, built.pipeline);
  } finally {
    built.pipeline.finish();
    built.close();
  }
  return { records, lines, summary: built.pipeline.summary() };
}

/** The compiled CLI beside this compiled test (dist/src/cli/main.js under npm test). */
const mainJs = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Node's arguments (after process.execPath) that run the CLI with `args`, from the same build as this test. */
export function cliArgv(...args: string[]): string[] {
  const script = cliScript(mainJs);
  return ['--input-type=module', '-e', script, '--', ...args];
}

/** The CLI as users run it, from the same build as this test. */
export function cli(...args: string[]) {
  return spawnSync(process.execPath, cliArgv(...args), {
    encoding: 'latin1',
    maxBuffer: 1 << 30,
  });
}

/** tshark's view (out-of-order reassembly on): method + uri per request. */
export function tsharkRequests(file: string): string[] {
  const r = spawnSync(
    'tshark',
    [
      '-r',
      file,
      '-o',
      'tcp.reassemble_out_of_order:TRUE',
      '-Y',
      'http.request',
      '-T',
      'fields',
      '-E',
      'aggregator=\x1f',
      '-e',
      'http.request.method',
      '-e',
      'http.request.uri',
    ],
    { encoding: 'latin1', maxBuffer: 1 << 30 },
  );
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  // Several requests in one frame (pipelining) come as one line, the values joined by the aggregator.
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const [methods = '', uris = ''] = line.split('\t');
    const m = methods.split('\x1f');
    const u = uris.split('\x1f');
    for (let i = 0; i < m.length; i++) out.push(`${m[i]}\t${u[i] ?? ''}`);
  }
  return out;
}

/** Multiset inclusion: every element of `small` is in `big` (as many times). Returns what is missing. */
export function missingFrom(big: string[], small: string[]): string[] {
  const counts = new Map<string, number>();
  for (const x of big) counts.set(x, (counts.get(x) ?? 0) + 1);
  const missing: string[] = [];
  for (const x of small) {
    const n = counts.get(x) ?? 0;
    if (n === 0) missing.push(x);
    else counts.set(x, n - 1);
  }
  return missing;
}
