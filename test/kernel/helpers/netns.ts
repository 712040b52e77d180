/**
 * Network namespaces for kernel tests: traffic only ever flows on the loopback of a namespace the test
 * created, which is deleted at the end. `runInNamespace` runs a compiled helper script inside it.
 */
import { execFileSync, spawn } from 'node:child_process';

export function createNamespace(tag: string): string {
  const name = `bpfkit-k-${tag}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up', 'mtu', '1500']);
  return name;
}

export function deleteNamespace(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** Run `node script ...args` inside the namespace; resolves with its stdout (rejects on non-zero exit). */
export function runInNamespace(ns: string, script: string, args: string[], timeoutMs = 20000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`helper ${script} exited ${code ?? signal}: ${err.trim()}`));
    });
  });
}
