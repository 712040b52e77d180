/**
 * The corpus generator's HTTP server: node's own http module, so what it logs is what a real server
 * parsed. Run inside the test's network namespace:
 *   node server-main.js LOGFILE ADDR:PORT [ADDR:PORT ...]
 * Each request it parses becomes one JSON line in LOGFILE (the ground truth):
 *   {"method","url","version","src","sport","dst","dport"}
 * Responses vary by path so the sniffer meets every framing: /chunked (chunked body), /close (no length,
 * body until close), /empty (204), /big (100 KB), anything else a short Content-Length body. HEAD gets
 * headers only. CONNECT is answered 200 and the tunnel echoes a little then closes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { openSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';

const [logFile, ...listens] = process.argv.slice(2);
if (!logFile || listens.length === 0) {
  process.stderr.write('usage: server-main LOGFILE ADDR:PORT...\n');
  process.exit(2);
}
const log = openSync(logFile, 'a');

function record(req: IncomingMessage): void {
  const s = req.socket;
  const line = JSON.stringify({
    method: req.method,
    url: req.url,
    version: `HTTP/${req.httpVersion}`,
    src: s.remoteAddress,
    sport: s.remotePort,
    dst: s.localAddress,
    dport: s.localPort,
  });
  writeSync(log, line + '\n');
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  record(req);
  req.on('data', () => {});
  req.on('end', () => {
    const path = req.url ?? '/';
    if (path.includes('/chunked')) {
      res.setHeader('Content-Type', 'text/plain');
      res.write('first chunk\n');
      res.write('GET /not-a-request HTTP/1.1\r\n');
      res.end('last chunk\n');
    } else if (path.includes('/close/') || path.endsWith('/close')) {
      res.shouldKeepAlive = false;
      res.useChunkedEncodingByDefault = false;
      res.writeHead(200, { Connection: 'close' });
      res.end('body until the connection closes\nGET /also-not-a-request HTTP/1.1\r\n');
    } else if (path.includes('/empty')) {
      res.writeHead(204);
      res.end();
    } else if (path.includes('/big')) {
      res.end('x'.repeat(100 * 1024));
    } else if (/\/size\/\d+$/.test(path)) {
      const n = Math.min(1 << 20, Number(path.slice(path.lastIndexOf('/') + 1)));
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': n });
      res.end(req.method === 'HEAD' ? undefined : 'b'.repeat(n));
    } else {
      const body = `hello ${req.method} ${path.length > 64 ? path.slice(0, 64) : path}\n`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    }
  });
}

const servers = listens.map((spec) => {
  const cut = spec.lastIndexOf(':');
  const host = spec.slice(0, cut).replace(/^\[|\]$/g, '');
  const port = Number(spec.slice(cut + 1));
  const srv = createServer({ maxHeaderSize: 4 << 20, insecureHTTPParser: true, keepAliveTimeout: 30000 }, handle);
  // A client that half-closes right after its last request still gets every response: by default node
  // aborts the requests in flight when the client's FIN arrives, and on a loaded machine the clients'
  // FIN often came before the server had answered (the corpus then held requests without responses).
  (srv as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  srv.on('connect', (req: IncomingMessage, socket: Socket) => {
    record(req);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => {});
    setTimeout(() => socket.end(), 200);
  });
  srv.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  srv.headersTimeout = 60000;
  srv.requestTimeout = 0;
  srv.listen(port, host, () => process.stdout.write(`listening ${host} ${port}\n`));
  return srv;
});

const quit = () => {
  for (const s of servers) s.close();
  process.exit(0);
};
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
