/**
 * Accuracy of a run against the ground truth: recall (requests in the server's log that the sniffer
 * reported) and precision (reported requests that are in the log). Requests are matched as a multiset on
 * (client address, client port, method, uri, version); a truncated report matches a logged request whose
 * URI starts with the reported prefix.
 */
import type { TruthEntry } from './generate.js';

export interface Reported {
  src: string;
  sport: number;
  method: string;
  uri: string;
  version: string;
  truncated: boolean;
}

export interface Score {
  truth: number;
  reported: number;
  matched: number;
  recall: number;
  precision: number;
  missed: string[];
  invented: string[];
}

export function truthKey(t: TruthEntry): string {
  return `${t.src}|${t.sport}|${t.method}|${t.url}|${t.version}`;
}

export function score(truth: TruthEntry[], reported: Reported[]): Score {
  const want = new Map<string, number>();
  for (const t of truth) want.set(truthKey(t), (want.get(truthKey(t)) ?? 0) + 1);
  let matched = 0;
  const invented: string[] = [];
  const truncatedReports: Reported[] = [];
  for (const r of reported) {
    if (r.truncated) {
      truncatedReports.push(r);
      continue;
    }
    const k = `${r.src}|${r.sport}|${r.method}|${r.uri}|${r.version}`;
    const n = want.get(k) ?? 0;
    if (n > 0) {
      want.set(k, n - 1);
      matched++;
    } else invented.push(k);
  }
  for (const r of truncatedReports) {
    const prefix = `${r.src}|${r.sport}|${r.method}|${r.uri}`;
    let hit: string | undefined;
    for (const [k, n] of want) if (n > 0 && k.startsWith(prefix)) hit = k;
    if (hit) {
      want.set(hit, want.get(hit)! - 1);
      matched++;
    } else invented.push(`${prefix}... (truncated)`);
  }
  const missed: string[] = [];
  for (const [k, n] of want) for (let i = 0; i < n; i++) missed.push(k);
  return {
    truth: truth.length,
    reported: reported.length,
    matched,
    recall: truth.length === 0 ? 1 : matched / truth.length,
    precision: reported.length === 0 ? 1 : matched / reported.length,
    missed,
    invented,
  };
}
