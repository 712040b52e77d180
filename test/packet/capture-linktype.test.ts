/**
 * `bpfkit capture -w FILE.pcap` without -i writes EN10MB: a packet from an interface of another link type
 * (a tun device's bare IP packet) stops the capture in one line, exit 2, instead of being written as a
 * garbage Ethernet frame. The tun device lives in a network namespace the test creates, held open by a
 * python3 process (a tun with no reader has no carrier and sends nothing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs } from '../support/env.js';
import { waitUntil } from '../support/live-wait.js';
import { cliArgv } from '../http/support.js';

const HOLD_TUN = `
import fcntl, os, struct, sys
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', sys.argv[1].encode(), 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN|IFF_NO_PI
print('ready', flush=True)
sys.stdin.read()
`;
const SEND_UDP = `import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('10.7.0.2', 9))`;

test('capture -w FILE.pcap on all interfaces: a packet from a tun device is refused, not written as Ethernet', async (t) => {
  if (!needs(t, { root: true, tools: ['ip', 'python3'] })) return;
  const ns = `bpfkit-cap-tun-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-cap-tun-${process.pid}-`));
  execFileSync('ip', ['netns', 'add', ns]);
  const holder = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', HOLD_TUN, 'bktun1'], { stdio: 'pipe' });
  try {
    let held = '';
    holder.stdout.on('data', (b: Buffer) => (held += b.toString()));
    await waitUntil('the tun device to be held open', () => held.includes('ready'));
    execFileSync('ip', ['-n', ns, 'link', 'set', 'bktun1', 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', '10.7.0.1/24', 'dev', 'bktun1']);
    const file = join(dir, 'all.pcap');
    const capture = spawn('ip', ['netns', 'exec', ns, process.execPath, ...cliArgv('capture', '-w', file, '-c', '5')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    capture.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = once(capture, 'exit');
    let done = false;
    void exited.then(() => (done = true));
    await waitUntil('capture to listen', () => stderr.includes('listening on all interfaces') || done);
    // Out through the tun device, until the capture has seen one (and stopped): no fixed wait.
    await waitUntil('capture to stop', () => {
      if (!done) spawnSync('ip', ['netns', 'exec', ns, 'python3', '-c', SEND_UDP]);
      return done;
    });
    const [code] = await exited;
    // before: exit 0, and each IPv4 packet written as an Ethernet frame with the IP header as its MACs
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      /bpfkit capture: a packet from bktun1 \(link type RAW\) cannot go into .*all\.pcap, a EN10MB pcap file: capture with -i, or write pcapng/,
    );
    assert.ok(existsSync(file), 'what came before the refused packet is written');
  } finally {
    holder.kill();
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
});
