/**
 * `bpftool -j prog|link show`, read as JSON. bpftool lists the ids first and then opens each object; a
 * program or link that another process (a second test suite running at once, say) closes in between
 * makes it fail ("can't get link by id"). That is a race with someone else's close, not an answer: the
 * listing is simply taken again, a bounded number of times.
 */
import { execFileSync } from 'node:child_process';

/** What `bpftool -j KIND show` lists, each object with at least its id. */
export function bpftoolShow<T extends { id: number }>(kind: 'prog' | 'link'): T[] {
  for (let attempt = 1; ; attempt++) {
    try {
      return JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8', stdio: 'pipe' }) || '[]');
    } catch (err) {
      if (attempt === 20) throw err;
    }
  }
}

/** The ids of every program or link loaded right now. */
export function bpftoolIds(kind: 'prog' | 'link'): number[] {
  return bpftoolShow(kind).map((x) => x.id);
}
