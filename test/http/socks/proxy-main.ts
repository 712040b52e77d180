/**
 * The far end of the SOCKS test, run inside its network namespace: an HTTP server on 127.0.0.1:80 and :8080 that
 * logs every request it answers (method, path, Host) to the file named by argv[2], and a small SOCKS
 * 4/4a/5 proxy on 127.0.0.1:1080 and [::1]:1080 (RFC 1928 CONNECT, RFC 1929 user/password whenever the
 * client offers it). Prints "listening" on stderr once all four sockets listen.
 */
import { appendFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';

const log = process.argv[2]!;
let listening = 0;
const ready = () => ++listening === 4 && console.error('listening');

const answer = (req: IncomingMessage, res: ServerResponse) => {
  appendFileSync(log, JSON.stringify({ method: req.method, uri: req.url, host: req.headers.host ?? '' }) + '\n');
  req.resume();
  req.on('end', () => {
    res.setHeader('Content-Type', 'text/plain');
    res.end(`seen ${req.url}\n`);
  });
};
for (const port of [80, 8080]) createHttpServer({ requireHostHeader: false }, answer).listen(port, '127.0.0.1', ready);

/** Reads exactly what the handshake needs from a socket, however the bytes arrive. */
class Reader {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
  }
  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) await new Promise<void>((r) => (this.wake = r));
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async until0(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf(0);
      if (i >= 0) return (await this.take(i + 1)).subarray(0, i).toString('latin1');
      await new Promise<void>((r) => (this.wake = r));
    }
  }
  /** What arrived past the handshake: the application's first bytes. */
  rest(): Buffer {
    this.sock.removeAllListeners('data');
    return this.buf;
  }
}

/** Map the name a client asked for to the test's server (the namespace has no resolver). */
const resolve = (host: string) => (host === 'localhost' ? '127.0.0.1' : host);

async function handshake(sock: Socket): Promise<void> {
  const r = new Reader(sock);
  const [ver] = await r.take(1);
  let host: string;
  let port: number;
  if (ver === 4) {
    const h = await r.take(7);
    port = h.readUInt16BE(1);
    host = [...h.subarray(3, 7)].join('.');
    await r.until0(); // user id
    if (h[3] === 0 && h[4] === 0 && h[5] === 0 && h[6] !== 0) host = await r.until0();
    await pipeTo(sock, r, resolve(host), port, () => Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0]));
    return;
  }
  if (ver !== 5) return void sock.destroy();
  const [n] = await r.take(1);
  const methods = [...(await r.take(n!))];
  if (methods.includes(2)) {
    sock.write(Buffer.from([5, 2]));
    await r.take(1);
    const [ulen] = await r.take(1);
    await r.take(ulen!);
    const [plen] = await r.take(1);
    await r.take(plen!);
    sock.write(Buffer.from([1, 0]));
  } else sock.write(Buffer.from([5, 0]));
  const req = await r.take(4);
  if (req[3] === 1) host = [...(await r.take(4))].join('.');
  else if (req[3] === 3) host = (await r.take((await r.take(1))[0]!)).toString('latin1');
  else host = (await r.take(16)).toString('hex').replace(/(.{4})(?!$)/g, '$1:');
  port = (await r.take(2)).readUInt16BE(0);
  await pipeTo(sock, r, resolve(host), port, () => Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38]));
}

function pipeTo(sock: Socket, r: Reader, host: string, port: number, granted: () => Buffer): Promise<void> {
  return new Promise((done) => {
    const up = connect(port, host, () => {
      sock.write(granted());
      const early = r.rest();
      if (early.length > 0) up.write(early);
      sock.pipe(up);
      up.pipe(sock);
      done();
    });
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
}

for (const addr of ['127.0.0.1', '::1']) {
  const proxy = createServer((sock) => void handshake(sock).catch(() => sock.destroy()));
  proxy.listen(1080, addr, ready);
}
process.on('SIGTERM', () => process.exit(0));
