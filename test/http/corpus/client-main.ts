/**
 * The corpus generator's clients: raw TCP sockets that write HTTP requests in controlled pieces (no
 * Nagle, a pause between writes, so each write is its own segment on a loopback with offloads off).
 * Run inside the namespace: node client-main.js SCENARIO[,SCENARIO...] HOST [HOST...]
 * Scenarios: basic, long, huge, many, demo, midconn, bench, browse, bulk (see SCENARIOS below).
 */
import { connect, type Socket } from 'node:net';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Conn {
  sock: Socket;
  received: number;
  closed: Promise<void>;
}

async function open(host: string, port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    sock.setNoDelay(true);
    const c: Conn = { sock, received: 0, closed: new Promise((r) => sock.on('close', () => r())) };
    sock.on('data', (d) => (c.received += d.length));
    sock.once('connect', () => resolve(c));
    sock.on('error', reject);
  });
}

/** Write each piece as its own segment. */
async function send(c: Conn, pieces: (string | Buffer)[], gapMs = 3): Promise<void> {
  for (const p of pieces) {
    await new Promise<void>((r) => c.sock.write(p, () => r()));
    await sleep(gapMs);
  }
}

/** Wait until the server has been quiet for `ms`. */
async function settle(c: Conn, ms = 40): Promise<void> {
  let last = -1;
  for (let i = 0; i < 100 && c.received !== last; i++) {
    last = c.received;
    await sleep(ms);
  }
}

/**
 * Half-close, then wait for the server to answer what is in flight and close. (Destroying the socket after
 * a fixed 0.5 s sent a reset on a loaded machine before the server had read the last requests: they were
 * in the capture but not in the server's log. The long bound only ends a hang.)
 */
async function finish(c: Conn): Promise<void> {
  await settle(c);
  c.sock.end();
  await Promise.race([c.closed, sleep(60_000)]);
  c.sock.destroy();
}

/** One request, split at the given byte offsets (each piece its own segment). */
function splitAt(text: string, cuts: number[]): string[] {
  const out: string[] = [];
  let prev = 0;
  for (const cut of cuts) {
    out.push(text.slice(prev, cut));
    prev = cut;
  }
  out.push(text.slice(prev));
  return out.filter((p) => p.length > 0);
}

const req = (method: string, path: string, host: string, extra = '') =>
  `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: bpfkit-corpus\r\n${extra}\r\n`;

const METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'PROPFIND',
  'PURGE',
  'MKCOL',
  'REPORT',
  'SEARCH',
  'LOCK',
  'UNLOCK',
  'LINK',
  'QUERY',
];

