/**
 * pcapng timestamps whose seconds reach 2^53 (64-bit ticks at a coarse if_tsresol, a large if_tsoffset)
 * are read exactly: `pcap info` prints every digit, as `tshark -T fields -e frame.time_epoch` does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { captureInfo } from '../../src/packet/capture-info.js';
import { openCapture } from '../../src/packet/capture-reader.js';
import { exactSeconds } from '../../src/packet/packet.js';
import { needs, repoPath } from '../support/env.js';
import { pcapngFile } from '../support/pcapng-file.js';
import { tempDir, tsharkFields } from './helpers.js';

const FRAME = Buffer.from('000000000000000000000001080045000014000100004006000000000000000000000000', 'hex');

/** A pcapng file: one Ethernet interface with if_tsresol `resol` (and if_tsoffset), one EPB per tick count. */
const pcapng = (resol: number, ticks: bigint[], tsoffset?: bigint): Buffer =>
  pcapngFile(
    { tsresol: resol, ...(tsoffset !== undefined ? { tsoffset } : {}) },
    ticks.map((t) => [t, FRAME] as const),
  );

/** ticks at if_tsresol `resol` as `sec.nnnnnnnnn` (floored to the nanosecond), in exact arithmetic. */
function expected(resol: number, ticks: bigint, tsoffset = 0n): string {
  const perSec = resol & 0x80 ? 1n << BigInt(resol & 0x7f) : 10n ** BigInt(resol);
  const sec = ticks / perSec + tsoffset;
  const nsec = ((ticks % perSec) * 1_000_000_000n) / perSec;
  return `${sec}.${nsec.toString().padStart(9, '0')}`;
}

const TOP = 0xffff_ffff_ffff_ffffn;
const cases: [string, number, bigint[]][] = [
  ['seconds (10^0)', 0, [2n ** 53n + 1n, TOP]],
  ['milliseconds', 3, [2n ** 63n + 7n, TOP]],
  ['10^-1 s', 1, [TOP - 200n, TOP]],
  ['2^-1 s', 0x81, [2n ** 60n + 3n, TOP]],
  ['microseconds', 6, [2n ** 53n + 1n, TOP]],
  ['nanoseconds', 9, [2n ** 62n + 11n, TOP]],
];

test('pcap info: first and last times past 2^53 ticks, every unit, exactly', async (t) => {
  const dir = tempDir(t);
  for (const [name, resol, ticks] of cases) {
    const file = join(dir, `r${resol}.pcapng`);
    writeFileSync(file, pcapng(resol, ticks));
    const { info, error } = await captureInfo(file);
    assert.equal(error, undefined, name);
    assert.equal(info.firstEpoch, expected(resol, ticks[0]!), name);
    assert.equal(info.lastEpoch, expected(resol, ticks[1]!), name);
  }
  // A large if_tsoffset is added exactly too; the for-await packets carry the exact seconds.
  const file = join(dir, 'offset.pcapng');
  const offset = 2n ** 60n + 5n;
  writeFileSync(file, pcapng(6, [1_700_000_000_123_456n], offset));
  const { info } = await captureInfo(file);
  assert.equal(info.firstEpoch, expected(6, 1_700_000_000_123_456n, offset));
  const reader = await openCapture(file);
  for await (const p of reader) assert.equal(exactSeconds(p), 1_700_000_000n + offset);
  await reader.close();
});

test("pcap info --json's times past 2^53 agree with tshark's frame.time_epoch", async (t) => {
  if (!needs(t, { tools: ['tshark'] })) return;
  const dir = tempDir(t);
  // (tshark takes 10^0 ticks as a signed time_t, and 10^-12 or 2^-52 ones through a double: left out)
  for (const [name, resol, ticks] of cases.filter(([, r]) => r !== 0)) {
    const file = join(dir, `t${resol}.pcapng`);
    writeFileSync(file, pcapng(resol, ticks));
    const times = tsharkFields(file, ['frame.time_epoch']).map((r) => r[0]!);
    const r = spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), 'pcap', 'info', file, '--json'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { firstEpoch: string; lastEpoch: string };
    assert.deepEqual([info.firstEpoch, info.lastEpoch], times, name);
  }
});
