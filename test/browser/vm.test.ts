/**
 * bpfkit/vm in a browser: dist/ is served over HTTP on 127.0.0.1, headless Chromium (Debian's, driven by
 * playwright-core) loads the VM as plain ES modules, and test/browser/scenario.ts runs there — every
 * engine (interpreter, jit, wasm) on raw programs, a fault, and a socket filter with a map from an
 * example object — with the same results, faults and map contents as the same code run here in Node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { needs, repoPath } from '../support/env.js';
import { runScenario, type Outcome } from './scenario.js';
import { ENGINES } from '../../src/vm/index.js';

const CHROMIUM = '/usr/bin/chromium';
const OBJECT = '/examples/proto-count/proto-count.o';

/** The page: an import map for the package name, then the scenario module, whose result it publishes. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<script type="importmap">{ "imports": { "bpfkit/vm": "/dist/src/vm/index.js" } }</script>
<script type="module">
  import { ENGINES } from 'bpfkit/vm';
  import { runScenario } from '/dist/test/browser/scenario.js';
  const bytes = new Uint8Array(await (await fetch('${OBJECT}')).arrayBuffer());
  window.bpfkitResult = { engines: ENGINES, outcomes: runScenario(bytes) };
</script>`;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.o': 'application/octet-stream',
  '.html': 'text/html',
};

/** Serves the page, dist/ and examples/ of the repository, read-only, on 127.0.0.1 at an ephemeral port. */
async function serve(): Promise<{ server: Server; origin: string }> {
  const root = repoPath();
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const send = (status: number, type: string, body: string | Uint8Array) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/') return send(200, 'text/html', PAGE);
    if (path === '/favicon.ico') return send(204, 'image/x-icon', ''); // asked for by every page
    if (!(path.startsWith('/dist/') || path.startsWith('/examples/')) || path.includes('..'))
      return send(404, 'text/plain', 'not served');
    readFile(root + path).then(
      (body) => send(200, TYPES[extname(path)] ?? 'application/octet-stream', body),
      () => send(404, 'text/plain', 'not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('bpfkit/vm runs in headless Chromium with the results it has in Node, on every engine', async (t) => {
  if (!needs(t, { tools: ['chromium'] })) return;
  const node = runScenario(new Uint8Array(await readFile(repoPath(OBJECT))));
  // the scenario is worth comparing: programs ran, one faulted, the filter counted packets
  assert.equal(node.length, ENGINES.length * 4);
  assert.ok(
    node.some((o) => o.program === 'fault' && /pc 1\b/.test(o.fault ?? '')),
    JSON.stringify(node),
  );
  const counted = node.find((o) => o.program === 'proto-count')!;
  assert.match(counted.map!['6']!, /^0300000000000000/, 'three TCP packets counted');
  assert.ok(
    node.filter((o) => o.engine === 'interpreter').every((o) => o.program === 'fault' || o.r0 !== undefined),
    JSON.stringify(node),
  );

  const { server, origin } = await serve();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    await page.goto(`${origin}/`);
    const handle = await page
      .waitForFunction(() => (globalThis as { bpfkitResult?: unknown }).bpfkitResult, undefined, { timeout: 60_000 })
      .catch((err: Error) => {
        throw new Error(`the page produced no result: ${problems.join('; ') || err.message}`);
      });
    const inBrowser = (await handle.jsonValue()) as { engines: string[]; outcomes: Outcome[] };
    assert.deepEqual(problems, []);
    assert.deepEqual(inBrowser.engines, [...ENGINES], 'the page imported bpfkit/vm through the import map');
    assert.deepEqual(inBrowser.outcomes, node);
  } finally {
    await browser.close();
    server.close();
  }
});