async function basic(host: string, tag: string): Promise<void> {
  const h = host.includes(':') ? `[${host}]` : host;
  // Every method, whole request in one segment, alternating ports 80 and 8080.
  for (const [i, m] of METHODS.entries()) {
    const c = await open(host, i % 2 ? 8080 : 80);
    const body = m === 'POST' || m === 'PUT' || m === 'PATCH' ? 'a=1&b=2' : '';
    await send(c, [
      req(
        m,
        `/${tag}/method/${m.toLowerCase()}?i=${i}`,
        `www.example.test`,
        body ? `Content-Length: ${body.length}\r\n` : '',
      ) + body,
    ]);
    await finish(c);
  }
  // Request lines split anywhere: inside the method, the URI, the version, last piece of 1..6 bytes.
  const line = req('GET', `/${tag}/split/abcdefghij?q=1`, h);
  const reqLineLen = line.indexOf('\r\n');
  const cutsList = [
    [1],
    [2],
    [3],
    [4, 10],
    [reqLineLen - 6],
    [reqLineLen - 1],
    [reqLineLen],
    [reqLineLen + 1],
    [1, 2, 3, 5, 8, 13, 21],
    [...Array(reqLineLen + 2).keys()].slice(1),
  ];
  for (let n = 1; n <= 6; n++) cutsList.push([reqLineLen + 2 - n]);
  for (const [i, cuts] of cutsList.entries()) {
    const c = await open(host, 80);
    await send(c, splitAt(line.replace('q=1', `q=${i}`), cuts));
    await finish(c);
  }
  // A POST whose method is split and whose last piece is tiny.
  {
    const c = await open(host, 80);
    const text = req('POST', `/${tag}/split/post`, h, 'Content-Length: 5\r\n') + 'hello';
    await send(c, splitAt(text, [1, 3, text.length - 3]));
    await finish(c);
  }
  // Bare-LF line ends.
  {
    const c = await open(host, 80);
    await send(c, [`GET /${tag}/bare-lf HTTP/1.1\nHost: ${h}\n\n`]);
    await send(c, [`GET /${tag}/bare-lf-split HTTP/1.1\n`, `Host: ${h}\n`, `\n`]);
    await finish(c);
  }
  // Pipelining: five requests in one segment, then five split across segment boundaries.
  {
    const c = await open(host, 80);
    let text = '';
    for (let i = 0; i < 5; i++) text += req('GET', `/${tag}/pipelined/${i}`, h);
    await send(c, [text]);
    let text2 = '';
    for (let i = 0; i < 5; i++) text2 += req(i % 2 ? 'HEAD' : 'GET', `/${tag}/pipelined-split/${i}`, h);
    await send(c, splitAt(text2, [17, 40, 41, 90, 150, 151, 152, 230]));
    await finish(c);
  }
  // Keep-alive: sequential requests on one connection, waiting for each response; response framings.
  {
    const c = await open(host, 8080);
    for (const p of ['/chunked', '/empty', '/big', '/plain']) {
      await send(c, [req('GET', `/${tag}/keepalive${p}`, h)]);
      await settle(c, 15);
    }
    await send(c, [req('HEAD', `/${tag}/keepalive/head`, h)]);
    await settle(c, 15);
    await send(c, [req('GET', `/${tag}/keepalive/after-head`, h)]);
    await finish(c);
  }
  // Chunked response on its own, and a body-until-close response.
  for (const p of ['/chunked/solo', '/close/solo']) {
    const c = await open(host, 80);
    await send(c, [req('GET', `/${tag}${p}`, h)]);
    await finish(c);
  }
  // Bodies that look like requests: Content-Length and chunked, split, then a real request after.
  {
    const c = await open(host, 80);
    const fake = `GET /${tag}/FAKE-in-body HTTP/1.1\r\nHost: evil\r\n\r\n`;
    await send(c, [
      req('POST', `/${tag}/body/content-length`, h, `Content-Length: ${fake.length}\r\nContent-Type: text/plain\r\n`),
      fake,
    ]);
    await settle(c, 15);
    const chunkedBody = `${fake.length.toString(16)}\r\n${fake}\r\n5;ext=1\r\nGET /\r\n0\r\nX-Trailer: GET /${tag}/FAKE-trailer HTTP/1.1\r\n\r\n`;
    const head = req('POST', `/${tag}/body/chunked`, h, 'Transfer-Encoding: chunked\r\n');
    await send(
      c,
      splitAt(head + chunkedBody, [head.length, head.length + 3, head.length + 20, head.length + fake.length + 6]),
    );
    await settle(c, 15);
    const big = 'GET / HTTP/1.1\r\n'.repeat(600); // 9600 bytes of body, several segments
    await send(c, [req('PUT', `/${tag}/body/big`, h, `Content-Length: ${big.length}\r\n`) + big]);
    await settle(c, 15);
    await send(c, [req('GET', `/${tag}/body/after`, h)]);
    await finish(c);
  }
  // Expect: 100-continue (interim response before the final one).
  {
    const c = await open(host, 80);
    await send(c, [req('POST', `/${tag}/expect`, h, 'Content-Length: 4\r\nExpect: 100-continue\r\n')]);
    await settle(c, 15);
    await send(c, ['data']);
    await finish(c);
  }
  // Host variants and an absolute-form target.
  // (HTTP/1.1 without Host is refused by the server, so it would not be in the log: not sent.)
  for (const [i, hv] of [
    'example.test',
    'example.test:8080',
    'UPPER.Example.TEST',
    ' spaced.example.test ',
  ].entries()) {
    const c = await open(host, 80);
    await send(c, [`GET /${tag}/host/${i} HTTP/1.1\r\nHost:${hv}\r\n\r\n`]);
    await finish(c);
  }
  {
    const c = await open(host, 80);
    await send(c, [req('GET', `http://proxy.example.test/${tag}/absolute-form`, 'proxy.example.test')]);
    await finish(c);
  }
  // HTTP/1.0 with no Host.
  {
    const c = await open(host, 80);
    await send(c, [`GET /${tag}/http10 HTTP/1.0\r\n\r\n`]);
    await finish(c);
  }
  // CONNECT: the tunnel's bytes are not HTTP requests.
  {
    const c = await open(host, 8080);
    await send(c, [`CONNECT tunnel.example.test:443 HTTP/1.1\r\nHost: tunnel.example.test:443\r\n\r\n`]);
    await settle(c, 15);
    await send(c, [`GET /${tag}/FAKE-inside-tunnel HTTP/1.1\r\n\r\n`]);
    await finish(c);
  }
  // Binary garbage on port 80 (the server answers 400 and closes).
  {
    const c = await open(host, 80);
    const junk = Buffer.alloc(3000);
    let x = 12345;
    for (let i = 0; i < junk.length; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      junk[i] = x >> 16;
    }
    junk[0] = 0x16; // not a token character: no request line can start here
    await send(c, [junk]);
    await finish(c);
  }
}

async function long(host: string, tag: string): Promise<void> {
  const h = host.includes(':') ? `[${host}]` : host;
  for (const n of [4000, 8300, 20000, 70000, 200000]) {
    const c = await open(host, 80);
    const path = `/${tag}/long/${n}/` + 'a'.repeat(n);
    await send(c, [req('GET', path, h)], 5);
    await finish(c);
  }
}

async function huge(host: string, tag: string): Promise<void> {
  const h = host.includes(':') ? `[${host}]` : host;
  const c = await open(host, 80);
  await send(c, [req('GET', `/${tag}/huge/` + 'z'.repeat(1 << 20), h)], 5);
  await finish(c);
}

/** More than 1024 flows open at once, each sending its request after all are connected. */
async function many(host: string, tag: string, count = 1100): Promise<void> {
  const h = host.includes(':') ? `[${host}]` : host;
  const conns: Conn[] = [];
  for (let i = 0; i < count; i++) conns.push(await open(host, i % 2 ? 8080 : 80));
  for (const [i, c] of conns.entries()) c.sock.write(req('GET', `/${tag}/many/${i}`, h));
  await sleep(300);
  for (const [i, c] of conns.entries()) c.sock.write(req('GET', `/${tag}/many/${i}/second`, h));
  await sleep(300);
  await Promise.all(conns.map((c) => finish(c)));
}

/** Keep-alive connections whose first exchange the mid-connection rewrite cuts off. */
async function midconn(host: string, tag: string): Promise<void> {
  const h = host.includes(':') ? `[${host}]` : host;
  for (let i = 0; i < 10; i++) {
    const c = await open(host, 80);
    await send(c, [req('POST', `/${tag}/mid/skip/${i}`, h, 'Content-Length: 11\r\n') + 'hello world']);
    await settle(c, 15);
    await send(c, [req('GET', `/${tag}/mid/keep/${i}`, h)]);
    await settle(c, 15);
    await send(c, [req('GET', `/${tag}/mid/keep2/${i}`, h)]);
    await finish(c);
  }
}

/** The bundled demo: a browsing-like session. */
async function demo(host: string): Promise<void> {
  const h = 'shop.example.test';
  const pages = [
    '/',
    '/index.html',
    '/css/site.css',
    '/js/app.js',
    '/img/logo.png',
    '/products?category=books&page=2',
    '/products/42',
    '/cart',
    '/api/v1/cart/items',
    '/checkout',
    '/search?q=ebpf+socket+filter',
    '/favicon.ico',
  ];
  const c = await open(host, 80);
  for (const p of pages.slice(0, 5)) {
    await send(c, [req('GET', p, h)]);
    await settle(c, 10);
  }
  await finish(c);
  const c2 = await open(host, 8080);
  await send(c2, [
    req('POST', '/api/v1/cart/items', h, 'Content-Type: application/json\r\nContent-Length: 27\r\n') +
      '{"sku":"GET-42","qty":1}\r\n\r\n',
  ]);
  await settle(c2, 10);
  for (const p of pages.slice(5)) {
    await send(c2, splitAt(req('GET', p, h), [2, 9]));
    await settle(c2, 10);
  }
  await send(c2, [
    req('DELETE', '/api/v1/cart/items/42', h),
    req('OPTIONS', '*', h),
    req('PATCH', '/api/v1/profile', h, 'Content-Length: 2\r\n') + '{}',
  ]);
  await finish(c2);
  const c3 = await open('::1', 80);
  await send(c3, [req('GET', '/ipv6/status', '[::1]'), req('HEAD', '/ipv6/health', '[::1]')]);
  await finish(c3);
  const c4 = await open(host, 80);
  await send(c4, [req('GET', '/search/results?' + Array.from({ length: 40 }, (_, i) => `f${i}=v${i}`).join('&'), h)]);
  await finish(c4);
  // A CDN and an API host, several connections at once, pipelined bursts, chunked and large responses.
  const assets = ['/static/fonts/inter.woff2', '/static/img/hero.jpg', '/static/js/vendor.js', '/static/css/print.css'];
  const cdn = await Promise.all([0, 1, 2].map(() => open(host, 80)));
  for (const [i, c] of cdn.entries())
    await send(c, [assets.map((a) => req('GET', `${a}?v=${i}`, 'cdn.example.test')).join('')]);
  await Promise.all(cdn.map((c) => finish(c)));
  const api = await open(host, 8080);
  for (const p of [
    '/api/v1/orders?status=open',
    '/api/v1/orders/1001/chunked',
    '/api/v1/big/report.csv',
    '/api/v1/orders/1001/empty',
  ]) {
    await send(api, splitAt(req('GET', p, 'api.example.test', 'Accept: application/json\r\n'), [1]));
    await settle(api, 10);
  }
  await send(api, [
    req('PUT', '/api/v1/orders/1001', 'api.example.test', 'Content-Length: 44\r\n') +
      'GET /this-is-a-body-not-a-request HTTP/1.1\r\n',
  ]);
  await finish(api);
}

/** The benchmark scenarios' requests: path kind k of 7, response sizes mixed (the server sends /size/N as N bytes). */
const BENCH_PATHS = [
  '/',
  '/index.html',
  '/api/v2/items?page=',
  '/static/app.js?v=',
  '/img/photo-',
  '/search?q=term+',
  '/cart/add?sku=',
];
const BENCH_SIZES = [120, 350, 800, 1500, 3000, 600, 90];
function benchRequest(k: number, id: string, worker: number): string {
  const i = k % BENCH_PATHS.length;
  return req(
    'GET',
    `${BENCH_PATHS[i]}${id}/size/${BENCH_SIZES[i]}`,
    `site${worker % 4}.example.test`,
    'Accept: */*\r\nAccept-Language: en\r\nCookie: session=0123456789abcdef\r\n',
  );
}

/** Eight clients at once, each running `conns` keep-alive connections in turn through `use`. */
async function benchClients(
  host: string,
  conns: number,
  use: (c: Conn, worker: number, conn: number) => Promise<void>,
): Promise<void> {
  const worker = async (w: number) => {
    for (let conn = 0; conn < conns; conn++) {
      const c = await open(host, conn % 2 ? 8080 : 80);
      await use(c, w, conn);
      await finish(c);
    }
  };
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(worker));
}

/** Benchmark traffic: browsing-like keep-alive connections, several at once, requests pipelined in bursts of 8. */
async function bench(host: string): Promise<void> {
  await benchClients(host, 10, async (c, w, conn) => {
    for (let burst = 0; burst < 5; burst++) {
      let text = '';
      for (let i = 0; i < 8; i++)
        text += benchRequest(w * 7 + conn * 3 + burst * 5 + i, `${w}-${conn}-${burst}-${i}`, w);
      await send(c, [text], 1);
      await settle(c, 5);
    }
  });
}

/** Wait until more than `before` bytes have arrived, then until the server has been quiet for `quietMs`. */
async function response(c: Conn, before: number, quietMs: number): Promise<void> {
  for (let i = 0; i < 500 && c.received <= before; i++) await sleep(1);
  await settle(c, quietMs);
}

/**
 * Benchmark traffic as most clients make it: keep-alive connections, several at once, one request at a
 * time (each waits for its response: no pipelining).
 */
async function browse(host: string): Promise<void> {
  await benchClients(host, 8, async (c, w, conn) => {
    for (let i = 0; i < 50; i++) {
      const before = c.received;
      await send(c, [benchRequest(w * 7 + conn * 3 + i, `${w}-${conn}-${i}`, w)], 0);
      await response(c, before, 1);
    }
  });
}

/**
 * Non-HTTP traffic for mixed captures: a TCP sink in this process on port 9000 and clients streaming
 * binary data to it (what a kernel filter should keep away from userspace), plus a TLS-like exchange.
 */
async function bulk(host: string): Promise<void> {
  const { createServer } = await import('node:net');
  const sink = createServer((s) => {
    s.on('data', (d) => s.write(d.subarray(0, 64))); // small acks of application data
    s.on('error', () => {});
  });
  await new Promise<void>((r) => sink.listen(9000, host, () => r()));
  const chunk = Buffer.alloc(16384);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + 7) & 255;
  chunk[0] = 0x16; // starts like a TLS record, not like HTTP
  await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const c = await open(host, 9000);
      for (let i = 0; i < 64; i++) await send(c, [chunk], 0);
      await finish(c);
    }),
  );
  sink.close();
}

const SCENARIOS: Record<string, (host: string, tag: string) => Promise<void>> = {
  basic,
  long,
  huge,
  many,
  midconn,
  demo,
  bench,
  browse,
  bulk,
};

async function main(): Promise<void> {
  const [names, ...hosts] = process.argv.slice(2);
  if (!names || hosts.length === 0) throw new Error('usage: client-main SCENARIO[,SCENARIO] HOST...');
  for (const host of hosts) {
    const tag = host.includes(':') ? 'v6' : 'v4';
    for (const name of names.split(',')) {
      const f = SCENARIOS[name];
      if (!f) throw new Error(`unknown scenario ${name}`);
      await f(host, tag);
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`client: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
